package dnsx

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
)

func loadTestZone(t *testing.T) *Zone {
	t.Helper()
	z, err := LoadZone("testdata/example.zone")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// kind names the outcome of a lookup for table tests.
func kind(err error) string {
	switch {
	case err == nil:
		return "ok"
	case IsNXDomain(err):
		return "nxdomain"
	case IsNoData(err):
		return "nodata"
	case errors.Is(err, ErrServFail):
		return "servfail"
	case errors.Is(err, ErrTimeout):
		return "timeout"
	}
	return "other: " + err.Error()
}

func TestZoneTXT(t *testing.T) {
	z := loadTestZone(t)
	ctx := context.Background()
	tests := []struct {
		name, want, kind string
	}{
		{"example.com", "v=spf1 ip4:192.0.2.0/24 -all", "ok"}, // multi-string TXT joined (RFC 7208 3.3)
		{"EXAMPLE.com.", "v=spf1 ip4:192.0.2.0/24 -all", "ok"},
		{"mx1.example.com", "", "nodata"},
		{"nonexistent.example.com", "", "nxdomain"},
		{"deep.example.com", "", "nodata"},   // empty non-terminal
		{"b.deep.example.com", "", "nodata"}, // empty non-terminal
		{"a.b.deep.example.com", "deep", "ok"},
		{"c.deep.example.com", "", "nxdomain"},
		{"alias.example.com", "", "nodata"}, // CNAME to a name without TXT
		{"dangling.example.com", "", "nxdomain"},
		{"loop1.example.com", "", "servfail"},
		{"foo.wild.example.com", "wildcard", "ok"},
		{"a.b.wild.example.com", "wildcard", "ok"}, // wildcard covers deeper names
		{"exists.wild.example.com", "", "nodata"},  // existing name: no synthesis
		{"x.wild.example.com", "", "nodata"},       // empty non-terminal blocks the wildcard
		{"y.x.wild.example.com", "", "nxdomain"},   // closest encloser x.wild has no wildcard
		{"*.wild.example.com", "wildcard", "ok"},
		{"wild.example.com", "", "nodata"},
		{"esc.example.com", "a\"b\\c \xefA", "ok"}, // \DDD and \X escapes decoded
		{"broken.example.com", "", "servfail"},
		{"slow.example.com", "", "timeout"},
		{"halfbroken.example.com", "", "servfail"},
	}
	for _, tc := range tests {
		got, err := z.LookupTXT(ctx, tc.name)
		if k := kind(err); k != tc.kind {
			t.Errorf("LookupTXT(%q): %s (%v), want %s", tc.name, k, err, tc.kind)
			continue
		}
		if err != nil {
			var de *net.DNSError
			if !errors.As(err, &de) {
				t.Errorf("LookupTXT(%q): error %T is not a *net.DNSError", tc.name, err)
			} else if de.IsNotFound != (tc.kind == "nxdomain" || tc.kind == "nodata") || de.Temporary() != (tc.kind == "servfail" || tc.kind == "timeout") {
				t.Errorf("LookupTXT(%q): DNSError flags %+v wrong for %s", tc.name, de, tc.kind)
			}
			continue
		}
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("LookupTXT(%q) = %q, want [%q]", tc.name, got, tc.want)
		}
	}
}

func TestZoneAddresses(t *testing.T) {
	z := loadTestZone(t)
	ctx := context.Background()

	ips, err := z.LookupIPAddr(ctx, "alias.example.com")
	if err != nil || len(ips) != 2 || ips[0].IP.String() != "192.0.2.10" || ips[1].IP.String() != "2001:db8::10" {
		t.Errorf("LookupIPAddr(alias) = %v, %v", ips, err)
	}
	ips, err = z.LookupIPAddr(ctx, "foo.wild.example.com")
	if err != nil || len(ips) != 1 || ips[0].IP.String() != "192.0.2.99" {
		t.Errorf("LookupIPAddr(wildcard) = %v, %v", ips, err)
	}
	// A answers, AAAA fails: the addresses win as with net.Resolver.
	ips, err = z.LookupIPAddr(ctx, "halfbroken.example.com")
	if err != nil || len(ips) != 1 {
		t.Errorf("LookupIPAddr(halfbroken) = %v, %v", ips, err)
	}
	if _, err := z.LookupIPAddr(ctx, "example.com"); kind(err) != "nodata" {
		t.Errorf("LookupIPAddr(example.com): %v, want nodata", err)
	}
	if _, err := z.LookupIPAddr(ctx, "broken.example.com"); kind(err) != "servfail" {
		t.Errorf("LookupIPAddr(broken): %v, want servfail", err)
	}

	mxs, err := z.LookupMX(ctx, "example.com")
	if err != nil || len(mxs) != 2 || mxs[0].Host != "mx2.example.net." || mxs[0].Pref != 5 || mxs[1].Host != "mx1.example.com." {
		t.Errorf("LookupMX = %v, %v", mxs, err)
	}
	names, err := z.LookupAddr(ctx, "192.0.2.10")
	if err != nil || !slices.Equal(names, []string{"mx1.example.com."}) {
		t.Errorf("LookupAddr = %v, %v", names, err)
	}
	if _, err := z.LookupAddr(ctx, "192.0.2.11"); kind(err) != "nxdomain" {
		t.Errorf("LookupAddr(unknown): %v, want nxdomain", err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := z.LookupTXT(cctx, "example.com"); !errors.Is(err, context.Canceled) || !IsTemporary(err) {
		t.Errorf("LookupTXT with canceled context: %v", err)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	raw := "v=spf1 \"quoted\" back\\slash \x00\x80\xff " + strings.Repeat("x", 300)
	z := NewZone()
	z.Add(NewTXT("Odd Name;(x).example.com", 60, raw))
	text := z.records[canon(EscapeName("odd name;(x).example.com"))][0].String()
	z2, err := ParseZone(strings.NewReader(text+"\n"), ".")
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	for _, zz := range []*Zone{z, z2} {
		got, err := zz.LookupTXT(context.Background(), "odd name;(X).example.com")
		if err != nil || len(got) != 1 || got[0] != raw {
			t.Errorf("LookupTXT = %q, %v; want %q", got, err, raw)
		}
	}
}

func TestParseZoneErrors(t *testing.T) {
	for _, text := range []string{
		"example.com. 300 IN TXT \"unterminated\n",
		"; mailwarden:servfail\n",
		"; mailwarden:servfail example.com. BOGUS\n",
		"; mailwarden:explode example.com.\n",
		"$INCLUDE /etc/passwd\n",
	} {
		if _, err := ParseZone(strings.NewReader(text), "example.com"); err == nil {
			t.Errorf("ParseZone(%q) succeeded, want error", text)
		}
	}
}

func TestZoneInMemory(t *testing.T) {
	z, err := ParseZone(strings.NewReader("www 60 IN A 192.0.2.1\n; mailwarden:servfail @ TXT\n"), "example.org")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.LookupTXT(context.Background(), "example.org"); kind(err) != "servfail" {
		t.Errorf("servfail at origin: %v", err)
	}
	if _, err := z.LookupMX(context.Background(), "example.org"); kind(err) != "nodata" {
		t.Errorf("MX at origin: %v, want nodata", err)
	}
}
