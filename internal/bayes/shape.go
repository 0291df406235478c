package bayes

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Structure tokens. Besides words, the model learns the shape of what the
// sender's software wrote: how the Message-ID and Date are formed, whether the
// subject shouts, how links are built, which HTML attributes the layout uses.
// Only fields the sender controls are read; headers added on the way (Received,
// Authentication-Results, the receiving system's own X- headers) describe the
// receiving side, not the message, and are left out so the model does not learn
// where a training set was collected.

// headerShape emits tokens for the sender-written header fields.
func (t *tokens) headerShape(m *message.Message) {
	from := m.From.Domain()
	fromOrg := ""
	if from != "" {
		fromOrg = reg(from)
	}
	// Message-ID: its domain against the From organisation, and the shape of its left part.
	switch mid := m.MessageID; {
	case mid == "":
		t.add2("mid:", "none")
	default:
		left, dom, ok := strings.Cut(mid, "@")
		switch {
		case !ok || dom == "":
			t.add2("mid:", "no-domain")
		case fromOrg != "" && reg(strings.ToLower(strings.Trim(dom, "[]>"))) == fromOrg:
			t.add2("mid:", "same-org")
		case strings.Trim(dom, "0123456789.[]") == "":
			t.add2("mid:", "ip-domain")
		default:
			t.add2("mid:", "other-org")
		}
		t.shapeToken("mids:", left, 16)
	}
	if v := headerValue(m, "Date"); v == "" {
		t.add2("meta:", "no-date")
	} else {
		t.shapeToken("dt:", v, 40)
	}
	for _, name := range []string{"X-Priority", "X-MSMail-Priority", "Importance"} {
		if v := headerValue(m, name); v != "" {
			w, _, _ := strings.Cut(strings.TrimSpace(strings.ToLower(v)), " ")
			t.add2("pri:", w)
		}
	}
	if v := strings.ToLower(headerValue(m, "Content-Transfer-Encoding")); v != "" {
		t.add2("cte:", strings.TrimSpace(v))
	}
	// Recipients: none visible, one, a few, many; sent to oneself.
	switch n := len(m.To) + len(m.Cc); {
	case n == 0:
		t.add2("rcpt:", "none")
	case n == 1:
		t.add2("rcpt:", "one")
	case n <= 5:
		t.add2("rcpt:", "few")
	default:
		t.add2("rcpt:", "many")
	}
	if len(m.To) == 1 && m.From.Addr != "" && strings.EqualFold(m.To[0].Addr, m.From.Addr) {
		t.add2("rcpt:", "self")
	}
	// From: a display name or not, the local part's shape.
	switch {
	case m.From.Name == "":
		t.add2("fn:", "meta:none")
	case strings.Contains(m.From.Name, "@"):
		t.add2("fn:", "meta:address")
	}
	if local, _, ok := strings.Cut(m.From.Addr, "@"); ok {
		t.shapeToken("fls:", local, 12)
	}
	// Subject: shouting, exclamation, money, empty.
	subj := strings.TrimSpace(m.Subject)
	switch {
	case subj == "":
		t.add2("s:", "meta:empty")
	default:
		up, letters := 0, 0
		for _, r := range subj {
			if unicode.IsLetter(r) {
				letters++
				if unicode.IsUpper(r) {
					up++
				}
			}
		}
		if letters >= 6 && up*10 >= letters*7 {
			t.add2("s:", "meta:caps")
		}
		if strings.Contains(subj, "!") {
			t.add2("s:", "meta:bang")
		}
		if strings.ContainsAny(subj, "$€£") {
			t.add2("s:", "meta:money")
		}
		if utf8.RuneCountInString(subj) > 70 {
			t.add2("s:", "meta:long")
		}
	}
}

// shapeToken emits a token for the character classes of s: runs of digits
// become 9, of lower-case letters a, of upper-case letters A, other bytes kept
// (at most max classes). "20020926.1234@x" and "ABC-12" give "9.9" and "A-9".
func (t *tokens) shapeToken(prefix, s string, max int) {
	t.buf = append(t.buf[:0], prefix...)
	var last byte
	n := 0
	for _, r := range s {
		var c byte
		switch {
		case r >= '0' && r <= '9':
			c = '9'
		case r >= 'a' && r <= 'z':
			c = 'a'
		case r >= 'A' && r <= 'Z':
			c = 'A'
		case r < utf8.RuneSelf:
			c = byte(r)
		default:
			c = 'u'
		}
		if c == last && (c == '9' || c == 'a' || c == 'A' || c == 'u') {
			continue
		}
		last = c
		if n++; n > max {
			t.buf = append(t.buf, '~')
			break
		}
		t.buf = append(t.buf, c)
	}
	t.add(t.buf)
}

// linkShape emits tokens for how links are built and where they go relative to
// the sender: the number of distinct sites, whether any is the sender's own,
// and per link scheme, port, user info, query and path depth.
func (t *tokens) linkShape(m *message.Message) {
	if len(m.Links) == 0 {
		return
	}
	fromOrg := ""
	if d := m.From.Domain(); d != "" {
		fromOrg = reg(d)
	}
	orgs := map[string]struct{}{}
	own := false
	for i, l := range m.Links {
		if i >= maxLinkToks {
			break
		}
		href := strings.TrimSpace(l.Href)
		lower := strings.ToLower(href)
		scheme, rest, ok := strings.Cut(lower, ":")
		if !ok || strings.ContainsAny(scheme, "/?#") {
			scheme, rest = "none", lower
		}
		if scheme == "mailto" || scheme == "tel" {
			t.add2("uf:", scheme)
			continue
		}
		t.add2("uf:scheme-", scheme)
		rest = strings.TrimPrefix(rest, "//")
		hostPart := rest
		if i := strings.IndexAny(hostPart, "/?#"); i >= 0 {
			hostPart = hostPart[:i]
		}
		if strings.Contains(hostPart, "@") {
			t.add2("uf:", "userinfo")
		}
		if h, port, ok := strings.Cut(hostPart[strings.LastIndexByte(hostPart, '@')+1:], ":"); ok && port != "" && !strings.HasPrefix(h, "[") {
			t.add2("uf:", "port")
		}
		host := l.Host
		if host == "" {
			host = hostPart
		}
		if strings.Contains(host, "xn--") {
			t.add2("uf:", "punycode")
		}
		if host != "" {
			o := reg(host)
			orgs[o] = struct{}{}
			if o == fromOrg {
				own = true
			}
			if strings.Count(host, ".") >= 4 {
				t.add2("uf:", "deep-host")
			}
		}
		path := rest[len(hostPart):]
		q := ""
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path, q = path[:i], path[i+1:]
		}
		switch d := strings.Count(strings.TrimRight(path, "/"), "/"); {
		case d == 0:
			t.add2("uf:", "depth-0")
		case d <= 2:
			t.add2("uf:", "depth-few")
		default:
			t.add2("uf:", "depth-many")
		}
		switch {
		case q == "":
		case len(q) > 100:
			t.add2("uf:", "query-long")
		default:
			t.add2("uf:", "query")
		}
		if l.Text != "" && l.Source == "html" {
			if strings.Contains(strings.ToLower(l.Text), "http") || strings.Contains(l.Text, "www.") {
				t.add2("uf:", "text-is-url")
			}
		}
	}
	switch n := len(orgs); {
	case n == 1:
		t.add2("ul:", "sites-1")
	case n <= 3:
		t.add2("ul:", "sites-few")
	default:
		t.add2("ul:", "sites-many")
	}
	if fromOrg != "" && len(orgs) > 0 {
		if own {
			t.add2("ul:", "own-site")
		} else {
			t.add2("ul:", "no-own-site")
		}
	}
}

// htmlAttrs emits tokens for the HTML a phishing kit carries and legitimate
// mail never needs: password inputs, forms, scripts, frames. (Attribute names in
// general were tried and left out: they mostly say "this is HTML", and
// legitimate mail is HTML too. So were hidden, tiny and positioned text, inline
// images and comments: every modern newsletter has a hidden preheader, so in a
// model trained on older ham they only said "this is recent marketing", and
// legitimate receipts and newsletters read as phishing. Hidden unsubscribe links
// are the bulk triggers' business.)
func (t *tokens) htmlAttrs(h string) {
	if len(h) > maxHTMLBytes {
		h = h[:maxHTMLBytes]
	}
	lw := message.LowerForSearch(h)
	defer lw.Release()
	lower := lw.S
	for _, s := range [...]struct{ needle, tok string }{
		{"type=\"password\"", "password-input"}, {"type=password", "password-input"},
		{"<script", "script"}, {"<iframe", "iframe"}, {"<form", "form"},
	} {
		if strings.Contains(lower, s.needle) {
			t.add2("hs:", s.tok)
		}
	}
}

// bodyShape emits coarse text statistics: length, shouting, exclamation.
func (t *tokens) bodyShape(text string) {
	if len(text) > maxBodyBytes {
		text = text[:maxBodyBytes]
	}
	n := len(strings.TrimSpace(text))
	switch {
	case n == 0:
		t.add2("bl:", "empty")
	case n < 200:
		t.add2("bl:", "tiny")
	case n < 1000:
		t.add2("bl:", "short")
	case n < 5000:
		t.add2("bl:", "medium")
	default:
		t.add2("bl:", "long")
	}
	up, letters := 0, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c >= 'A' && c <= 'Z' {
			up++
			letters++
		} else if c >= 'a' && c <= 'z' {
			letters++
		}
	}
	if letters >= 100 && up*3 >= letters {
		t.add2("bl:", "shouting")
	}
	if strings.Contains(text, "!!") {
		t.add2("bl:", "bangs")
	}
}

// headerValue returns the first value of the named header, "" if absent.
func headerValue(m *message.Message, name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}
