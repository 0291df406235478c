package spf

import (
	"context"
	"errors"
	"math/rand"
	"net"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/spf/spftest"
)

func TestZZStress(t *testing.T) {
	scen, _ := spftest.SuiteScenarios(suiteDir + "rfc7208-tests.yml")
	var seeds []string
	for _, s := range scen {
		z := s.Zone()
		for _, rr := range s.Records {
			if txts, err := z.LookupTXT(context.Background(), rr.Header().Name); err == nil {
				seeds = append(seeds, txts...)
			}
		}
	}
	frags := []string{" ", "%{", "}", "%", ":", "/", "//", "=", "a", "mx", "ptr", "include:", "redirect=", "exp=", "%{p}", "%{d1r}", "%{ir}", ".com", "-", "+all", "ip4:", "ip6:", "::", "1.2.3.4", "\x00", "\xff", "%{s9999}", "exists:", "v=spf1 "}
	rng := rand.New(rand.NewSource(1))
	deadline := time.Now().Add(40 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		b := []byte(seeds[rng.Intn(len(seeds))])
		for k := rng.Intn(6); k >= 0; k-- {
			pos := 0
			if len(b) > 0 {
				pos = rng.Intn(len(b) + 1)
			}
			switch rng.Intn(3) {
			case 0:
				f := frags[rng.Intn(len(frags))]
				b = append(b[:pos], append([]byte(f), b[pos:]...)...)
			case 1:
				if pos < len(b) {
					b = append(b[:pos], b[pos+1:]...)
				}
			case 2:
				if pos < len(b) {
					b[pos] = byte(rng.Intn(256))
				}
			}
		}
		record := string(b)
		z := dnsx.NewZone()
		z.Add(dnsx.NewTXT("fuzz.example.com", 300, record))
		start := time.Now()
		res := Check(context.Background(), z, net.ParseIP("192.0.2.1"), "helo.example.com", "user@fuzz.example.com")
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("slow %v: %q", d, record)
		}
		_, err := ParseRecord(record)
		if errors.Is(err, ErrSyntax) && res.Result != StatusPermerror || errors.Is(err, ErrNotSPF) && res.Result != StatusNone {
			t.Fatalf("%q: %v → %+v", record, err, res)
		}
		n++
	}
	t.Logf("%d records", n)
}
