package detect

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"

	"github.com/mailwarden/mailwarden/internal/message"
	"golang.org/x/net/publicsuffix"
)

// maxLinks bounds the links examined per message.
const maxLinks = 500

// shorteners are public URL shorteners (registrable domains): the real target
// is hidden from the reader and from filters.
var shorteners = map[string]bool{
	"bit.ly": true, "bitly.com": true, "tinyurl.com": true, "t.co": true, "goo.gl": true, "ow.ly": true,
	"is.gd": true, "v.gd": true, "buff.ly": true, "rebrand.ly": true, "cutt.ly": true, "shorturl.at": true,
	"tiny.cc": true, "rb.gy": true, "t.ly": true, "bl.ink": true, "s.id": true, "shorte.st": true,
	"adf.ly": true, "qrco.de": true, "tinyurl.is": true, "short.io": true, "urlz.fr": true, "u.to": true,
	"clck.ru": true, "surl.li": true,
}

// freeHosting are host suffixes of free web hosting, site builders, form
// builders, file storage and tunnels, where anyone can put a login page up in a
// minute. Legitimate mail links there too, so the score is low.
var freeHosting = []string{
	"000webhostapp.com", "weebly.com", "wixsite.com", "blogspot.com", "github.io", "gitlab.io",
	"netlify.app", "vercel.app", "pages.dev", "workers.dev", "herokuapp.com", "glitch.me", "repl.co",
	"replit.app", "firebaseapp.com", "web.app", "azurewebsites.net", "web.core.windows.net",
	"blob.core.windows.net", "storage.googleapis.com", "sites.google.com", "forms.gle",
	"ipfs.io", "dweb.link", "r2.dev", "ngrok.io", "ngrok-free.app", "trycloudflare.com",
	"square.site", "webflow.io", "godaddysites.com", "mystrikingly.com", "jimdosite.com",
	"yolasite.com", "wcomhost.com", "framer.app", "glide.page", "carrd.co", "typedream.app",
	"surge.sh", "onrender.com", "fly.dev", "appspot.com", "amazonaws.com",
	"backblazeb2.com", "ddns.net", "duckdns.org", "no-ip.org", "hopto.org", "zapto.org",
	"myftp.org", "servehttp.com", "jotform.com", "formstack.com",
	// Cloud tenants' default domains: a trial tenant is free and minutes away.
	"onmicrosoft.com",
}

// linkHost is the host a link leads to: through a known wrapper or redirector
// (unwrapLink), the destination's.
func linkHost(l message.Link) string {
	if t := unwrapLink(l.Href); t != l.Href {
		if h := hostOf(t); h != "" {
			return h
		}
	}
	if l.Host != "" {
		return strings.ToLower(l.Host)
	}
	return hostOf(l.Href)
}

func hostOf(href string) string {
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return ""
	}
	if u.Host == "" && u.Scheme == "" && u.Opaque == "" {
		// "www.example.com/path" without scheme
		if u2, err := url.Parse("http://" + strings.TrimSpace(href)); err == nil {
			u = u2
		}
	}
	return strings.ToLower(strings.Trim(u.Hostname(), "[]."))
}

// isIPLiteral reports hosts that are IP addresses, including the dotless
// decimal and hex forms browsers accept (http://3232235777/, http://0xC0A80001/).
func isIPLiteral(host string) bool {
	if host == "" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		// Private, loopback, link-local and unspecified addresses are not
		// reachable from the Internet: no one can host a phishing page there for
		// a stranger. They are what technical mail quotes (a router, a test box).
		return !(ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
	}
	if strings.HasPrefix(host, "0x") && len(host) > 2 && strings.Trim(host[2:], "0123456789abcdef") == "" {
		return true
	}
	return len(host) >= 8 && strings.Trim(host, "0123456789") == ""
}

// webLink reports whether href opens in a browser: http, https, or no scheme
// (a bare "www.…" in text). Other schemes (ipp, ftp, smb, ldap …) are not
// where a phishing page is served.
func webLink(href string) bool {
	h := strings.ToLower(strings.TrimSpace(href))
	i := strings.Index(h, "://")
	return i < 0 || h[:i] == "http" || h[:i] == "https"
}

func hasHostSuffix(host string, suffixes []string) string {
	for _, s := range suffixes {
		s = strings.TrimSuffix(s, ".")
		if host == s || strings.HasSuffix(host, "."+s) {
			return s
		}
	}
	return ""
}

var domainText = regexp.MustCompile(`^(?i)(?:https?://)?((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63})(?::\d+)?(?:[/?#]\S*)?$`)

// textHost returns the host an anchor text shows, "" when the text is not a URL
// or domain (or the domain has no known public suffix).
func textHost(text string) string {
	text = strings.TrimSpace(text)
	text = strings.Trim(text, "<>\"'()[] ")
	if text == "" || strings.ContainsAny(text, " \t\n@") {
		return ""
	}
	mm := domainText.FindStringSubmatch(text)
	if mm == nil {
		return ""
	}
	host := strings.ToLower(mm[1])
	if _, icann := publicsuffix.PublicSuffix(host); !icann {
		return ""
	}
	return host
}

// linkTriggers checks every link: text/href mismatch, IP literals, shorteners,
// free hosting. Each fires at most once per message, with a count in its detail.
func linkTriggers(m *message.Message, p *Policy) []Trigger {
	type hit struct {
		first string
		n     int
		det   string
	}
	var mismatch, ip, short, free hit
	mismatchScore := scoreLinkTextMismatch
	for i, l := range m.Links {
		if i >= maxLinks {
			break
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(l.Href)), "mailto:") {
			continue
		}
		host := linkHost(l)
		if host == "" {
			continue
		}
		if th := textHost(l.Text); th != "" && registrable(th) != registrable(host) {
			if mismatch.n == 0 {
				mismatch.first, mismatch.det = l.Href, fmt.Sprintf("link text shows %s but goes to %s", th, host)
			}
			if mismatchScore < scoreLinkTextProtected && p.isProtected(th) {
				mismatchScore = scoreLinkTextProtected
				mismatch.first, mismatch.det = l.Href, fmt.Sprintf("link text shows the organisation's %s but goes to %s", th, host)
			}
			mismatch.n++
		}
		if isIPLiteral(host) && webLink(l.Href) {
			if ip.n == 0 {
				ip.first = l.Href
			}
			ip.n++
		}
		if shorteners[registrable(host)] {
			if short.n == 0 {
				short.first, short.det = l.Href, host
			}
			short.n++
		}
		if s := hasHostSuffix(host, freeHosting); s != "" {
			if free.n == 0 {
				free.first, free.det = l.Href, host
			}
			free.n++
		}
	}
	var out []Trigger
	more := func(n int) string {
		if n > 1 {
			return fmt.Sprintf(" (%d links)", n)
		}
		return ""
	}
	if mismatch.n > 0 {
		out = append(out, Trigger{Name: TrigLinkTextMismatch, Score: mismatchScore, Category: CatPhish, Field: "link", Portion: mismatch.first, Detail: mismatch.det + more(mismatch.n)})
	}
	if ip.n > 0 {
		out = append(out, Trigger{Name: TrigIPLiteralLink, Score: scoreIPLiteralLink, Category: CatPhish, Field: "link", Portion: ip.first, Detail: "link to a bare IP address" + more(ip.n)})
	}
	if short.n > 0 {
		out = append(out, Trigger{Name: TrigURLShortenerLink, Score: scoreShortener, Category: CatPhish, Field: "link", Portion: short.first, Detail: "link through URL shortener " + short.det + more(short.n)})
	}
	if free.n > 0 {
		out = append(out, Trigger{Name: TrigFreeHostingLink, Score: scoreFreeHosting, Category: CatPhish, Field: "link", Portion: free.first, Detail: "link to free hosting " + free.det + more(free.n)})
	}
	return out
}
