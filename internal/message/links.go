package message

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
	"mvdan.cc/xurls/v2"
)

type linkKey struct{ href, text, source string }

// addLink records l once per (href, text, source), with its host, up to maxLinks.
func (p *parser) addLink(l Link) {
	if l.Href == "" {
		return
	}
	if len(l.Href) > 8192 {
		l.Href = l.Href[:8192]
	}
	k := linkKey{l.Href, l.Text, l.Source}
	if p.linkSeen == nil {
		p.linkSeen = make(map[linkKey]struct{})
	}
	if _, ok := p.linkSeen[k]; ok {
		return
	}
	if len(p.m.Links) >= maxLinks {
		p.problem(ProblemTooManyLinks, "more than 2000 links; the rest were dropped")
		return
	}
	p.linkSeen[k] = struct{}{}
	l.Host = linkHost(l.Href)
	p.m.Links = append(p.m.Links, l)
}

var strictURL = sync.OnceValue(xurls.Strict)

// webURL is xurls Strict restricted to http and https, the bulk of all links:
// without the alternation over every known scheme it runs several times faster.
var webURL = sync.OnceValue(func() *regexp.Regexp {
	re, err := xurls.StrictMatchingScheme(`https?://`)
	if err != nil {
		panic(err)
	}
	return re
})

// textLinks records the bare URLs in text (mvdan.cc/xurls Strict: a scheme is
// required). URLs never contain white space and start with their scheme, so the
// expression only runs from the scheme of each "://" or "mailto:" found.
func (p *parser) textLinks(text, source string) {
	for i := 0; i < len(text); {
		j := indexCandidate(text[i:])
		if j < 0 {
			return
		}
		j += i
		start, end := j, j
		for start > i && isSchemeByte(text[start-1]) {
			start--
		}
		for end < len(text) && !isSpace(text[end]) {
			end++
		}
		re := strictURL()
		if j-start <= 5 && (strings.EqualFold(text[start:j], "http") || strings.EqualFold(text[start:j], "https")) {
			re = webURL()
		}
		if loc := re.FindStringIndex(text[start:end]); loc != nil {
			p.addLink(Link{Href: text[start+loc[0] : start+loc[1]], Source: source})
			if start+loc[1] > j {
				end = start + loc[1]
			}
		}
		if end <= j {
			end = j + 1
		}
		i = end
	}
}

func isSchemeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'
}

// indexCandidate returns the index of the next "://" or "mailto:" (any case) in s, -1 if none.
func indexCandidate(s string) int {
	a := strings.Index(s, "://")
	for i := 0; i+7 <= len(s); i++ {
		if a >= 0 && i >= a {
			break
		}
		j := strings.IndexByte(s[i:], ':')
		if j < 0 || (a >= 0 && i+j >= a) {
			break
		}
		i += j
		if i >= 6 && strings.EqualFold(s[i-6:i], "mailto") {
			return i
		}
	}
	return a
}

// linkHost returns the lowercased host of a URL in IDNA ASCII form, the domain
// of a mailto: address, or "" when there is none.
func linkHost(href string) string {
	h := strings.TrimSpace(href)
	if len(h) >= 4 && strings.EqualFold(h[:4], "www.") {
		h = "http://" + h
	}
	if len(h) >= 7 && strings.EqualFold(h[:7], "mailto:") {
		addr := h[7:]
		if i := strings.IndexAny(addr, "?,;"); i >= 0 {
			addr = addr[:i]
		}
		if i := strings.LastIndexByte(addr, '@'); i >= 0 {
			return asciiHost(addr[i+1:])
		}
		return ""
	}
	host := ""
	if u, err := url.Parse(h); err == nil {
		host = u.Hostname()
	} else if i := strings.Index(h, "://"); i > 0 {
		// Unparseable (bad escapes, spaces): take the authority by hand.
		auth := h[i+3:]
		if j := strings.IndexAny(auth, "/?#\\"); j >= 0 {
			auth = auth[:j]
		}
		if j := strings.LastIndexByte(auth, '@'); j >= 0 {
			auth = auth[j+1:]
		}
		if strings.HasPrefix(auth, "[") {
			if j := strings.IndexByte(auth, ']'); j > 0 {
				auth = auth[1:j]
			}
		} else if j := strings.LastIndexByte(auth, ':'); j >= 0 {
			auth = auth[:j]
		}
		host = auth
	}
	return asciiHost(host)
}

// asciiHost lowercases host and converts an internationalised name to its
// IDNA ASCII form (RFC 5891); a host IDNA rejects is kept lowercased.
func asciiHost(host string) string {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	if host == "" {
		return ""
	}
	ascii := true
	for i := 0; i < len(host); i++ {
		if host[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		if a, err := idna.Lookup.ToASCII(host); err == nil {
			return strings.ToLower(a)
		}
		if a, err := idna.Punycode.ToASCII(strings.ToLower(host)); err == nil {
			return a
		}
	}
	return strings.ToLower(host)
}

// Registrable returns the registrable domain (eTLD+1, by the public suffix
// list) of host, lowercased and without a trailing dot; the host itself for IP
// literals, single labels, public suffixes and errors. Detection, the content
// model and authentication compare organisations by it.
func Registrable(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return ""
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}
