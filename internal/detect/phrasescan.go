package detect

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// One pass over the text for all phrases. For each phrase the regular
// expression is analysed once for the set of literal strings every match must
// start with; a single scan (a table keyed by the first two bytes) finds where
// those occur and which prefilter literals are present. The expression then runs
// anchored at each candidate start, in order, on a slice bounded by the longest
// possible match, with one byte of context before it so \b sees the same
// neighbours. The first success is the leftmost match, the same string
// FindString on the whole text returns. A phrase whose expression yields no
// usable prefixes falls back to FindString.

const (
	maxPrefixes  = 64 // literal strings per expression
	maxPrefixLen = 16
)

// lits is a set of strings such that every match of an expression starts with
// one of them; exact means the set is exactly the expression's matches.
type lits struct {
	set   []string
	exact bool
}

var anyPrefix = lits{set: []string{""}}

func literals(re *syntax.Regexp) lits {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 || strings.ContainsRune(string(re.Rune), utf8.RuneError) {
			return anyPrefix
		}
		return lits{set: []string{string(re.Rune)}, exact: true}
	case syntax.OpCharClass:
		var set []string
		if re.Flags&syntax.FoldCase != 0 {
			return anyPrefix
		}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= utf8.RuneError && utf8.RuneError <= re.Rune[i+1] {
				return anyPrefix // also matches invalid bytes
			}
			if re.Rune[i+1]-re.Rune[i] >= 16 {
				return anyPrefix
			}
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(set) >= 16 {
					return anyPrefix
				}
				set = append(set, string(r))
			}
		}
		if len(set) == 0 {
			return anyPrefix
		}
		return lits{set: set, exact: true}
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return lits{set: []string{""}, exact: true}
	case syntax.OpCapture:
		return literals(re.Sub[0])
	case syntax.OpConcat:
		acc := lits{set: []string{""}, exact: true}
		for _, sub := range re.Sub {
			if !acc.exact {
				break
			}
			s := literals(sub)
			if len(acc.set)*len(s.set) > maxPrefixes {
				acc.exact = false
				break
			}
			var next []string
			for _, a := range acc.set {
				for _, b := range s.set {
					next = append(next, a+b)
				}
			}
			acc = lits{set: dedup(next), exact: s.exact}
		}
		return trim(acc)
	case syntax.OpAlternate:
		out := lits{exact: true}
		for _, sub := range re.Sub {
			s := literals(sub)
			out.set = append(out.set, s.set...)
			out.exact = out.exact && s.exact
		}
		out.set = dedup(out.set)
		// Too many: shorten them (a prefix of a prefix is a prefix).
		for n := maxPrefixLen; len(out.set) > maxPrefixes && n > 1; n-- {
			for i, s := range out.set {
				if len(s) > n {
					out.set[i] = s[:n]
					out.exact = false
				}
			}
			out.set = dedup(out.set)
		}
		if len(out.set) > maxPrefixes {
			return anyPrefix
		}
		return out
	case syntax.OpQuest:
		s := literals(re.Sub[0])
		return lits{set: dedup(append([]string{""}, s.set...)), exact: s.exact}
	case syntax.OpPlus:
		s := literals(re.Sub[0])
		return lits{set: s.set}
	case syntax.OpRepeat:
		s := literals(re.Sub[0])
		if re.Min == 0 {
			return lits{set: dedup(append([]string{""}, s.set...))}
		}
		return lits{set: s.set, exact: s.exact && re.Min == 1 && re.Max == 1}
	}
	return anyPrefix
}

// trim bounds the length of the strings (a prefix of a prefix is a prefix).
func trim(l lits) lits {
	for i, s := range l.set {
		if len(s) > maxPrefixLen {
			l.set[i] = s[:maxPrefixLen]
			l.exact = false
		}
	}
	l.set = dedup(l.set)
	return l
}

func dedup(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// maxLen is the most bytes a match can take, -1 if unbounded.
func maxLen(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		n := 0
		for _, r := range re.Rune {
			n += utf8.RuneLen(r)
		}
		return n
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return utf8.UTFMax
	case syntax.OpEmptyMatch, syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return 0
	case syntax.OpCapture:
		return maxLen(re.Sub[0])
	case syntax.OpQuest:
		return maxLen(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			m := maxLen(s)
			if m < 0 {
				return -1
			}
			n += m
		}
		return n
	case syntax.OpAlternate:
		n := 0
		for _, s := range re.Sub {
			m := maxLen(s)
			if m < 0 {
				return -1
			}
			n = max(n, m)
		}
		return n
	case syntax.OpRepeat:
		m := maxLen(re.Sub[0])
		if m < 0 || re.Max < 0 {
			return -1
		}
		return m * re.Max
	}
	return -1
}

// contextFree reports whether the expression has no assertion on the text's
// ends (only \b and \B, which the context byte handles).
func contextFree(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return false
	}
	for _, s := range re.Sub {
		if !contextFree(s) {
			return false
		}
	}
	return true
}

// anchored is the compiled form of a phrase for the one-pass scan.
type anchored struct {
	ok       bool           // prefixes found; else FindString on the whole text
	bare     *regexp.Regexp // ^(?:expr)
	withWord *regexp.Regexp // ^[0-9A-Za-z_](?:expr): one word byte of context
	maxLen   int            // -1 if unbounded
	prefixes []string
}

func compileAnchored(expr string) anchored {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil || !contextFree(re) {
		return anchored{}
	}
	l := literals(re.Simplify())
	for _, s := range l.set {
		if s == "" {
			return anchored{}
		}
	}
	return anchored{
		ok:       true,
		bare:     regexp.MustCompile(`^(?:` + expr + `)`),
		withWord: regexp.MustCompile(`^[0-9A-Za-z_](?:` + expr + `)`),
		maxLen:   maxLen(re),
		prefixes: l.set,
	}
}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// matchAt is the match of the expression starting at j, "" if none.
func (a *anchored) matchAt(text string, j int) (string, bool) {
	end := len(text)
	if a.maxLen >= 0 {
		// One more byte lets an assertion at the match's end see its
		// neighbour's word-ness (a cut rune decodes as non-word, as would
		// the whole non-ASCII rune).
		end = min(end, j+a.maxLen+1)
	}
	if j > 0 && isWordByte(text[j-1]) {
		loc := a.withWord.FindStringIndex(text[j-1 : end])
		if loc == nil {
			return "", false
		}
		return text[j : j-1+loc[1]], true
	}
	loc := a.bare.FindStringIndex(text[j:end])
	if loc == nil {
		return "", false
	}
	return text[j : j+loc[1]], true
}

// scanEntry is one literal of the scan: a prefilter literal (any) or a match
// prefix of phrase id.
type scanEntry struct {
	s      string
	id     int
	prefix bool
}

// scanner finds the literals of a set of phrases in one pass.
type scanner struct {
	one    [256][]scanEntry
	twoIdx [1 << 16]uint16 // first two bytes -> index in two (0: none)
	two    [][]scanEntry
	nIDs   int
	useTwo [256]bool // first bytes of some two-byte key
}

func (sc *scanner) add(e scanEntry) {
	if len(e.s) == 1 {
		sc.one[e.s[0]] = append(sc.one[e.s[0]], e)
		return
	}
	k := uint16(e.s[0])<<8 | uint16(e.s[1])
	if sc.twoIdx[k] == 0 {
		if len(sc.two) == 0 {
			sc.two = append(sc.two, nil) // index 0 is "none"
		}
		sc.twoIdx[k] = uint16(len(sc.two))
		sc.two = append(sc.two, nil)
	}
	sc.two[sc.twoIdx[k]] = append(sc.two[sc.twoIdx[k]], e)
	sc.useTwo[e.s[0]] = true
}

// scanResult holds, per phrase, whether a prefilter literal occurs and the
// candidate match starts in increasing order.
type scanResult struct {
	text    string
	present []bool
	cands   [][]int32
}

func (sc *scanner) scan(text string) *scanResult {
	r := &scanResult{text: text, present: make([]bool, sc.nIDs), cands: make([][]int32, sc.nIDs)}
	hit := func(e scanEntry, i int) {
		if !strings.HasPrefix(text[i:], e.s) {
			return
		}
		if !e.prefix {
			r.present[e.id] = true
			return
		}
		c := r.cands[e.id]
		if n := len(c); n == 0 || c[n-1] != int32(i) {
			r.cands[e.id] = append(c, int32(i))
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		for _, e := range sc.one[c] {
			hit(e, i)
		}
		if sc.useTwo[c] && i+1 < len(text) {
			if x := sc.twoIdx[uint16(c)<<8|uint16(text[i+1])]; x != 0 {
				for _, e := range sc.two[x] {
					hit(e, i)
				}
			}
		}
	}
	return r
}

// phraseScanner covers every phrase of the content heuristics.
var phraseScanner = &scanner{}

func (p *phrase) register(sc *scanner) {
	p.id = sc.nIDs
	sc.nIDs++
	for _, a := range p.any {
		if a == "" {
			continue
		}
		sc.add(scanEntry{s: a, id: p.id})
	}
	if p.anch.ok {
		for _, s := range p.anch.prefixes {
			sc.add(scanEntry{s: s, id: p.id, prefix: true})
		}
	}
}

// find is FindString(r.text) using the scan.
func (p *phrase) find(r *scanResult) string {
	if !r.present[p.id] {
		return ""
	}
	if !p.anch.ok {
		return p.re.FindString(r.text)
	}
	for _, j := range r.cands[p.id] {
		if s, ok := p.anch.matchAt(r.text, int(j)); ok {
			return s
		}
	}
	return ""
}
