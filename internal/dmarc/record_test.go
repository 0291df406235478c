package dmarc

import (
	"errors"
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	def := func(f func(r *Record)) *Record {
		r := &Record{ADKIM: AlignRelaxed, ASPF: AlignRelaxed, PSD: PSDUnknown}
		if f != nil {
			f(r)
		}
		return r
	}
	tests := []struct {
		txt  string
		want *Record
		err  error
	}{
		{"v=DMARC1; p=reject", def(func(r *Record) { r.Policy = PolicyReject }), nil},
		{"v=DMARC1;p=none;", def(func(r *Record) { r.Policy = PolicyNone }), nil},
		{"v = DMARC1 ; P = Quarantine ; ADKIM=S; aspf=s; psd=N; t=Y",
			def(func(r *Record) {
				r.Policy, r.ADKIM, r.ASPF, r.PSD, r.Testing = PolicyQuarantine, AlignStrict, AlignStrict, PSDNo, true
			}), nil},
		{"v=DMARC1; p=reject; sp=none; np=quarantine; psd=y",
			def(func(r *Record) {
				r.Policy, r.SubdomainPolicy, r.NonexistentPolicy, r.PSD = PolicyReject, PolicyNone, PolicyQuarantine, PSDYes
			}), nil},
		// Removed and unknown tags are ignored (section 4.7, Appendix C.5.2).
		{"v=DMARC1; p=reject; pct=0; rf=afrf; ri=86400; x-new=1", def(func(r *Record) { r.Policy = PolicyReject }), nil},
		// Bad values of non-policy tags fall back to defaults (section 4.8).
		{"v=DMARC1; p=none; adkim=x; t=maybe; psd=", def(func(r *Record) { r.Policy = PolicyNone }), nil},
		// Invalid and missing policies.
		{"v=DMARC1; p=bogus; sp=reject", def(func(r *Record) { r.SubdomainPolicy, r.Invalid = PolicyReject, []string{"p"} }), nil},
		{"v=DMARC1; rua=mailto:a@example.com, mailto:b@example.com!10m, nonsense",
			def(func(r *Record) { r.RUA = []string{"mailto:a@example.com", "mailto:b@example.com"} }), nil},
		{"v=DMARC1; p=reject; p=none", def(func(r *Record) { r.Policy = PolicyReject }), nil},
		{"v=dmarc1; p=reject", nil, ErrBadVersion},
		{"v=DMARC1x; p=reject", nil, ErrBadVersion},
		{"p=reject; v=DMARC1", nil, ErrNotDMARC},
		{"v=spf1 -all", nil, ErrBadVersion},
		{"", nil, ErrNotDMARC},
	}
	for _, tt := range tests {
		got, err := Parse(tt.txt)
		if !errors.Is(err, tt.err) || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.txt, got, err, tt.want, tt.err)
		}
	}
	r, _ := Parse("v=DMARC1; p=none")
	if !r.PolicyUsable() {
		t.Error("p=none not usable")
	}
	r, _ = Parse("v=DMARC1; p=none; np=never")
	if r.PolicyUsable() {
		t.Error("invalid np usable")
	}
}

// FuzzParse checks that Parse never panics, that a parsed record's policies are
// always valid values, and that String gives text that parses to an equal record.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"v=DMARC1; p=reject", "v=DMARC1; p=none; sp=quarantine; np=reject; adkim=s; aspf=s; psd=y; t=y",
		"v=DMARC1; rua=mailto:a@example.com,mailto:b@example.com!10m; ruf=mailto:c@example.com; fo=0:d",
		"v=DMARC1; p=bad; np=; sp==;;", "v = DMARC1 ; p = Reject", "v=DMARC1x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := Parse(txt)
		if err != nil {
			if r != nil {
				t.Fatalf("record with error")
			}
			return
		}
		for _, p := range []Policy{r.Policy, r.SubdomainPolicy, r.NonexistentPolicy} {
			switch p {
			case "", PolicyNone, PolicyQuarantine, PolicyReject:
			default:
				t.Fatalf("policy %q", p)
			}
		}
		if r.ADKIM != AlignRelaxed && r.ADKIM != AlignStrict || r.ASPF != AlignRelaxed && r.ASPF != AlignStrict {
			t.Fatalf("alignment %q %q", r.ADKIM, r.ASPF)
		}
		s := r.String()
		r2, err := Parse(s)
		if err != nil {
			t.Fatalf("reparse %q: %v", s, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip of %q via %q:\n%+v\n%+v", txt, s, r, r2)
		}
	})
}
