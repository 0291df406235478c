package spf

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/spf/spftest"
)

// TestMacroExamples runs the examples of RFC 7208 7.4.
func TestMacroExamples(t *testing.T) {
	env := macroEnv{
		sender: "strong-bad@email.example.com", local: "strong-bad", senderDomain: "email.example.com",
		domain: "email.example.com", ip: net.ParseIP("192.0.2.3").To4(), helo: "mx.example.org",
		now: func() int64 { return 1234567890 },
	}
	tests := []struct{ in, want string }{
		{"%{s}", "strong-bad@email.example.com"},
		{"%{o}", "email.example.com"},
		{"%{d}", "email.example.com"},
		{"%{d4}", "email.example.com"},
		{"%{d3}", "email.example.com"},
		{"%{d2}", "example.com"},
		{"%{d1}", "com"},
		{"%{dr}", "com.example.email"},
		{"%{d2r}", "example.email"},
		{"%{l}", "strong-bad"},
		{"%{l-}", "strong.bad"},
		{"%{lr}", "strong-bad"},
		{"%{lr-}", "bad.strong"},
		{"%{l1r-}", "strong"},
		{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
		{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
		{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
		{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
		{"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
		{"%{S}", "strong-bad%40email.example.com"},
		{"%%%_%-", "% %20"},
		{"%{h}/%{c}/%{t}/%{r}", "mx.example.org/192.0.2.3/1234567890/unknown"},
		{"%{d9999999999999999999}", "email.example.com"},
	}
	for _, tc := range tests {
		toks, err := parseMacroString(tc.in, true)
		if err != nil {
			t.Errorf("parse %q: %v", tc.in, err)
			continue
		}
		if got := env.expand(toks); got != tc.want {
			t.Errorf("expand %q = %q, want %q", tc.in, got, tc.want)
		}
	}
	env.ip = net.ParseIP("2001:db8::cb01")
	toks, _ := parseMacroString("%{ir}.%{v}._spf.%{d2}", false)
	if got, want := env.expand(toks), "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"; got != want {
		t.Errorf("ip6 expand = %q, want %q", got, want)
	}
	for _, bad := range []string{"%", "%{", "%{x}", "%{d0}", "%{d2x}", "%{}", "%a", "%{c}", "a b", "\x80"} {
		if _, err := parseMacroString(bad, false); err == nil {
			t.Errorf("parseMacroString(%q) succeeded, want error", bad)
		}
	}
}

func TestParseRecord(t *testing.T) {
	valid := []string{
		"v=spf1",
		"V=SPF1 -ALL",
		"v=spf1 +a mx/24 ~ptr ?exists:%{ir}.x.example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 -all",
		"v=spf1 a:example.com/24//64 mx//0 include:_spf.example.com redirect=example.net exp=why.%{d}",
		"v=spf1 a:foo:bar/baz.example.com a:x.xn--zckzah. unknown-mod=%{l} default=deny",
		"v=spf1   a   ",
	}
	for _, s := range valid {
		if _, err := ParseRecord(s); err != nil {
			t.Errorf("ParseRecord(%q): %v", s, err)
		}
	}
	invalid := []string{
		"v=spf1 a:museum", "v=spf1 a:museum.", "v=spf1 a:1.2.3.4", "v=spf1 a:foo.-bad", "v=spf1 a:",
		"v=spf1 ip4:1.2.3.4/33", "v=spf1 ip4:1.2.3", "v=spf1 ip4:01.2.3.4", "v=spf1 ip6:1.2.3.4",
		"v=spf1 ip6:::1/129", "v=spf1 a/032", "v=spf1 include", "v=spf1 all:x", "v=spf1 foo",
		"v=spf1 redirect=a.example.com redirect=b.example.com", "v=spf1 exp=", "v=spf1 a\tmx",
		"v=spf1 exists:%{c}.example.com", "v=spf1 -all exp=%{r}.example.com", "v=spf1 1x=y", "v=spf1 a:\xef.example.com",
	}
	for _, s := range invalid {
		if _, err := ParseRecord(s); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParseRecord(%q): %v, want ErrSyntax", s, err)
		}
	}
	for _, s := range []string{"v=spf10", "spf1", "v=spf1\tall", ""} {
		if _, err := ParseRecord(s); !errors.Is(err, ErrNotSPF) {
			t.Errorf("ParseRecord(%q): %v, want ErrNotSPF", s, err)
		}
	}
}

// testZone builds a zone from name → TXT text pairs plus extra master-file text.
func testZone(t *testing.T, extra string, txt ...string) *dnsx.Zone {
	t.Helper()
	z, err := dnsx.ParseZone(strings.NewReader(extra), ".")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(txt); i += 2 {
		z.Add(dnsx.NewTXT(txt[i], 300, txt[i+1]))
	}
	return z
}

func TestCheck(t *testing.T) {
	z := testZone(t, `
mail.example.org. 300 IN A 192.0.2.1
; mailwarden:servfail broken.example.org.
`,
		"example.org", "v=spf1 a:mail.example.org -all exp=exp.example.org",
		"exp.example.org", "%{i} may not send for %{d}",
		"helo.example.org", "v=spf1 ip4:192.0.2.7 ~all",
		"self.example.org", "v=spf1 include:self.example.org -all",
		"redir.example.org", "v=spf1 redirect=redir.example.org",
		"ping.example.org", "v=spf1 include:pong.example.org -all",
		"pong.example.org", "v=spf1 redirect=ping.example.org",
		"tempinc.example.org", "v=spf1 include:broken.example.org -all",
		"twice.example.org", "v=spf1 -all",
		"twice.example.org", "v=spf1 +all",
	)
	ctx := context.Background()
	ip := net.ParseIP("192.0.2.1")
	other := net.ParseIP("192.0.2.7")
	tests := []struct {
		name     string
		ip       net.IP
		helo     string
		from     string
		want     Status
		wantExpl string
	}{
		{"pass", ip, "x", "user@example.org", StatusPass, ""},
		{"fail with exp", other, "x", "user@Example.org", StatusFail, "192.0.2.7 may not send for Example.org"},
		{"ipv4-mapped client", net.ParseIP("::ffff:192.0.2.1"), "x", "user@example.org", StatusPass, ""},
		{"null sender uses helo", other, "helo.example.org", "", StatusPass, ""},
		{"null sender <>", ip, "helo.example.org", "<>", StatusSoftfail, ""},
		{"no local part", ip, "x", "@example.org", StatusPass, ""},
		{"no record", ip, "x", "a@nothing.example.org", StatusNone, ""},
		{"single label", ip, "x", "a@localhost", StatusNone, ""},
		{"domain literal", ip, "x", "a@[192.0.2.1]", StatusNone, ""},
		{"servfail", ip, "x", "a@broken.example.org", StatusTemperror, ""},
		{"include servfail", ip, "x", "a@tempinc.example.org", StatusTemperror, ""},
		{"include loop", ip, "x", "a@self.example.org", StatusPermerror, ""},
		{"redirect loop", ip, "x", "a@redir.example.org", StatusPermerror, ""},
		{"mutual recursion", ip, "x", "a@ping.example.org", StatusPermerror, ""},
		{"two records", ip, "x", "a@twice.example.org", StatusPermerror, ""},
		{"nil ip", nil, "x", "a@example.org", StatusNone, ""},
	}
	for _, tc := range tests {
		res := Check(ctx, z, tc.ip, tc.helo, tc.from)
		if res.Result != tc.want || res.Explanation != tc.wantExpl {
			t.Errorf("%s: Check = %+v, want %s explanation %q", tc.name, res, tc.want, tc.wantExpl)
		}
	}
	if res := CheckHelo(ctx, z, other, "helo.example.org"); res.Result != StatusPass || res.Domain != "helo.example.org" {
		t.Errorf("CheckHelo = %+v", res)
	}
	if res := CheckHelo(ctx, z, other, "[192.0.2.7]"); res.Result != StatusNone {
		t.Errorf("CheckHelo(literal) = %+v, want none", res)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if res := Check(cctx, z, ip, "x", "user@example.org"); res.Result != StatusTemperror {
		t.Errorf("Check with canceled context = %+v, want temperror", res)
	}
}

// FuzzCheck evaluates arbitrary record text. Properties: no panic; the result
// is one of the seven statuses; text that is not an SPF record gives none; a
// record with a syntax error gives permerror, never pass.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"v=spf1 -all", "v=spf1 +all", "v=spf1 a mx ptr -all", "v=spf1 include:example.com ~all",
		"v=spf1 redirect=%{d}", "v=spf1 exists:%{ir}.%{l1r-}.%{d2} -all exp=%{d}",
		"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a/24//64 ?all", "v=spf1 a:%{p}.example.net",
		"v=spf1 mx:x.example.com/0 ptr:example.com", "v=spf1 a:museum", "v=spf1 ip4:1.2.3.4/33 +all",
	} {
		f.Add(s)
	}
	// Every TXT record of the RFC 7208 suite, when it is present.
	if scenarios, err := spftest.SuiteScenarios(suiteDir + "rfc7208-tests.yml"); err == nil {
		for _, s := range scenarios {
			for _, rr := range s.Records {
				if txt, ok := rr.(*dns.TXT); ok {
					if got, err := s.Zone().LookupTXT(context.Background(), txt.Hdr.Name); err == nil {
						for _, r := range got {
							f.Add(r)
						}
					}
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, record string) {
		z := dnsx.NewZone()
		z.Add(dnsx.NewTXT("fuzz.example.com", 300, record))
		z.Add(dnsx.NewTXT("example.com", 300, "v=spf1 include:fuzz.example.com ?all"))
		z.Add(&dns.A{Hdr: dns.RR_Header{Name: "fuzz.example.com.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.ParseIP("192.0.2.1")})
		z.Add(&dns.MX{Hdr: dns.RR_Header{Name: "fuzz.example.com.", Rrtype: dns.TypeMX, Class: dns.ClassINET, Ttl: 300}, Mx: "fuzz.example.com.", Preference: 10})
		z.Add(&dns.PTR{Hdr: dns.RR_Header{Name: "1.2.0.192.in-addr.arpa.", Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 300}, Ptr: "fuzz.example.com."})
		res := Check(context.Background(), z, net.ParseIP("192.0.2.1"), "helo.example.com", "user@fuzz.example.com")
		known := false
		for _, s := range Statuses {
			known = known || res.Result == s
		}
		if !known {
			t.Fatalf("unknown status %q for %q", res.Result, record)
		}
		_, err := ParseRecord(record)
		switch {
		case errors.Is(err, ErrNotSPF) && res.Result != StatusNone:
			t.Fatalf("non-SPF text %q gave %s (%s)", record, res.Result, res.Detail)
		case errors.Is(err, ErrSyntax) && res.Result != StatusPermerror:
			t.Fatalf("record %q with syntax error %v gave %s (%s)", record, err, res.Result, res.Detail)
		}
	})
}
