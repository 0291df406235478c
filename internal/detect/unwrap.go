package detect

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// maxUnwrap bounds nested link wrappers (Safe Links around URL Defense around
// a tracker).
const maxUnwrap = 3

// unwrapLink returns the destination of a link wrapped by a security gateway
// (Microsoft Safe Links, Proofpoint URL Defense, Barracuda), an ESP click
// tracker that carries its target (Amazon SES) or a well-known redirector
// (google.com/url, bing.com/ck/a, l.facebook.com): the URL it leads to, which is
// what a phishing check must judge. href itself when it is not such a link.
func unwrapLink(href string) string {
	for range maxUnwrap {
		next := unwrapOnce(href)
		if next == "" || next == href {
			break
		}
		href = next
	}
	return href
}

// wrapperHints are substrings every wrapper's URL contains: links without any
// are not parsed (link checks call linkHost for each link several times).
var wrapperHints = []string{"safelinks", "urldefense", "cudasvc", "awstrack", "google.", "bing.", "facebook.", "instagram.", "youtube."}

func unwrapOnce(href string) string {
	hint := href
	if strings.ContainsFunc(hint, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
		hint = strings.ToLower(hint) // WWW.GOOGLE.COM/url is the same redirector
	}
	hinted := false
	for _, h := range wrapperHints {
		if strings.Contains(hint, h) {
			hinted = true
			break
		}
	}
	if !hinted {
		return ""
	}
	u, err := url.Parse(strings.TrimSpace(href))
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	q := u.Query()
	switch {
	case strings.HasSuffix(host, ".safelinks.protection.outlook.com"):
		return absURL(q.Get("url"))
	case host == "urldefense.com" && strings.HasPrefix(u.EscapedPath(), "/v3/__"):
		// https://urldefense.com/v3/__https://example.com/x__;!!abc$
		// The target is written raw, so read it from href, not the parsed path.
		_, p, _ := strings.Cut(href, "/v3/__")
		if i := strings.Index(p, "__;"); i >= 0 {
			p = p[:i]
		}
		return absURL(p)
	case host == "urldefense.proofpoint.com" && strings.HasPrefix(u.Path, "/v2/url"):
		// u=https-3A__example.com_x: "-" stands for "%", "_" for "/".
		v := strings.NewReplacer("_", "/", "-", "%").Replace(q.Get("u"))
		d, err := url.PathUnescape(v)
		if err != nil {
			return ""
		}
		return absURL(d)
	case host == "linkprotect.cudasvc.com":
		return absURL(q.Get("a"))
	case strings.HasSuffix(host, ".awstrack.me") && strings.HasPrefix(u.EscapedPath(), "/L0/"):
		// /L0/https:%2F%2Fexample.com%2Fx/1/0100...=abc
		seg := strings.TrimPrefix(u.EscapedPath(), "/L0/")
		if i := strings.IndexByte(seg, '/'); i >= 0 {
			seg = seg[:i]
		}
		d, err := url.PathUnescape(seg)
		if err != nil {
			return ""
		}
		return absURL(d)
	case (host == "www.google.com" || host == "google.com") && u.Path == "/url":
		if t := absURL(q.Get("q")); t != "" {
			return t
		}
		return absURL(q.Get("url"))
	case (host == "www.bing.com" || host == "bing.com") && u.Path == "/ck/a":
		// u=a1 followed by the base64url of the target.
		v := strings.TrimPrefix(q.Get("u"), "a1")
		d, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "="))
		if err != nil {
			return ""
		}
		return absURL(string(d))
	case host == "l.facebook.com" && u.Path == "/l.php", host == "l.instagram.com":
		return absURL(q.Get("u"))
	case (host == "www.youtube.com" || host == "youtube.com") && u.Path == "/redirect":
		return absURL(q.Get("q"))
	}
	return ""
}

// absURL returns s when it is an absolute http(s) URL, "" otherwise.
func absURL(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		return s
	}
	return ""
}
