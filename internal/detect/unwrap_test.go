package detect

import (
	"context"
	"slices"
	"testing"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/message"
)

func TestUnwrapLink(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fshop.example%2Forders%3Fid%3D7&data=05%7C01&reserved=0", "https://shop.example/orders?id=7"},
		{"https://urldefense.com/v3/__https://shop.example/orders?id=7__;!!Abc123$", "https://shop.example/orders?id=7"},
		{"https://urldefense.proofpoint.com/v2/url?u=https-3A__shop.example_orders&d=DwMF&c=x", "https://shop.example/orders"},
		{"https://linkprotect.cudasvc.com/url?a=https%3a%2f%2fshop.example%2fx&c=E,1,abc", "https://shop.example/x"},
		{"https://x1y2.r.us-east-1.awstrack.me/L0/https:%2F%2Fshop.example%2Fx%3Fa=1/1/0100018c-abc/Zm9v=123", "https://shop.example/x?a=1"},
		{"https://www.google.com/url?q=https://login-check.web.app/&sa=D", "https://login-check.web.app/"},
		{"https://WWW.GOOGLE.COM/url?q=https://login-check.web.app/&sa=D", "https://login-check.web.app/"},
		{"https://www.bing.com/ck/a?!&&p=abc&u=a1aHR0cHM6Ly9zaWduLWluLmV4YW1wbGUvZG9j&ntb=1", "https://sign-in.example/doc"},
		// Nested: Safe Links around a Google redirect.
		{"https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.google.com%2Furl%3Fq%3Dhttps%3A%2F%2Fevil.example%2F&data=1", "https://evil.example/"},
		// Not wrappers, or nothing to unwrap.
		{"https://shop.example/?url=https://other.example/", "https://shop.example/?url=https://other.example/"},
		{"https://www.google.com/url?q=javascript:alert(1)", "https://www.google.com/url?q=javascript:alert(1)"},
		{"mailto:a@b.example", "mailto:a@b.example"},
		{"%%%", "%%%"},
	} {
		if got := unwrapLink(tc.in); got != tc.want {
			t.Errorf("unwrapLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Link checks judge where a wrapped link leads: a gateway's rewriting is no
// disguise, and a redirector does not hide free hosting.
func TestWrappedLinks(t *testing.T) {
	safe := message.Link{Text: "shop.example/orders", Source: "html", Host: "nam02.safelinks.protection.outlook.com",
		Href: "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fshop.example%2Forders&data=05"}
	redirect := message.Link{Text: "View document", Source: "html", Host: "www.google.com",
		Href: "https://www.google.com/url?q=https://doc-view-7781.web.app/&sa=D"}
	for _, tc := range []struct {
		name    string
		link    message.Link
		trigger string
		want    bool
	}{
		{"safe links to the shown site", safe, TrigLinkTextMismatch, false},
		{"google redirect to free hosting", redirect, TrigFreeHostingLink, true},
	} {
		m := base()
		m.Links = []message.Link{tc.link}
		v := New(DefaultConfig(), nil).Detect(context.Background(), m, auth.Result{}, nil)
		if got := slices.Contains(names(v), tc.trigger); got != tc.want {
			t.Errorf("%s: %s %v, want %v (%v)", tc.name, tc.trigger, got, tc.want, names(v))
		}
	}
}

// FuzzUnwrapLink: any input gives back either itself or an absolute http(s)
// URL, without panicking.
func FuzzUnwrapLink(f *testing.F) {
	for _, s := range []string{
		"https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fa.example%2F",
		"https://urldefense.com/v3/__https://a.example__;!!x$",
		"https://urldefense.proofpoint.com/v2/url?u=https-3A__a.example_x",
		"https://x.r.us-east-1.awstrack.me/L0/https:%2F%2Fa.example/1/x",
		"https://www.bing.com/ck/a?u=a1aHR0cHM6Ly9hLmV4YW1wbGU",
		"https://www.google.com/url?q=%zz", "", "http://[::1", "https://l.facebook.com/l.php?u=javascript:x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := unwrapLink(in)
		if out != in && absURL(out) != out {
			t.Errorf("unwrapLink(%q) = %q: neither the input nor an http(s) URL", in, out)
		}
	})
}
