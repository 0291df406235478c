package bayes

import (
	"net/url"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/mailwarden/mailwarden/internal/message"
)

// Tokeniser limits.
const (
	minWord      = 2         // shortest word (runes)
	maxWord      = 30        // longest word (runes); longer ones become a "skip:" token
	maxBodyBytes = 48 << 10  // body text read per message
	maxLinkToks  = 100       // links tokenised per message
	maxHTMLBytes = 256 << 10 // HTML scanned for tag tokens
)

// tokens is one message's unique tokens: text in an arena, with hashes.
type tokens struct {
	max    int
	arena  []byte
	ends   []int32
	hashes []uint64
	shape  []bool   // token i is a structure token (shape.go): always known, not evidence of familiarity
	counts []counts // the model's counts of each token, while scoring
	seen   hashSet
	// structural marks the tokens being added as structure tokens.
	structural bool
	buf        []byte // the token being built
	prev       []byte // previous body word, for bigrams
	word       []byte
}

var tokPool = sync.Pool{New: func() any {
	return &tokens{arena: make([]byte, 0, 16<<10)}
}}

func getTokens(max int) *tokens {
	t := tokPool.Get().(*tokens)
	t.max = max
	t.seen.reset(max)
	return t
}

func (t *tokens) release() {
	t.arena, t.ends, t.hashes, t.shape, t.structural = t.arena[:0], t.ends[:0], t.hashes[:0], t.shape[:0], false
	t.buf, t.prev, t.word = t.buf[:0], t.prev[:0], t.word[:0]
	tokPool.Put(t)
}

func (t *tokens) full() bool { return len(t.hashes) >= t.max }

// text returns token i.
func (t *tokens) text(i int) string {
	start := int32(0)
	if i > 0 {
		start = t.ends[i-1]
	}
	return string(t.arena[start:t.ends[i]])
}

// add records b as a token once.
func (t *tokens) add(b []byte) {
	if len(t.hashes) >= t.max || len(b) == 0 {
		return
	}
	h := hashBytes(b)
	if !t.seen.add(h) {
		return
	}
	t.arena = append(t.arena, b...)
	t.ends = append(t.ends, int32(len(t.arena)))
	t.hashes = append(t.hashes, h)
	t.shape = append(t.shape, t.structural)
}

func (t *tokens) add2(prefix, s string) {
	t.buf = append(append(t.buf[:0], prefix...), s...)
	t.add(t.buf)
}

// Tokenize returns the unique tokens of m in the order found, at most max (0: 1500).
func Tokenize(m *message.Message, max int) []string {
	if max <= 0 {
		max = DefaultConfig().MaxTokens
	}
	t := getTokens(max)
	defer t.release()
	t.message(m)
	out := make([]string, len(t.hashes))
	for i := range out {
		out[i] = t.text(i)
	}
	return out
}

// message tokenises headers first (they are few and telling), then links, then
// the body, so the cap cuts body bigrams of long mail first.
func (t *tokens) message(m *message.Message) {
	t.words("s:", m.Subject, true)
	if m.From.Name != "" {
		t.words("fn:", m.From.Name, false)
	}
	if d := m.From.Domain(); d != "" {
		t.add2("fd:", d)
		if r := reg(d); r != d {
			t.add2("fr:", r)
		}
	} else {
		t.add2("meta:", "no-from")
	}
	for _, r := range m.ReplyTo {
		if d := r.Domain(); d != "" {
			if d == m.From.Domain() {
				t.add2("rd:", "same")
			} else {
				t.add2("rd:", d)
			}
		}
	}
	t.structural = true
	t.headerShape(m)
	t.structural = false
	for _, h := range m.Headers {
		switch {
		case lowerIs(h.Name, "x-mailer"), lowerIs(h.Name, "user-agent"):
			t.words("xm:", h.Value, false)
		case lowerIs(h.Name, "content-type"):
			ct, params, _ := strings.Cut(h.Value, ";")
			t.add2("ct:", strings.ToLower(strings.TrimSpace(ct)))
			if i := strings.Index(strings.ToLower(params), "charset="); i >= 0 {
				cs := strings.Trim(strings.ToLower(params[i+8:]), "\" ")
				if j := strings.IndexAny(cs, "\"; "); j >= 0 {
					cs = cs[:j]
				}
				t.add2("cs:", cs)
			}
		}
	}
	switch {
	case m.HTML != "" && strings.TrimSpace(m.Text) == "":
		t.add2("meta:", "html-only")
	case m.HTML != "":
		t.add2("meta:", "html")
	default:
		t.add2("meta:", "text")
	}
	for _, a := range m.Attachments {
		name := strings.ToLower(a.Name)
		if i := strings.LastIndexByte(name, '.'); i >= 0 && len(name)-i <= 8 {
			t.add2("att:", name[i+1:])
		}
		if ct, _, _ := strings.Cut(strings.ToLower(a.ContentType), ";"); ct != "" {
			t.add2("act:", strings.TrimSpace(ct))
		}
	}
	switch n := len(m.Links); {
	case n == 0:
		t.add2("meta:", "links-0")
	case n < 3:
		t.add2("meta:", "links-few")
	case n < 15:
		t.add2("meta:", "links-some")
	default:
		t.add2("meta:", "links-many")
	}
	for i, l := range m.Links {
		if i >= maxLinkToks || t.full() {
			break
		}
		t.url(l.Href, l.Host)
		if l.Hidden {
			t.add2("meta:", "hidden-link")
		}
		if l.Image {
			t.add2("meta:", "image-link")
		}
	}
	t.structural = true
	t.linkShape(m)
	if m.HTML != "" {
		t.htmlAttrs(m.HTML)
	}
	t.bodyShape(m.Text)
	t.structural = false
	if m.HTML != "" {
		t.htmlTags(m.HTML)
	}
	body := m.Text
	if len(body) > maxBodyBytes {
		body = body[:maxBodyBytes]
	}
	t.body(body)
}

// reg is the registrable domain of host, or host.
func reg(host string) string { return message.Registrable(host) }

// url emits host, registrable domain and path words of a URL.
func (t *tokens) url(href, host string) {
	if host == "" {
		if u, err := url.Parse(href); err == nil {
			host = strings.ToLower(u.Hostname())
		}
	}
	if host != "" {
		t.add2("uh:", host)
		if r := reg(host); r != host {
			t.add2("ur:", r)
		}
	}
	// Path words: after the host.
	rest := href
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[i+1:]
	} else {
		rest = ""
	}
	if len(rest) > 256 {
		rest = rest[:256]
	}
	t.words("up:", rest, false)
}

// htmlTags emits a token per distinct tag name and a few telling attributes:
// layout habits differ between newsletters, spam kits and phishing kits.
func (t *tokens) htmlTags(h string) {
	if len(h) > maxHTMLBytes {
		h = h[:maxHTMLBytes]
	}
	for i := 0; i < len(h) && !t.full(); i++ {
		if h[i] != '<' {
			continue
		}
		j := i + 1
		for j < len(h) && j-i < 12 && (h[j] >= 'a' && h[j] <= 'z' || h[j] >= 'A' && h[j] <= 'Z' || h[j] >= '0' && h[j] <= '9') {
			j++
		}
		if j > i+1 {
			t.buf = append(t.buf[:0], "tag:"...)
			for _, c := range []byte(h[i+1 : j]) {
				if c >= 'A' && c <= 'Z' {
					c += 32
				}
				t.buf = append(t.buf, c)
			}
			t.add(t.buf)
		}
	}
}

// body emits words and word bigrams of text; URLs become url tokens.
func (t *tokens) body(s string) {
	t.prev = t.prev[:0]
	for len(s) > 0 && !t.full() {
		// Next whitespace-separated field.
		i := 0
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		s = s[i:]
		j := 0
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		field := s[:j]
		s = s[j:]
		if field == "" {
			continue
		}
		if strings.Contains(field, "://") || strings.HasPrefix(field, "www.") {
			t.url(strings.Trim(field, "<>()[]\"'.,"), "")
			t.prev = t.prev[:0]
			continue
		}
		t.fieldWords("", field, true)
	}
}

// words emits the words of s with prefix, with bigrams when asked.
func (t *tokens) words(prefix, s string, bigrams bool) {
	t.prev = t.prev[:0]
	for len(s) > 0 && !t.full() {
		i := 0
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		s = s[i:]
		j := 0
		for j < len(s) && !isSpace(s[j]) {
			j++
		}
		t.fieldWords(prefix, s[:j], bigrams)
		s = s[j:]
	}
	t.prev = t.prev[:0]
}

// fieldWords splits one field into words: letters, digits and $%'-_ kept,
// lowercased, digit runs collapsed to '#'.
func (t *tokens) fieldWords(prefix, f string, bigrams bool) {
	for len(f) > 0 {
		w := t.word[:0]
		runes := 0
		digit := false
		k := 0
	scan:
		for k < len(f) {
			c := f[k]
			if c < utf8.RuneSelf {
				k++
				switch {
				case c >= 'a' && c <= 'z', c == '$', c == '%', c == '\'', c == '-', c == '_':
					w = append(w, c)
					digit = false
				case c >= 'A' && c <= 'Z':
					w = append(w, c+32)
					digit = false
				case c >= '0' && c <= '9':
					if digit {
						continue
					}
					w = append(w, '#')
					digit = true
				default:
					break scan
				}
				runes++
				continue
			}
			r, size := utf8.DecodeRuneInString(f[k:])
			k += size
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
				break
			}
			w = utf8.AppendRune(w, unicode.ToLower(r))
			runes++
			digit = false
		}
		f = f[k:]
		t.word = w
		// Trim punctuation kept only inside words.
		start, end := 0, len(w)
		for start < end && (w[start] == '\'' || w[start] == '-' || w[start] == '_') {
			start++
			runes--
		}
		for end > start && (w[end-1] == '\'' || w[end-1] == '-' || w[end-1] == '_') {
			end--
			runes--
		}
		w = w[start:end]
		if runes < minWord {
			continue
		}
		if runes > maxWord {
			t.buf = append(append(t.buf[:0], prefix...), "skip:"...)
			r, _ := utf8.DecodeRune(w)
			t.buf = utf8.AppendRune(t.buf, r)
			t.buf = append(t.buf, ' ', byte('0'+min(runes/10, 9)))
			t.add(t.buf)
			t.prev = t.prev[:0]
			continue
		}
		t.buf = append(append(t.buf[:0], prefix...), w...)
		t.add(t.buf)
		if bigrams && len(t.prev) > 0 {
			t.buf = append(append(append(append(t.buf[:0], prefix...), t.prev...), ' '), w...)
			t.add(t.buf)
		}
		t.prev = append(t.prev[:0], w...)
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v'
}

// hashSet is the set of one message's token hashes: open addressing with
// linear probing over a table at most half full (a message has at most max
// tokens), emptied between messages.
type hashSet struct {
	slots []uint64 // 0 is an empty slot; hash 0 is kept in zero
	zero  bool
	dirty bool
}

// reset empties the set and sizes it for max hashes.
func (s *hashSet) reset(max int) {
	size := 1024
	for size < 2*max {
		size *= 2
	}
	if len(s.slots) < size {
		s.slots = make([]uint64, size)
	} else if s.dirty {
		clear(s.slots)
	}
	s.zero, s.dirty = false, false
}

// add adds h and reports whether it was absent.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		added := !s.zero
		s.zero = true
		return added
	}
	s.dirty = true
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			return true
		}
	}
}

// lowerIs reports whether strings.ToLower(s) == lower, a lowercase ASCII
// literal, without building the lowercase copy.
func lowerIs(s, lower string) bool {
	if len(s) != len(lower) {
		// Only non-ASCII text changes length when lowercased.
		return !isASCII(s) && strings.ToLower(s) == lower
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s) == lower
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
