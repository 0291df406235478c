package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jhillyerd/enmime/v2"
	"golang.org/x/text/encoding/htmlindex"
)

// walker visits the enmime part tree of one message.
type walker struct {
	p      *parser
	source string // "" for the top-level message, "attachment" inside an attached one
	text   *enmime.Part
	html   *enmime.Part
	body   []byte   // what the pre-scan ranges point into
	leaves [][2]int // leaf content ranges replaced by placeholders
}

// content puts back the leaf content that compact replaced by placeholders.
// Normally a leaf's content is exactly one placeholder; should enmime have split
// differently from the pre-scan, every placeholder found is expanded.
func (w *walker) content(c []byte) []byte {
	if len(w.leaves) == 0 || !bytes.Contains(c, []byte(placeholder)) {
		return c
	}
	var out []byte
	for {
		i := bytes.Index(c, []byte(placeholder))
		if i < 0 {
			break
		}
		rest := c[i+len(placeholder):]
		end := bytes.IndexByte(rest, 0x1b)
		n, err := strconv.Atoi(string(rest[:max(end, 0)]))
		if end < 0 || err != nil || n < 0 || n >= len(w.leaves) {
			out = append(out, c[:i+len(placeholder)]...)
			c = rest
			continue
		}
		l := w.leaves[n]
		if i == 0 && end+1 == len(rest) && out == nil {
			return w.body[l[0]:l[1]:l[1]] // the usual case: no copy
		}
		out = append(out, c[:i]...)
		out = append(out, w.body[l[0]:l[1]]...)
		c = rest[end+1:]
	}
	return append(out, c...)
}

// walk visits pt and its descendants in depth-first order: the first text/plain
// and text/html leaves that are not attachments are the bodies (inside
// multipart/alternative both are found), every other leaf is an attachment.
func (w *walker) walk(pt *enmime.Part, depth int) {
	p := w.p
	for _, e := range pt.Errors {
		p.problem(ProblemMalformedMIME, e.Name+": "+clip(e.Detail, 200))
	}
	ct := strings.ToLower(pt.ContentType)
	if ct == "" {
		ct = "text/plain"
	}
	if len(p.shape) < 4096 {
		p.shape = append(p.shape, ct...)
	}
	if pt.FirstChild != nil {
		p.shape = append(p.shape, '(')
		for c := pt.FirstChild; c != nil; c = c.NextSibling {
			if depth+1 > p.lim.MaxDepth {
				p.tooDeepProblem()
				break
			}
			p.parts++
			w.walk(c, depth+1)
			if len(p.shape) < 4096 {
				p.shape = append(p.shape, ',')
			}
		}
		p.shape = append(p.shape, ')')
		return
	}
	if strings.HasPrefix(ct, "multipart/") {
		return // empty container
	}
	pt.Content = w.content(pt.Content)
	named := pt.FileName != "" || strings.EqualFold(pt.Disposition, "attachment")
	if !named {
		switch {
		case ct == "text/plain" && w.text == nil:
			w.text = pt
			return
		case ct == "text/html" && w.html == nil:
			w.html = pt
			return
		}
	}
	w.attachment(pt, ct, depth)
}

// decodePart returns the transfer-decoded content of pt (RFC 2045 section 6),
// and whether it is a new buffer (not the message's bytes).
func (p *parser) decodePart(pt *enmime.Part) (b []byte, fresh bool) {
	cte := strings.ToLower(strings.TrimSpace(pt.Header.Get("Content-Transfer-Encoding")))
	switch cte {
	case "base64":
		return decodeBase64(pt.Content), true
	case "quoted-printable":
		return decodeQP(pt.Content), true
	}
	return pt.Content, false
}

// bodies decodes and reads the chosen text and HTML bodies.
func (w *walker) bodies(top bool) {
	p := w.p
	var text, html string
	if w.text != nil {
		b, fresh := p.decodePart(w.text)
		text = p.toUTF8(b, fresh, w.text.Charset, "text/plain body")
	}
	if w.html != nil {
		b, fresh := p.decodePart(w.html)
		html = p.toUTF8(b, fresh, w.html.Charset, "text/html body")
	}
	src := w.source
	if html != "" {
		if src == "" {
			src = "html"
		}
		visible := p.readHTML(html, src)
		if text == "" {
			text = visible
		}
	}
	if text != "" && w.text != nil {
		if src = w.source; src == "" {
			src = "text"
		}
		p.textLinks(text, src)
	}
	if top {
		p.m.Text, p.m.HTML = text, html
	}
}

// toUTF8 converts body text from its declared charset (RFC 2046 section 4.1.2).
// UTF-8, US-ASCII, ISO-8859-1 and windows-1252 are converted here; other
// charsets through golang.org/x/text. Text not valid in its declared UTF-8 or
// ASCII is read as windows-1252 and reported as invalid_utf8. A fresh b (a
// decoding's own buffer, used for nothing else) becomes the string uncopied.
func (p *parser) toUTF8(b []byte, fresh bool, charset, what string) string {
	cs := strings.ToLower(strings.Trim(strings.TrimSpace(charset), `"'`))
	switch cs {
	case "", "us-ascii", "ascii", "utf-8", "utf8", "unicode-1-1-utf-8", "x-unknown", "unknown", "default":
		if utf8.Valid(b) {
			if fresh {
				return unsafeString(b)
			}
			return string(b)
		}
		p.problem(ProblemInvalidUTF8, fmt.Sprintf("%s is not valid UTF-8 (charset %q); read as windows-1252", what, charset))
		return string(latin1ToUTF8(b))
	case "iso-8859-1", "latin1", "iso8859-1", "iso_8859-1", "windows-1252", "cp1252", "l1", "iso-ir-100":
		return string(latin1ToUTF8(b))
	}
	enc, err := htmlindex.Get(cs)
	if err == nil {
		if out, err := enc.NewDecoder().Bytes(b); err == nil {
			if utf8.Valid(out) {
				return string(out)
			}
			b = out
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	p.problem(ProblemInvalidUTF8, fmt.Sprintf("%s is not valid UTF-8 (charset %q); read as windows-1252", what, charset))
	return string(latin1ToUTF8(b))
}

// cp1252 maps bytes 0x80-0x9F of windows-1252 (a superset of ISO-8859-1 as
// browsers read it) to runes.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// latin1ToUTF8 converts windows-1252 bytes to UTF-8.
func latin1ToUTF8(b []byte) []byte {
	n := 0
	for _, c := range b {
		if c >= 0x80 {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+2*n)
	for _, c := range b {
		switch {
		case c < 0x80:
			out = append(out, c)
		case c < 0xA0:
			out = utf8.AppendRune(out, cp1252[c-0x80])
		default:
			out = utf8.AppendRune(out, rune(c))
		}
	}
	return out
}

var b64 = func() [256]byte {
	var t [256]byte
	for i := range t {
		t[i] = 0xFF
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(alpha); i++ {
		t[alpha[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63 // URL-safe alphabet, seen in the wild
	return t
}()

// decodeBase64 decodes base64 tolerantly (RFC 2045 section 6.8): characters
// outside the alphabet are skipped, padding ends nothing, a dangling sextet is
// dropped.
func decodeBase64(in []byte) []byte {
	clean := make([]byte, 0, len(in))
	for _, c := range in {
		if v := b64[c]; v != 0xFF {
			if c == '-' {
				c = '+'
			} else if c == '_' {
				c = '/'
			}
			clean = append(clean, c)
		}
	}
	if len(clean)%4 == 1 {
		clean = clean[:len(clean)-1]
	}
	n, err := base64.RawStdEncoding.Decode(clean, clean)
	if err != nil {
		// Cannot happen with a clean alphabet; keep what was decoded.
		return clean[:0]
	}
	return clean[:n]
}

// decodeQP decodes quoted-printable tolerantly (RFC 2045 section 6.7): invalid
// escapes are kept literally, soft line breaks removed, trailing white space
// before a line break dropped.
func decodeQP(in []byte) []byte {
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '=':
			j := i + 1
			// Soft line break: "=" then optional white space then a line break.
			for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
				j++
			}
			if j < len(in) && (in[j] == '\r' || in[j] == '\n') {
				if in[j] == '\r' && j+1 < len(in) && in[j+1] == '\n' {
					j++
				}
				i = j
				continue
			}
			if j == len(in) {
				i = j
				continue
			}
			if i+2 < len(in) {
				if h, ok := unhex(in[i+1]); ok {
					if l, ok := unhex(in[i+2]); ok {
						out = append(out, h<<4|l)
						i += 2
						continue
					}
				}
			}
			out = append(out, c)
		case c == ' ' || c == '\t':
			j := i
			for j < len(in) && (in[j] == ' ' || in[j] == '\t') {
				j++
			}
			if j < len(in) && in[j] != '\r' && in[j] != '\n' {
				out = append(out, in[i:j]...)
			}
			i = j - 1
		default:
			out = append(out, c)
		}
	}
	return out
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
