package message

import (
	"math/rand"
	"strings"
	"testing"
)

// LowerForSearch answers substring tests as strings.ToLower does.
func TestLowerForSearch(t *testing.T) {
	frags := []string{"<FORM", "<form", "PassWord", "İframe", "\u212a", "é", "\xff", "\xc4", "Ä", "<SCRIPT", "a", " ", "ATOB(", "Download="}
	needles := []string{"<form", "password", "iframe", "k", "<script", "atob(", "download=", "ä", "a a"}
	rng := rand.New(rand.NewSource(1))
	for range 20000 {
		var b strings.Builder
		for range rng.Intn(8) {
			b.WriteString(frags[rng.Intn(len(frags))])
		}
		s := b.String()
		l := LowerForSearch(s)
		for _, n := range needles {
			if !isASCII(n) {
				continue
			}
			if got, want := strings.Contains(l.S, n), strings.Contains(strings.ToLower(s), n); got != want {
				t.Fatalf("%q in %q: %v, want %v", n, s, got, want)
			}
		}
		l.Release()
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
