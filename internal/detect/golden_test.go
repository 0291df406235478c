package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.verdict.json from the current code")

// goldenVerdict is what a golden file pins: the disposition, trigger names in
// order, and the authentication summary they came from.
type goldenVerdict struct {
	Disposition Disposition `json:"disposition"`
	Triggers    []string    `json:"triggers"`
	SPF         string      `json:"spf"`
	DKIM        string      `json:"dkim"`
	DMARC       string      `json:"dmarc"`
}

// TestGolden runs the real chain on testdata/golden/NAME.eml: message.Parse,
// auth.Checker against NAME.zone (RFC 1035 master file; none: empty zone) with
// the envelope taken from the message's Return-Path and Received headers, then
// Detect with the organisation policy testdata/golden/org.json and no content
// model (a fresh install). Expected: NAME.verdict.json; -update rewrites it.
func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "golden")
	pol, err := LoadOrgFile(filepath.Join(dir, "org.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The organisation has corresponded with its own people and this partner.
	pol.SenderHistory = func(_ context.Context, addr string) (SenderHistory, error) {
		if strings.HasSuffix(addr, "@northwind.com") || addr == "pat@partner.example" {
			return SenderHistory{Messages: 40, Clean: 40, First: time.Date(2025, 1, 6, 9, 0, 0, 0, time.UTC)}, nil
		}
		return SenderHistory{}, nil
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(emls) == 0 {
		t.Fatal("no golden messages")
	}
	seen := map[Disposition]bool{}
	for _, eml := range emls {
		name := strings.TrimSuffix(filepath.Base(eml), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(eml)
			if err != nil {
				t.Fatal(err)
			}
			var res dnsx.Resolver = dnsx.NewZone()
			zpath := strings.TrimSuffix(eml, ".eml") + ".zone"
			if _, err := os.Stat(zpath); err == nil {
				z, err := dnsx.LoadZone(zpath)
				if err != nil {
					t.Fatal(err)
				}
				res = z
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			m := message.Parse(raw, message.Limits{})
			env := m.Envelope()
			in := auth.Input{ClientIP: env.ClientIP, Helo: env.Helo, MailFrom: env.MailFrom, Raw: raw, HeaderFrom: m.From.Addr}
			if len(m.ReplyTo) > 0 {
				in.ReplyTo = m.ReplyTo[0].Addr
			}
			ctx := context.Background()
			a := (&auth.Checker{Resolver: res, AuthServID: "mx.northwind.com"}).Check(ctx, in)
			v := New(DefaultConfig(), nil).DetectFrom(ctx, m, a, pol, env.ClientIP)
			got := goldenVerdict{Disposition: v.Disposition, Triggers: names(v), SPF: a.SPF.Result, DKIM: a.DKIMSummary(), DMARC: a.DMARC.Result}
			if got.Triggers == nil {
				got.Triggers = []string{}
			}
			seen[v.Disposition] = true
			b, _ := json.MarshalIndent(got, "", "  ")
			b = append(b, '\n')
			vpath := strings.TrimSuffix(eml, ".eml") + ".verdict.json"
			if *update {
				if err := os.WriteFile(vpath, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(vpath)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(want, b) {
				var detail strings.Builder
				for _, tr := range v.Triggers {
					detail.WriteString("\n  " + tr.Name + ": " + tr.Detail)
				}
				t.Errorf("verdict changed:\n got %s\nwant %s%s", b, want, detail.String())
			}
		})
	}
	for _, d := range Dispositions {
		if !seen[d] {
			t.Errorf("no golden message has disposition %s", d)
		}
	}
}

// BenchmarkDetect is Detect (triggers, no content model) over the golden messages.
func BenchmarkDetect(b *testing.B) {
	emls, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.eml"))
	var msgs []*message.Message
	for _, e := range emls {
		raw, err := os.ReadFile(e)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, message.Parse(raw, message.Limits{}))
	}
	pol, err := LoadOrgFile(filepath.Join("testdata", "golden", "org.json"))
	if err != nil {
		b.Fatal(err)
	}
	d := New(DefaultConfig(), nil)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d.Detect(ctx, msgs[i%len(msgs)], auth.Result{}, pol)
		i++
	}
}
