package dkim

import (
	"context"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary DKIM-Signature values through verification. Property:
// no panic, one result per signature, statuses from the RFC 8601 set, and never
// pass, since the zone publishes no key (only a revoked one and a bad one).
func FuzzVerify(f *testing.F) {
	for _, s := range []string{
		"v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA",
		"v=1; a=ed25519-sha256; d=example.com; s=revoked; i=@Example.COM; h=from:to; bh=; b=",
		"v=1; a=rsa-sha1; d=example.com; s=bad; h=from; bh=AAAA; b=AAAA; l=0",
		"v=1; a=rsa-sha256; d=EXAMPLE.com; i=x@sub.example.com; s=sel; q=dns/txt; x=1; t=2; h=From; bh=AAAA; b=AAAA",
		"", ";;;", "v=1; d=; s=", "v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA;\r\n\tz=a|b",
	} {
		f.Add(s)
	}
	z := zone(f, txtRR("revoked._domainkey.example.com", "v=DKIM1; k=ed25519; p=")+
		txtRR("bad._domainkey.example.com", "v=DKIM1; k=rsa; p=notbase64!")+
		"; mailwarden:servfail fail._domainkey.example.com.\n")
	f.Fuzz(func(t *testing.T, value string) {
		if strings.ContainsAny(value, "\r\n") {
			// Keep the value one header field: continuation lines only.
			value = strings.NewReplacer("\r\n ", "\r\n ", "\r\n\t", "\r\n\t", "\r", " ", "\n", " ").Replace(value)
		}
		raw := "DKIM-Signature: " + value + "\r\nFrom: a@example.com\r\nTo: b@example.net\r\n\r\nbody\r\n"
		res := Verify(context.Background(), z, []byte(raw))
		if len(res) != 1 {
			t.Fatalf("%d results for one signature", len(res))
		}
		switch res[0].Status {
		case StatusPass:
			t.Fatalf("pass without a key: %+v", res[0])
		case StatusFail, StatusNeutral, StatusTemperror, StatusPermerror, StatusPolicy:
		default:
			t.Fatalf("status %q", res[0].Status)
		}
	})
}
