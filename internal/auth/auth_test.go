package auth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnsx"
)

func zone(t *testing.T, text string) *dnsx.Zone {
	t.Helper()
	z, err := dnsx.ParseZone(strings.NewReader(text), "")
	if err != nil {
		t.Fatalf("zone: %v\n%s", err, text)
	}
	return z
}

var edKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// zoneText is the DNS of the tests: example.com sends from 192.0.2.0/24 and
// signs with selector ed; bounces.example.com is its bounce domain; example.net
// is another organization; rfc.example has no DMARC record.
var zoneText = `
example.com.              300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.com.       300 IN TXT "v=DMARC1; p=reject; rua=mailto:d@example.com"
ed._domainkey.example.com. 300 IN TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(edKey.Public().(ed25519.PublicKey)) + `"
bounces.example.com.      300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
mx.example.com.           300 IN A   192.0.2.25
mx.example.com.           300 IN TXT "v=spf1 a -all"
example.net.              300 IN TXT "v=spf1 ip4:198.51.100.0/24 ~all"
_dmarc.example.net.       300 IN TXT "v=DMARC1; p=none"
mail.rfc.example.         300 IN A   203.0.113.1
`

const body = "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nHi Bob.\r\n"

func signed(t *testing.T, msg string) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, strings.NewReader(msg), &dkim.SignOptions{
		Domain: "example.com", Selector: "ed", Signer: edKey,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestCheck(t *testing.T) {
	c := &Checker{Resolver: zone(t, zoneText), AuthServID: "mx.mailwarden.test"}
	ctx := context.Background()
	good := signed(t, body)

	tests := []struct {
		name string
		in   Input
		want func(r Result) string // "" when fine, else what is wrong
	}{
		{
			"all pass",
			Input{ClientIP: net.ParseIP("192.0.2.10"), Helo: "mx.example.com", MailFrom: "alice@bounces.example.com",
				Raw: good, HeaderFrom: "alice@example.com", ReplyTo: "support@example.com"},
			func(r Result) string {
				switch {
				case r.SPF.Result != ResultPass || r.SPF.Domain != "bounces.example.com":
					return "spf"
				case r.SPFHelo.Result != ResultFail || r.SPFHelo.Domain != "mx.example.com":
					return "spf helo" // mx.example.com's A is .25, not .10
				case len(r.DKIM) != 1 || r.DKIM[0].Result != ResultPass || r.DKIM[0].Selector != "ed" || r.DKIM[0].Algorithm != "ed25519-sha256":
					return "dkim"
				case r.DMARC.Result != ResultPass || !r.DMARC.SPFAligned || !r.DMARC.DKIMAligned || r.DMARC.Policy != "reject" || r.DMARC.OrgDomain != "example.com":
					return "dmarc"
				case r.EnvelopeMismatch || r.ReplyToMismatch:
					return "mismatch"
				case r.EnvelopeFromDomain != "bounces.example.com" || r.HeaderFromDomain != "example.com":
					return "domains"
				}
				return ""
			},
		},
		{
			"spoofed From, LF-only message modified",
			Input{ClientIP: net.ParseIP("198.51.100.7"), Helo: "mail.example.net", MailFrom: "<x@example.net>",
				Raw:        bytes.ReplaceAll(bytes.Replace(good, []byte("Hi Bob."), []byte("Pay now."), 1), []byte("\r\n"), []byte("\n")),
				HeaderFrom: "alice@example.com", ReplyTo: "alice@example.net"},
			func(r Result) string {
				switch {
				case r.SPF.Result != ResultPass:
					return "spf"
				case r.DKIMSummary() != ResultFail:
					return "dkim"
				case r.DMARC.Result != ResultFail || r.DMARC.Applied != "reject":
					return "dmarc"
				case !r.EnvelopeMismatch || !r.ReplyToMismatch:
					return "mismatch"
				}
				return ""
			},
		},
		{
			"null sender, no client ip",
			Input{Helo: "mx.example.com", MailFrom: "", Raw: []byte(body), HeaderFrom: "alice@example.com"},
			func(r Result) string {
				switch {
				case r.SPF.Result != ResultNone || r.DKIMSummary() != ResultNone || r.DMARC.Result != ResultFail:
					return "results"
				case r.EnvelopeMismatch:
					return "envelope mismatch with null sender"
				}
				return ""
			},
		},
		{
			"null sender checks HELO for DMARC",
			Input{ClientIP: net.ParseIP("192.0.2.25"), Helo: "mx.example.com", MailFrom: "<>", Raw: []byte(body), HeaderFrom: "alice@example.com"},
			func(r Result) string {
				if r.SPF.Result != ResultPass || r.SPF.Domain != "mx.example.com" || !r.DMARC.SPFAligned || r.DMARC.Result != ResultPass {
					return "helo alignment"
				}
				return ""
			},
		},
		{
			"no DMARC record: subdomain is not a mismatch",
			Input{ClientIP: net.ParseIP("203.0.113.1"), Helo: "mail.rfc.example", MailFrom: "a@mail.rfc.example", Raw: []byte(body),
				HeaderFrom: "a@rfc.example", ReplyTo: "b@Mail.RFC.example"},
			func(r Result) string {
				if r.DMARC.Result != ResultNone || r.EnvelopeMismatch || r.ReplyToMismatch {
					return "no-dmarc org"
				}
				return ""
			},
		},
		{
			"no DMARC record: sibling subdomains are one organisation",
			Input{ClientIP: net.ParseIP("203.0.113.1"), Helo: "mail.rfc.example", MailFrom: "bounce@ntls.shop.example.org", Raw: []byte(body),
				HeaderFrom: "news@ntls1.shop.example.org", ReplyTo: "help@www.example.org"},
			func(r Result) string {
				if r.EnvelopeMismatch || r.ReplyToMismatch {
					return "sibling subdomains"
				}
				return ""
			},
		},
		{
			"no DMARC record: tenants of a shared host are not one organisation",
			Input{ClientIP: net.ParseIP("203.0.113.1"), Helo: "mail.rfc.example", MailFrom: "a@alice.github.io", Raw: []byte(body),
				HeaderFrom: "b@bob.github.io", ReplyTo: "c@other.example.net"},
			func(r Result) string {
				if !r.EnvelopeMismatch || !r.ReplyToMismatch {
					return "shared host tenants"
				}
				return ""
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.Check(ctx, tt.in)
			if what := tt.want(r); what != "" {
				t.Errorf("%s wrong: %+v", what, r)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	for _, tt := range []struct {
		result string
		want   ValidationStatus
	}{
		{ResultPass, ValidationPass}, {ResultNeutral, ValidationNeutral}, {ResultFail, ValidationFail},
		{ResultSoftfail, ValidationFail}, {ResultPolicy, ValidationFail}, {ResultTemperror, ValidationError},
		{ResultPermerror, ValidationError}, {ResultNone, ValidationNone}, {"", ValidationNone},
	} {
		r := Result{SPF: SPFResult{Result: tt.result}, DKIM: []DKIMResult{{Result: tt.result}}, DMARC: DMARCResult{Result: tt.result}}
		v := r.Validation()
		if v.SPF != tt.want || v.DMARC != tt.want || (tt.result != "" && v.DKIM != tt.want) {
			t.Errorf("%q: %+v, want %s", tt.result, v, tt.want)
		}
	}
	// DKIM: any passing signature wins.
	r := Result{DKIM: []DKIMResult{{Result: ResultFail}, {Result: ResultPass}}}
	if v := r.Validation(); v.DKIM != ValidationPass || v.SPF != ValidationNone {
		t.Errorf("%+v", v)
	}
}

func TestHeader(t *testing.T) {
	c := &Checker{Resolver: zone(t, zoneText), AuthServID: "mx.mailwarden.test"}
	r := c.Check(context.Background(), Input{
		ClientIP: net.ParseIP("192.0.2.10"), Helo: "mx.example.com", MailFrom: "alice@bounces.example.com",
		Raw: signed(t, body), HeaderFrom: "alice@example.com",
	})
	h := c.Header(r)
	id, results, err := authres.Parse(h)
	if err != nil {
		t.Fatalf("parse %q: %v", h, err)
	}
	if id != "mx.mailwarden.test" || len(results) != 4 {
		t.Fatalf("%q: id %q, %d results", h, id, len(results))
	}
	spfR, ok := results[0].(*authres.SPFResult)
	if !ok || spfR.Value != authres.ResultPass || spfR.From != "bounces.example.com" {
		t.Errorf("spf: %#v", results[0])
	}
	if helo, ok := results[1].(*authres.SPFResult); !ok || helo.Value != authres.ResultFail || helo.Helo != "mx.example.com" {
		t.Errorf("spf helo: %#v", results[1])
	}
	if d, ok := results[2].(*authres.DKIMResult); !ok || d.Value != authres.ResultPass || d.Domain != "example.com" {
		t.Errorf("dkim: %#v", results[2])
	}
	if d, ok := results[3].(*authres.DMARCResult); !ok || d.Value != authres.ResultPass || d.From != "example.com" {
		t.Errorf("dmarc: %#v", results[3])
	}
	for _, s := range []string{"header.s=ed", "header.a=ed25519-sha256", "p=reject"} {
		if !strings.Contains(h, s) {
			t.Errorf("header lacks %q: %s", s, h)
		}
	}

	// Without signatures: dkim=none.
	h = c.Header(Result{SPF: SPFResult{Result: ResultNone}, DMARC: DMARCResult{Result: ResultNone}})
	if !strings.Contains(h, "dkim=none") {
		t.Errorf("no dkim=none: %s", h)
	}
}

func TestStripOwnAuthResults(t *testing.T) {
	const id = "mx.mailwarden.test"
	tests := []struct {
		name, in, want string
	}{
		{
			"ours removed, others kept",
			"Received: x\r\nAuthentication-Results: mx.mailwarden.test; spf=pass smtp.mailfrom=a@b\r\nAuthentication-Results: mx.other.test; dkim=pass\r\nSubject: s\r\n\r\nbody\r\n",
			"Received: x\r\nAuthentication-Results: mx.other.test; dkim=pass\r\nSubject: s\r\n\r\nbody\r\n",
		},
		{
			"case-insensitive id and name, folded value, version",
			"authentication-results: MX.MailWarden.TEST 1;\r\n\tspf=pass\r\n  smtp.mailfrom=a@b\r\nSubject: s\r\n\r\nbody\r\n",
			"Subject: s\r\n\r\nbody\r\n",
		},
		{
			"comment before id, id folded onto next line, LF only",
			"Authentication-Results: (forged)\n mx.mailwarden.test; none\nFrom: a@b\n\nbody\n",
			"From: a@b\n\nbody\n",
		},
		{
			"quoted id",
			"Authentication-Results: \"mx.mailwarden.test\"; none\r\nFrom: a@b\r\n\r\nx",
			"From: a@b\r\n\r\nx",
		},
		{
			"prefix of our id is not ours",
			"Authentication-Results: mx.mailwarden.test.evil; none\r\nAuthentication-Results: mailwarden.test; none\r\n\r\nx",
			"Authentication-Results: mx.mailwarden.test.evil; none\r\nAuthentication-Results: mailwarden.test; none\r\n\r\nx",
		},
		{
			"ARC-Authentication-Results and body untouched",
			"ARC-Authentication-Results: i=1; mx.mailwarden.test; none\r\nFrom: a@b\r\n\r\nAuthentication-Results: mx.mailwarden.test; none\r\n  trailing  \r\n",
			"ARC-Authentication-Results: i=1; mx.mailwarden.test; none\r\nFrom: a@b\r\n\r\nAuthentication-Results: mx.mailwarden.test; none\r\n  trailing  \r\n",
		},
		{
			"header only, last field ours without newline",
			"From: a@b\r\nAuthentication-Results: mx.mailwarden.test; none",
			"From: a@b\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := StripOwnAuthResults([]byte(tt.in), id)
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// FuzzStripOwnAuthResults: never panics, the body is byte-identical, no header
// field claiming our id survives, and the output is never longer than the input.
func FuzzStripOwnAuthResults(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.test; none\r\nFrom: a\r\n\r\nbody"), "mx.test")
	f.Add([]byte("a: b\n c\n\nAuthentication-Results: mx.test\n"), "MX.test")
	f.Fuzz(func(t *testing.T, raw []byte, id string) {
		if id == "" || strings.ContainsAny(id, " \t\r\n;()\"\\") {
			return
		}
		out := StripOwnAuthResults(raw, id)
		if len(out) > len(raw) {
			t.Fatalf("output grew")
		}
		// The empty line ending the header section and all after it are kept.
		var tail []byte
		for off := 0; off < len(raw); {
			end := bytes.IndexByte(raw[off:], '\n')
			if end < 0 {
				break
			}
			if line := raw[off : off+end+1]; len(bytes.TrimRight(line, "\r\n")) == 0 {
				tail = raw[off:]
				break
			}
			off += end + 1
		}
		if !bytes.HasSuffix(out, tail) {
			t.Fatalf("body changed:\n%q\n%q", raw, out)
		}
		if again := StripOwnAuthResults(out, id); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%q\n%q", out, again)
		}
	})
}
