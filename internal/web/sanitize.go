package web

import (
	"bytes"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The sanitiser keeps a message's HTML readable and makes it inert: only
// allowlisted elements and attributes survive; script, style, frames, objects,
// forms and document metadata are dropped with their content; every on*
// attribute goes; javascript:, data: and vbscript: URLs go; remote (and cid:)
// images become placeholders; CSS url(), expression() and @import are removed;
// links are defanged (no href; their target shown as text). The result is
// served under PreviewCSP in a sandboxed frame, so a mistake here still runs no
// script and fetches nothing.

// dropped elements are removed with everything inside them.
var dropped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Frame: true, atom.Frameset: true,
	atom.Object: true, atom.Embed: true, atom.Applet: true, atom.Param: true, atom.Form: true,
	atom.Meta: true, atom.Link: true, atom.Base: true, atom.Head: true, atom.Title: true,
	atom.Noscript: true, atom.Template: true, atom.Svg: true, atom.Math: true, atom.Video: true,
	atom.Audio: true, atom.Source: true, atom.Track: true, atom.Input: true, atom.Button: true,
	atom.Select: true, atom.Textarea: true, atom.Option: true, atom.Canvas: true,
	atom.Dialog: true, atom.Noembed: true, atom.Noframes: true, atom.Xmp: true, atom.Plaintext: true,
}

// kept elements are written out (with allowed attributes); others are unwrapped.
var kept = map[atom.Atom]bool{
	atom.A: true, atom.Abbr: true, atom.Address: true, atom.Article: true, atom.Aside: true, atom.B: true,
	atom.Bdi: true, atom.Bdo: true, atom.Big: true, atom.Blockquote: true, atom.Br: true, atom.Caption: true,
	atom.Center: true, atom.Cite: true, atom.Code: true, atom.Col: true, atom.Colgroup: true, atom.Dd: true,
	atom.Del: true, atom.Details: true, atom.Dfn: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Em: true, atom.Figcaption: true, atom.Figure: true, atom.Font: true, atom.Footer: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Header: true, atom.Hr: true, atom.I: true, atom.Img: true, atom.Ins: true, atom.Kbd: true,
	atom.Li: true, atom.Main: true, atom.Mark: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Q: true, atom.S: true, atom.Samp: true, atom.Section: true, atom.Small: true,
	atom.Span: true, atom.Strike: true, atom.Strong: true, atom.Sub: true, atom.Summary: true, atom.Sup: true,
	atom.Table: true, atom.Tbody: true, atom.Td: true, atom.Tfoot: true, atom.Th: true, atom.Thead: true,
	atom.Time: true, atom.Tr: true, atom.Tt: true, atom.U: true, atom.Ul: true, atom.Var: true, atom.Wbr: true,
}

// attrs allowed on any kept element (never an on* handler, src, href, srcset,
// background, formaction, xlink:href, …).
var keptAttrs = map[string]bool{
	"align": true, "alt": true, "bgcolor": true, "border": true, "cellpadding": true, "cellspacing": true,
	"color": true, "colspan": true, "dir": true, "face": true, "height": true, "lang": true, "rowspan": true,
	"size": true, "span": true, "style": true, "title": true, "valign": true, "width": true, "start": true,
	"type": true, "summary": true, "nowrap": true, "scope": true, "headers": true, "abbr": true,
}

var (
	cssComment = regexp.MustCompile(`/\*[\s\S]*?\*/`)
	cssEscape  = regexp.MustCompile(`\\([0-9a-fA-F]{1,6})\s?|\\(.)`)
	// dangerous CSS after unescaping and lowercasing, whitespace removed.
	cssBad = []string{"url(", "expression(", "@import", "image-set(", "image(", "cross-fade(", "element(",
		"javascript:", "vbscript:", "data:", "-moz-binding", "behavior:", "behaviour:", "src(", "\\"}
	dataImage = regexp.MustCompile(`^data:image/(png|gif|jpeg|jpg|webp);base64,[A-Za-z0-9+/=\s]+$`)
)

func unescapeCSS(s string) string {
	return cssEscape.ReplaceAllStringFunc(s, func(m string) string {
		sub := cssEscape.FindStringSubmatch(m)
		if sub[1] != "" {
			n, err := strconv.ParseUint(sub[1], 16, 32)
			if err != nil || n == 0 || n > 0x10ffff {
				return "\uFFFD"
			}
			return string(rune(n))
		}
		return sub[2]
	})
}

// SanitizeStyle keeps the declarations of a style attribute that can fetch
// nothing and run nothing.
func SanitizeStyle(style string) string {
	style = cssComment.ReplaceAllString(style, "")
	var out []string
	for _, decl := range strings.Split(style, ";") {
		decl = strings.TrimSpace(decl)
		if decl == "" {
			continue
		}
		norm := strings.ToLower(unescapeCSS(decl))
		norm = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
				return -1
			}
			return r
		}, norm)
		bad := strings.ContainsAny(decl, `<>"`) || strings.Contains(norm, "/*")
		for _, b := range cssBad {
			if strings.Contains(norm, b) {
				bad = true
			}
		}
		name, _, ok := strings.Cut(norm, ":")
		if !ok || bad || name == "position" || strings.HasPrefix(name, "--") {
			continue // fixed/absolute boxes could overlay the console's own words
		}
		out = append(out, decl)
	}
	return strings.Join(out, "; ")
}

// Sanitize returns inert HTML for a message's HTML body.
func Sanitize(src string) string {
	doc, err := xhtml.Parse(strings.NewReader(src))
	if err != nil {
		return "<pre>" + html.EscapeString(src) + "</pre>"
	}
	var b bytes.Buffer
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch c.Type {
			case xhtml.TextNode:
				b.WriteString(html.EscapeString(c.Data))
			case xhtml.ElementNode:
				element(&b, c, walk)
			case xhtml.DocumentNode:
				walk(c)
			}
			// comments, doctypes and raw nodes are dropped
		}
	}
	walk(doc)
	return b.String()
}

func element(b *bytes.Buffer, n *xhtml.Node, walk func(*xhtml.Node)) {
	if n.Namespace != "" || dropped[n.DataAtom] {
		return
	}
	switch n.DataAtom {
	case atom.Html, atom.Body:
		walk(n)
		return
	case atom.Img:
		image(b, n)
		return
	case atom.A:
		anchor(b, n, walk)
		return
	}
	if !kept[n.DataAtom] {
		walk(n) // unknown element: keep its text
		return
	}
	b.WriteString("<" + n.DataAtom.String())
	writeAttrs(b, n)
	b.WriteString(">")
	if isVoid(n.DataAtom) {
		return
	}
	walk(n)
	b.WriteString("</" + n.DataAtom.String() + ">")
}

func isVoid(a atom.Atom) bool {
	return a == atom.Br || a == atom.Hr || a == atom.Col || a == atom.Wbr
}

func writeAttrs(b *bytes.Buffer, n *xhtml.Node) {
	for _, a := range n.Attr {
		k := strings.ToLower(a.Key)
		if a.Namespace != "" || !keptAttrs[k] {
			continue
		}
		v := a.Val
		if k == "style" {
			if v = SanitizeStyle(v); v == "" {
				continue
			}
		}
		b.WriteString(" " + k + `="` + html.EscapeString(v) + `"`)
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

// image keeps small inline raster data: images; anything else is a placeholder.
func image(b *bytes.Buffer, n *xhtml.Node) {
	src := strings.TrimSpace(attr(n, "src"))
	if dataImage.MatchString(src) && len(src) < 256<<10 {
		b.WriteString(`<img src="` + html.EscapeString(src) + `"`)
		writeAttrs(b, n)
		b.WriteString(">")
		return
	}
	what := "image"
	if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
		what += " “" + alt + "”"
	}
	from := "blocked"
	if u, err := url.Parse(src); err == nil && u.Host != "" {
		from = "blocked: " + defang(u.Scheme+"://"+u.Host)
	} else if strings.HasPrefix(strings.ToLower(src), "cid:") {
		from = "inline part not shown"
	}
	b.WriteString(`<span class="mw-img">[` + html.EscapeString(what+", "+from) + `]</span>`)
}

// anchor writes a link's content without its href, then its real target as text.
func anchor(b *bytes.Buffer, n *xhtml.Node, walk func(*xhtml.Node)) {
	b.WriteString(`<span class="mw-link">`)
	walk(n)
	b.WriteString(`</span>`)
	href := strings.TrimSpace(attr(n, "href"))
	if href == "" {
		return
	}
	low := strings.ToLower(strings.Map(func(r rune) rune {
		if r <= ' ' {
			return -1
		}
		return r
	}, href))
	var shown string
	switch {
	case strings.HasPrefix(low, "javascript:"), strings.HasPrefix(low, "vbscript:"), strings.HasPrefix(low, "data:"):
		shown = "script or data link removed"
	case strings.HasPrefix(low, "mailto:"):
		shown = href
	default:
		shown = defang(href)
	}
	if len(shown) > 200 {
		shown = shown[:200] + "…"
	}
	b.WriteString(`<span class="mw-target"> ⟨` + html.EscapeString(shown) + `⟩</span>`)
}

const previewHead = `<!doctype html><html><head><meta charset="utf-8"><style>
body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;background:#fff;margin:12px;overflow-wrap:anywhere}
.mw-link{color:#1546a0;text-decoration:underline dotted}
.mw-target{color:#8a5300;font:12px ui-monospace,monospace}
.mw-img{display:inline-block;border:1px dashed #98a1b3;color:#5b6475;background:#f4f6fa;font:12px system-ui,sans-serif;padding:2px 6px;margin:2px}
pre{white-space:pre-wrap}
</style></head><body>`

// Preview is the whole preview document: the sanitised HTML body, or the text
// body escaped when there is no HTML.
func Preview(htmlBody, textBody string) []byte {
	var b bytes.Buffer
	b.WriteString(previewHead)
	switch {
	case strings.TrimSpace(htmlBody) != "":
		b.WriteString(Sanitize(htmlBody))
	case strings.TrimSpace(textBody) != "":
		b.WriteString("<pre>" + html.EscapeString(textBody) + "</pre>")
	default:
		b.WriteString("<p><em>This message has no body.</em></p>")
	}
	b.WriteString("</body></html>")
	return b.Bytes()
}
