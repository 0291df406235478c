package spf

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// macroToken is a piece of a macro-string (RFC 7208 7.1): literal text, or a
// macro-expand.
type macroToken struct {
	lit     string // literal text; for "%%", "%_" and "%-" their expansion
	escape  bool   // lit comes from "%%", "%_" or "%-"
	letter  byte   // lower-case macro letter; 0 for literal text
	upper   bool   // letter was upper case: URL-escape the value (7.3)
	digits  int    // keep this many right-hand parts; 0 means all
	reverse bool
	delims  string // split on these; "" means "."
}

// parseMacroString parses macro-string, or explain-string if explain is set
// (which also allows SP as literal text), per RFC 7208 7.1 and 12.
func parseMacroString(s string, explain bool) ([]macroToken, error) {
	var toks []macroToken
	addLit := func(c byte) {
		if n := len(toks); n > 0 && toks[n-1].letter == 0 && !toks[n-1].escape {
			toks[n-1].lit += string(c)
			return
		}
		toks = append(toks, macroToken{lit: string(c)})
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			// macro-literal = %x21-24 / %x26-7E
			if (c < 0x21 || c > 0x7e) && !(explain && c == ' ') {
				return nil, fmt.Errorf("character %q not allowed in macro-string", c)
			}
			addLit(c)
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New("incomplete macro")
		}
		i++
		switch s[i] {
		case '%':
			toks = append(toks, macroToken{lit: "%", escape: true})
			continue
		case '_':
			toks = append(toks, macroToken{lit: " ", escape: true})
			continue
		case '-':
			toks = append(toks, macroToken{lit: "%20", escape: true})
			continue
		case '{':
		default:
			return nil, fmt.Errorf("bad macro %q", s[i-1:i+1])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, errors.New("unterminated macro")
		}
		body := s[i+1 : i+end]
		i += end
		if body == "" {
			return nil, errors.New("empty macro")
		}
		t := macroToken{letter: body[0] | 0x20, upper: body[0] >= 'A' && body[0] <= 'Z'}
		if !strings.ContainsRune("slodiphcrtv", rune(t.letter)) || !isAlpha(body[0]) {
			return nil, fmt.Errorf("unknown macro letter %q", body[0])
		}
		if !explain && strings.IndexByte("crt", t.letter) >= 0 {
			// 7.3: c, r and t are allowed only in exp text.
			return nil, fmt.Errorf("macro letter %q allowed only in explanations", body[0])
		}
		// transformers = *DIGIT [ "r" ]
		j := 1
		for j < len(body) && isDigit(body[j]) {
			j++
		}
		if j > 1 {
			n := 0
			for _, c := range body[1:j] {
				// A name has at most 127 labels; larger values keep all parts.
				n = min(n*10+int(c-'0'), 1000)
			}
			if n == 0 {
				return nil, fmt.Errorf("bad macro digits %q", body[1:j]) // 7.3: nonzero
			}
			t.digits = n
		}
		if j < len(body) && (body[j] == 'r' || body[j] == 'R') {
			t.reverse = true
			j++
		}
		t.delims = body[j:]
		for ; j < len(body); j++ {
			if !strings.ContainsRune(".-+,/_=", rune(body[j])) {
				return nil, fmt.Errorf("bad macro delimiter %q", body[j])
			}
		}
		toks = append(toks, t)
	}
	return toks, nil
}

// macroEnv holds the values of the macro letters (RFC 7208 7.2).
type macroEnv struct {
	sender, local, senderDomain string // s, l, o
	domain                      string // d
	ip                          net.IP // i, c, v
	helo                        string // h
	receiver                    string // r
	now                         func() int64
	validated                   func(domain string) string // p, looked up lazily
}

func (e *macroEnv) value(letter byte) string {
	switch letter {
	case 's':
		return e.sender
	case 'l':
		return e.local
	case 'o':
		return e.senderDomain
	case 'd':
		return e.domain
	case 'i':
		if ip4 := e.ip.To4(); ip4 != nil {
			return ip4.String()
		}
		// Dot-format: 32 nibbles (RFC 7208 7.3).
		var b strings.Builder
		for i, c := range e.ip.To16() {
			if i > 0 {
				b.WriteByte('.')
			}
			fmt.Fprintf(&b, "%x.%x", c>>4, c&0xf)
		}
		return b.String()
	case 'p':
		return e.validated(e.domain)
	case 'v':
		if e.ip.To4() != nil {
			return "in-addr"
		}
		return "ip6"
	case 'h':
		return e.helo
	case 'c':
		return e.ip.String()
	case 'r':
		if e.receiver == "" {
			return "unknown"
		}
		return e.receiver
	case 't':
		return strconv.FormatInt(e.now(), 10)
	}
	return ""
}

// expand expands parsed macro tokens (RFC 7208 7.3).
func (e *macroEnv) expand(toks []macroToken) string {
	var b strings.Builder
	for _, t := range toks {
		if t.letter == 0 {
			b.WriteString(t.lit)
			continue
		}
		v := e.value(t.letter)
		if t.digits > 0 || t.reverse || t.delims != "" {
			delims := t.delims
			if delims == "" {
				delims = "."
			}
			parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
			if t.reverse {
				for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
					parts[i], parts[j] = parts[j], parts[i]
				}
			}
			if t.digits > 0 && t.digits < len(parts) {
				parts = parts[len(parts)-t.digits:]
			}
			v = strings.Join(parts, ".")
		}
		if t.upper {
			v = urlEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

// urlEscape escapes all but the unreserved characters of RFC 3986 2.3, as RFC
// 7208 7.3 asks for upper-case macro letters.
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
