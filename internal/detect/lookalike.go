package detect

import (
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"

	"github.com/mailwarden/mailwarden/internal/message"
)

// confusables maps characters to the Latin letter they are mistaken for: a compact
// subset of Unicode TR39 confusables.txt (section 4, "Confusable Detection")
// covering the Cyrillic, Greek and Latin look-alikes and digit substitutions seen
// in domain impersonation. Fullwidth and accented forms are handled by NFKD first.
var confusables = map[rune]rune{
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
	'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ԛ': 'q', 'ԝ': 'w',
	'һ': 'h', 'ӏ': 'l', 'ɡ': 'g', 'ս': 'u', 'օ': 'o', 'ո': 'n', 'ց': 'g', 'ʏ': 'y',
	// Greek
	'α': 'a', 'β': 'b', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't',
	'υ': 'u', 'χ': 'x', 'ω': 'w', 'γ': 'y', 'ϲ': 'c', 'ϳ': 'j',
	// Latin look-alikes
	'ı': 'i', 'ł': 'l', 'ɑ': 'a', 'ɩ': 'i', 'ƅ': 'b', 'ɗ': 'd', 'ḷ': 'l', 'ṃ': 'm', 'ß': 'b', 'ø': 'o', 'đ': 'd',
	// Digits and symbols used for letters
	'0': 'o', '1': 'l', '3': 'e', '5': 's', '|': 'l', '!': 'i', '@': 'a', '$': 's',
	// i and l are confusable with each other (and with 1 and capital I)
	'i': 'l',
}

// multiConfusables are letter pairs that render like one letter.
var multiConfusables = []struct{ from, to string }{
	{"rn", "m"}, {"vv", "w"}, {"cl", "d"},
}

// skeleton returns the TR39-style skeleton of s: NFKD, marks dropped, confusables
// mapped, look-alike letter pairs folded. Two strings with the same skeleton look
// alike.
func skeleton(s string) string {
	s = norm.NFKD.String(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		if c, ok := confusables[r]; ok {
			r = c
		}
		b.WriteRune(r)
	}
	out := b.String()
	for _, m := range multiConfusables {
		out = strings.ReplaceAll(out, m.from, m.to)
	}
	return out
}

// unicodeDomain decodes IDNA punycode labels (xn--) to Unicode; on error the input.
func unicodeDomain(d string) string {
	if !strings.Contains(d, "xn--") {
		return d
	}
	u, err := idna.ToUnicode(d)
	if err != nil {
		return d
	}
	return u
}

// registrable is message.Registrable: the organisation-level name of a host.
func registrable(host string) string { return message.Registrable(host) }

// splitRegistrable splits a registrable domain into its name label and suffix:
// "example.co.uk" -> "example", "co.uk".
func splitRegistrable(d string) (label, suffix string) {
	i := strings.IndexByte(d, '.')
	if i < 0 {
		return d, ""
	}
	return d[:i], d[i+1:]
}

// damerauLevenshtein is the optimal-string-alignment distance between a and b
// (insertions, deletions, substitutions and adjacent transpositions), on runes.
func damerauLevenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	n, m := len(ra), len(rb)
	if n == 0 {
		return m
	}
	if m == 0 {
		return n
	}
	prev2 := make([]int, m+1)
	prev := make([]int, m+1)
	cur := make([]int, m+1)
	for j := 0; j <= m; j++ {
		prev[j] = j
	}
	for i := 1; i <= n; i++ {
		cur[0] = i
		for j := 1; j <= m; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[m]
}

// lureWords are words added to a brand to make a convincing domain
// (acme-secure.com, login-acme.com).
var lureWords = []string{
	"secure", "security", "login", "signin", "verify", "verification", "account", "accounts",
	"support", "service", "services", "online", "update", "billing", "payment", "pay", "invoice",
	"mail", "webmail", "help", "helpdesk", "auth", "portal", "team", "admin", "access", "id",
	"my", "app", "web", "office", "hr", "it", "info", "alert", "alerts", "notice", "corp", "inc", "group",
}

// lookalikeOf reports whether host imitates the protected registrable domain prot,
// and how. host may be any host name; a host inside prot is not a lookalike.
func lookalikeOf(host, prot string) (how string, ok bool) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || prot == "" || host == prot || strings.HasSuffix(host, "."+prot) {
		return "", false
	}
	reg := registrable(host)
	if reg == prot {
		return "", false
	}
	// The protected domain embedded in another domain: acme.com.evil.net, acme.com-login.net.
	if strings.HasPrefix(host, prot+".") || strings.HasPrefix(host, prot+"-") || strings.Contains(host, "."+prot+"-") || strings.Contains(host, "."+prot+".") {
		return "contains " + prot + " inside another domain", true
	}
	ureg := unicodeDomain(reg)
	cl, cs := splitRegistrable(ureg)
	pl, ps := splitRegistrable(prot)
	if skeleton(ureg) == skeleton(prot) {
		if ureg != reg {
			return "internationalised domain " + ureg + " looks like " + prot, true
		}
		return "confusable characters", true
	}
	if cs == "" || pl == "" {
		return "", false
	}
	skC, skP := skeleton(cl), skeleton(pl)
	if skC == skP {
		if cl == pl {
			return "same name under another suffix (" + cs + " vs " + ps + ")", true
		}
		return "confusable characters under another suffix", true
	}
	// Small edit distance on the skeletons of the name labels: typosquats.
	if n := len([]rune(pl)); n >= 5 {
		limit := 1
		if n >= 10 {
			limit = 2
		}
		if d := damerauLevenshtein(skC, skP); d <= limit {
			return "edit distance " + itoa(d), true
		}
	}
	// Brand plus a lure word: acme-secure, secureacme, acmelogin; hyphens in
	// either name do not matter (northwind-traders, northwindtraders-hr).
	if bareC, bareP := strings.ReplaceAll(skC, "-", ""), strings.ReplaceAll(skP, "-", ""); len(pl) >= 3 && strings.Contains(bareC, bareP) {
		rest := strings.Replace(bareC, bareP, "", 1)
		for _, w := range lureWords {
			if rest == skeleton(w) {
				return "name with added word \"" + w + "\"", true
			}
		}
	}
	return "", false
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
