package message

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// rawField is one header field as written, unfolded (RFC 5322 section 2.2.3), not decoded.
type rawField struct {
	name, value string
}

// headerBlock is the header section of a message.
type headerBlock struct {
	fields    []rawField
	bodyStart int    // offset of the body
	malformed string // first malformed line, "" if none
}

func (h headerBlock) get(name string) string {
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) {
			return f.value
		}
	}
	return ""
}

const maxHeaderFields = 5000

// splitHeader splits the header section (RFC 5322 section 2.2) off data. CRLF
// and bare LF line endings are both accepted. A first line that is not a header
// field means the message has no header: all of data is body. Later lines
// without a colon are taken as unindented continuations, as enmime does.
func splitHeader(data []byte) headerBlock {
	var h headerBlock
	pos := 0
	var cur []byte // value of the field being read, when folded
	curName := ""
	curStart, curEnd := -1, -1 // value bounds while unfolded on one line
	flush := func() {
		if curName == "" {
			return
		}
		var v string
		if cur != nil {
			v = string(bytes.TrimSpace(cur))
		} else {
			v = string(bytes.TrimSpace(data[curStart:curEnd]))
		}
		if len(h.fields) < maxHeaderFields {
			h.fields = append(h.fields, rawField{curName, v})
		}
		curName, cur = "", nil
	}
	for pos < len(data) {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			end += pos
			next = end + 1
		} else {
			end = len(data)
		}
		line := data[pos:end]
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if len(line) == 0 {
			pos = next
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if curName == "" {
				if len(h.fields) == 0 {
					h.malformed = "header starts with a continuation line"
					if pos == 0 {
						return headerBlock{malformed: h.malformed}
					}
				}
				pos = next
				continue
			}
			if cur == nil {
				cur = append(make([]byte, 0, curEnd-curStart+len(line)+16), data[curStart:curEnd]...)
			}
			cur = append(cur, line...)
			pos = next
			continue
		}
		colon := bytes.IndexByte(line, ':')
		name := []byte(nil)
		if colon > 0 {
			name = bytes.TrimRight(line[:colon], " \t")
		}
		if !validFieldName(name) {
			if pos == 0 {
				// No header at all: everything is body.
				return headerBlock{malformed: "message has no header"}
			}
			if h.malformed == "" {
				h.malformed = fmt.Sprintf("line %q is not a header field", clip(string(line), 60))
			}
			if curName != "" {
				if cur == nil {
					cur = append([]byte(nil), data[curStart:curEnd]...)
				}
				cur = append(cur, ' ')
				cur = append(cur, line...)
			}
			pos = next
			continue
		}
		flush()
		curName = string(name)
		curStart, curEnd = pos+colon+1, pos+len(line)
		pos = next
	}
	if pos >= len(data) {
		pos = len(data)
	}
	flush()
	h.bodyStart = pos
	return h
}

// validFieldName reports whether b is a field name (RFC 5322 section 3.6.8: printable ASCII but colon).
func validFieldName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= 32 || c >= 127 {
			return false
		}
	}
	return true
}

// wordDecoder decodes RFC 2047 encoded words in any charset golang.org/x/text knows.
var wordDecoder = &mime.WordDecoder{CharsetReader: charsetReader}

// charsetReader converts a word's bytes at once: the reader it returns has
// WriteTo, so mime's io.Copy needs no 32 KB buffer per encoded word.
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(strings.ToLower(strings.TrimSpace(charset)))
	if err != nil {
		return nil, fmt.Errorf("message: unknown charset %q", charset)
	}
	in, err := io.ReadAll(input)
	if err != nil {
		return nil, err
	}
	out, err := enc.NewDecoder().Bytes(in)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(out), nil
}

// decodeWords decodes RFC 2047 encoded words; undecodable input is returned as is.
func decodeWords(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// topHeaders fills the header fields of the Message from the top-level header block.
func (p *parser) topHeaders(h headerBlock) {
	m := p.m
	if h.malformed != "" {
		p.problem(ProblemBadHeader, h.malformed)
	}
	m.Headers = make([]Header, len(h.fields))
	badUTF8 := ""
	for i, f := range h.fields {
		v := decodeWords(f.value)
		if !utf8.ValidString(v) {
			if badUTF8 == "" {
				badUTF8 = f.name
			}
			v = string(latin1ToUTF8([]byte(v)))
		}
		m.Headers[i] = Header{Name: f.name, Value: v}
	}
	if badUTF8 != "" {
		p.problem(ProblemInvalidUTF8, "header "+badUTF8+" is not valid UTF-8; read as windows-1252")
	}
	m.Subject = m.Header("Subject")
	m.MessageID = stripAngle(h.get("Message-ID"))
	if d := h.get("Date"); d != "" {
		m.Date = parseDate(d)
		if m.Date.IsZero() {
			p.problem(ProblemBadHeader, fmt.Sprintf("Date %q not parseable", clip(d, 60)))
		}
	}
	from := h.get("From")
	if list := p.addresses("From", from); len(list) > 0 && list[0].Addr != "" {
		m.From = list[0]
	} else {
		if len(list) > 0 {
			m.From = list[0]
		}
		p.problem(ProblemNoFrom, "no parseable From address")
	}
	if s := h.get("Sender"); s != "" {
		if list := p.addresses("Sender", s); len(list) > 0 {
			m.Sender = list[0]
		}
	}
	m.ReplyTo = p.addressLists(h, "Reply-To")
	m.To = p.addressLists(h, "To")
	m.Cc = p.addressLists(h, "Cc")
}

func (p *parser) addressLists(h headerBlock, name string) []Address {
	var out []Address
	for _, f := range h.fields {
		if strings.EqualFold(f.name, name) && len(out) < 1000 {
			out = append(out, p.addresses(name, f.value)...)
		}
	}
	return out
}

var addrParser = &mail.AddressParser{WordDecoder: wordDecoder}

// addresses parses an address-list header value (RFC 5322 section 3.4). A value
// net/mail rejects is split tolerantly and reported as malformed_header, except
// an empty group in angle brackets ("<Undisclosed-Recipient:;>", how Outlook
// Express wrote mail sent only to Bcc): that is no visible recipient, which
// detection judges as such, not a broken header.
func (p *parser) addresses(name, v string) []Address {
	t := strings.TrimSpace(v)
	if t == "" || emptyGroupInBrackets(t) {
		return nil
	}
	list, err := addrParser.ParseList(v)
	if err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: a.Name, Addr: lowerDomain(a.Address)})
		}
		return out
	}
	p.problem(ProblemBadHeader, fmt.Sprintf("%s %q: %v", name, clip(v, 80), err))
	var out []Address
	pending := "" // fragments without "@" are the display name of the next address
	for _, part := range splitAddressList(v) {
		if !strings.Contains(part, "@") {
			pending += part + ","
			continue
		}
		if a, ok := looseAddress(pending + part); ok {
			out = append(out, a)
		}
		pending = ""
	}
	if pending != "" {
		if a, ok := looseAddress(strings.TrimSuffix(pending, ",")); ok {
			out = append(out, a)
		}
	}
	return out
}

// splitAddressList splits at commas outside quotes, comments and angle brackets.
func splitAddressList(v string) []string {
	var out []string
	depth, quoted, angle, start := 0, false, false, 0
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && depth == 0 && !angle:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// looseAddress takes what looks like an address out of a malformed mailbox.
func looseAddress(s string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	if a, err := addrParser.Parse(s); err == nil {
		return Address{Name: a.Name, Addr: lowerDomain(a.Address)}, true
	}
	addr, name := "", s
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		rest := s[i+1:]
		if j := strings.IndexByte(rest, '>'); j >= 0 {
			rest = rest[:j]
		}
		addr, name = strings.TrimSpace(rest), s[:i]
	} else {
		for _, tok := range strings.FieldsFunc(s, func(r rune) bool {
			return r == ' ' || r == '\t' || r == '"' || r == '(' || r == ')' || r == ';'
		}) {
			if strings.Contains(tok, "@") {
				addr = tok
				name = strings.Replace(s, tok, "", 1)
				break
			}
		}
	}
	name = strings.Trim(strings.TrimSpace(decodeWords(name)), `"' `)
	addr = strings.Trim(addr, `"'<>;, `)
	if addr == "" && name == "" {
		return Address{}, false
	}
	return Address{Name: name, Addr: lowerDomain(addr)}, true
}

func lowerDomain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr
	}
	d := addr[i+1:]
	for j := 0; j < len(d); j++ {
		if c := d[j]; c >= 'A' && c <= 'Z' {
			return addr[:i+1] + strings.ToLower(d)
		}
	}
	return addr
}

// stripAngle returns the first <...> of v, or v trimmed when there is none.
func stripAngle(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
		return strings.TrimSpace(v[i+1:])
	}
	return v
}

var dateLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 MST",
	"Mon, 2 Jan 2006 15:04 -0700",
	"Mon, 2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 06 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700",
	"2 Jan 06 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05",
	"Mon Jan 2 15:04:05 2006",
	"Mon Jan 2 15:04:05 MST 2006",
	"Mon Jan 2 15:04:05 -0700 2006",
	"Mon, Jan 2 2006 15:04:05 -0700",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04:05",
	"Mon, 2 Jan 2006",
	"2 Jan 2006",
}

// parseDate parses an RFC 5322 section 3.3 date, tolerating comments, missing or
// misplaced parts and a few non-standard layouts. Zero when nothing fits.
func parseDate(s string) time.Time {
	if t, err := mail.ParseDate(s); err == nil {
		return t
	}
	// Drop comments, commas doubled, extra space; "Mon,2 Jan" → "Mon, 2 Jan".
	var b strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == ',':
			b.WriteString(", ")
		default:
			b.WriteByte(c)
		}
	}
	f := strings.Fields(b.String())
	for i, w := range f {
		if strings.Count(w, ".") == 2 && strings.Trim(w, "0123456789.") == "" {
			f[i] = strings.ReplaceAll(w, ".", ":") // "19.04.50"
		}
		if w == "," && i > 0 {
			f[i-1] += ","
			f[i] = ""
		}
	}
	clean := strings.Join(strings.Fields(strings.Join(f, " ")), " ")
	clean = strings.TrimSuffix(clean, ",")
	if t, err := mail.ParseDate(clean); err == nil {
		return t
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, clean); err == nil {
			return t
		}
	}
	// A trailing zone name after a numeric zone: "-0700 EST" → keep the number.
	if i := strings.LastIndexByte(clean, ' '); i > 0 {
		if t, err := time.Parse(dateLayouts[0], clean[:i]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Header returns the first value of the named header field (case-insensitive),
// decoded, "" when absent.
func (m *Message) Header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// HeaderValues returns every value of the named header field in message order.
func (m *Message) HeaderValues(name string) []string {
	var out []string
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// emptyGroupInBrackets reports a value of the form "<display-name:;>".
func emptyGroupInBrackets(v string) bool {
	if len(v) < 2 || v[0] != '<' || v[len(v)-1] != '>' {
		return false
	}
	inner := strings.TrimSpace(v[1 : len(v)-1])
	group, ok := strings.CutSuffix(inner, ";")
	group = strings.TrimSpace(group)
	return ok && strings.HasSuffix(group, ":") && len(group) > 1 && !strings.ContainsAny(group, "<>@,;\"")
}
