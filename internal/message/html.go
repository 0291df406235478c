package message

import (
	"strconv"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

const (
	maxHTMLStack   = 512 // open elements tracked for inherited hiding
	maxAnchorText  = 512 // bytes of anchor text kept
	maxDerivedText = 1 << 20
)

type openElem struct {
	a      atom.Atom
	hidden bool
}

// anchor is an <a> being read.
type anchor struct {
	open   bool
	href   string
	text   []byte
	hidden bool
	img    bool
	alt    string
}

// readHTML tokenises an HTML body once (golang.org/x/net/html): it records
// anchors, image maps and form actions as links, bare URLs in text nodes, and
// returns the visible text (script, style, title and template skipped) with
// block elements as line breaks.
func (p *parser) readHTML(src, source string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var text []byte
	var stack []openElem
	var a anchor
	skip := 0 // inside script/style/title/template
	hidden := func() bool { return len(stack) > 0 && stack[len(stack)-1].hidden }
	endAnchor := func() {
		if !a.open {
			return
		}
		t := collapseSpace(string(a.text))
		img := a.img && t == ""
		if img {
			t = collapseSpace(a.alt)
		}
		if a.href != "" {
			p.addLink(Link{Href: a.href, Text: t, Source: source, Hidden: a.hidden, Image: img})
		}
		a = anchor{text: a.text[:0]}
	}
	appendText := func(b []byte) {
		if len(text) >= maxDerivedText {
			return
		}
		for _, c := range b {
			if isSpace(c) {
				if n := len(text); n > 0 && text[n-1] != ' ' && text[n-1] != '\n' {
					text = append(text, ' ')
				}
				continue
			}
			text = append(text, c)
		}
	}
	newline := func() {
		for n := len(text); n > 0 && text[n-1] == ' '; n = len(text) {
			text = text[:n-1]
		}
		if n := len(text); n > 0 && text[n-1] != '\n' {
			text = append(text, '\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			endAnchor()
			newline()
			visible := string(text)
			p.textLinks(visible, source)
			return strings.TrimSpace(visible)
		case html.TextToken:
			if skip > 0 {
				continue
			}
			b := z.Text()
			appendText(b)
			if a.open && len(a.text) < maxAnchorText {
				a.text = append(a.text, b...)
				a.text = append(a.text, ' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			at := atom.Lookup(name)
			var href, style, alt, action string
			var bg, fg string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "href":
					href = strings.TrimSpace(string(v))
				case "style":
					style = string(v)
				case "alt":
					alt = string(v)
				case "action":
					action = strings.TrimSpace(string(v))
				case "bgcolor":
					bg = string(v)
				case "color":
					fg = string(v)
				}
			}
			hid := hidden() || (style != "" && styleHides(style)) ||
				(bg != "" && fg != "" && sameColor(bg, fg))
			switch at {
			case atom.Script, atom.Style, atom.Title, atom.Template:
				if tt == html.StartTagToken {
					skip++
				}
				continue
			case atom.A:
				endAnchor()
				a.open, a.href, a.hidden = true, usableHref(href), hid
			case atom.Img:
				if a.open {
					a.img = true
					if a.alt == "" {
						a.alt = alt
					}
				}
			case atom.Area:
				if h := usableHref(href); h != "" {
					p.addLink(Link{Href: h, Text: collapseSpace(alt), Source: source, Hidden: hid})
				}
			case atom.Form:
				if action != "" {
					p.addLink(Link{Href: action, Source: source, Hidden: hid})
				}
			case atom.Br, atom.P, atom.Div, atom.Tr, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Table, atom.Blockquote, atom.Hr, atom.Ul, atom.Ol, atom.Pre:
				newline()
			case atom.Td, atom.Th:
				appendText([]byte{' '})
			}
			if tt == html.StartTagToken && !voidElement(at) && len(stack) < maxHTMLStack {
				stack = append(stack, openElem{a: at, hidden: hid})
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			at := atom.Lookup(name)
			switch at {
			case atom.Script, atom.Style, atom.Title, atom.Template:
				if skip > 0 {
					skip--
				}
				continue
			case atom.A:
				endAnchor()
			case atom.P, atom.Div, atom.Tr, atom.Li, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
				atom.Table, atom.Blockquote, atom.Ul, atom.Ol, atom.Pre:
				newline()
			}
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].a == at {
					stack = stack[:i]
					break
				}
			}
		}
	}
}

// usableHref drops in-page anchors; everything else is a link.
func usableHref(h string) string {
	if h == "" || h[0] == '#' {
		return ""
	}
	return h
}

func voidElement(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}

// styleHides reports whether an inline style (CSS declarations) makes the
// element invisible: display:none, visibility:hidden, opacity:0, a font size of
// 2px or less, zero height with overflow hidden, or text colour equal to the
// background colour.
func styleHides(style string) bool {
	style = strings.ToLower(style)
	var color, bg string
	zeroHeight, overflowHidden := false, false
	for decl := range strings.SplitSeq(style, ";") {
		prop, val, ok := strings.Cut(decl, ":")
		if !ok {
			continue
		}
		prop = strings.TrimSpace(prop)
		val = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "!important"))
		switch prop {
		case "display":
			if val == "none" {
				return true
			}
		case "visibility":
			if val == "hidden" || val == "collapse" {
				return true
			}
		case "opacity":
			if f, err := strconv.ParseFloat(val, 64); err == nil && f <= 0.05 {
				return true
			}
		case "font-size":
			if tinyFont(val) {
				return true
			}
		case "max-height", "height":
			if f, _ := cssLength(val); f == 0 && val != "" && val[0] >= '0' && val[0] <= '9' {
				zeroHeight = true
			}
		case "overflow":
			overflowHidden = val == "hidden"
		case "color":
			color = val
		case "background-color", "background":
			bg = val
		}
	}
	if zeroHeight && overflowHidden {
		return true
	}
	return color != "" && bg != "" && sameColor(color, bg)
}

func tinyFont(v string) bool {
	f, unit := cssLength(v)
	if f < 0 {
		return false
	}
	switch unit {
	case "", "px", "pt":
		return f <= 2
	case "em", "rem":
		return f <= 0.2
	case "%":
		return f <= 20
	}
	return false
}

// cssLength splits "12.5px" into 12.5 and "px"; -1 when there is no number.
func cssLength(v string) (float64, string) {
	i := 0
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == 0 {
		return -1, ""
	}
	f, err := strconv.ParseFloat(v[:i], 64)
	if err != nil {
		return -1, ""
	}
	return f, strings.TrimSpace(v[i:])
}

// sameColor compares two CSS/HTML colour values after normalisation.
func sameColor(a, b string) bool {
	na, nb := normColor(a), normColor(b)
	return na != "" && na == nb
}

var namedColors = map[string]string{
	"white": "#ffffff", "black": "#000000", "red": "#ff0000", "blue": "#0000ff",
	"green": "#008000", "yellow": "#ffff00", "gray": "#808080", "grey": "#808080",
	"silver": "#c0c0c0", "transparent": "",
}

func normColor(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	// "background: #fff url(x) no-repeat" → first word.
	if i := strings.IndexAny(c, " \t"); i > 0 && !strings.HasPrefix(c, "rgb") {
		c = c[:i]
	}
	if n, ok := namedColors[c]; ok {
		return n
	}
	if strings.HasPrefix(c, "rgb") {
		open, end := strings.IndexByte(c, '('), strings.IndexByte(c, ')')
		if open < 0 || end < open {
			return ""
		}
		parts := strings.FieldsFunc(c[open+1:end], func(r rune) bool { return r == ',' || r == ' ' || r == '/' })
		if len(parts) < 3 {
			return ""
		}
		out := []byte{'#'}
		for _, s := range parts[:3] {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > 255 {
				return ""
			}
			out = append(out, "0123456789abcdef"[n>>4], "0123456789abcdef"[n&15])
		}
		return string(out)
	}
	if !strings.HasPrefix(c, "#") {
		if len(c) == 6 || len(c) == 3 { // bgcolor="ffffff"
			c = "#" + c
		} else {
			return ""
		}
	}
	if len(c) == 4 {
		c = string([]byte{'#', c[1], c[1], c[2], c[2], c[3], c[3]})
	}
	if len(c) != 7 {
		return ""
	}
	for i := 1; i < 7; i++ {
		if _, ok := unhex(c[i]); !ok {
			return ""
		}
	}
	return c
}

// collapseSpace trims s and turns runs of white space into one space.
func collapseSpace(s string) string {
	s = strings.TrimSpace(s)
	clean := true
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) && (s[i] != ' ' || i+1 < len(s) && isSpace(s[i+1])) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
