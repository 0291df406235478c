package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// demodata holds sample messages (copies of internal/detect's golden set, one
// per kind of verdict) and the DNS zone their authentication is checked against.
//
//go:embed demodata
var demoData embed.FS

// demoCount is how many messages serve --demo generates.
const demoCount = 320

// demoWeights says how often each sample is used (clean mail dominates, as in life).
var demoWeights = map[string]int{
	"clean_reply": 10, "transactional_receipt": 8, "internal_authenticated": 8, "mailing_list_reply": 6,
	"bulk_esp_newsletter": 6, "bulk_hidden_unsubscribe": 4, "spam_classic": 6,
	"spoof_dmarc_reject": 3, "spoof_dmarc_quarantine": 2, "spoof_protected_domain": 2,
	"bec_bank_change": 2, "idn_lookalike": 2, "ip_link_verify": 2, "encrypted_zip": 2,
	"ceo_gift_card": 2, "credential_mailbox_quota": 3, "lookalike_invoice": 2, "double_extension_zip": 2,
}

var demoPeople = []string{"jane", "tom.baker", "ana.silva", "li.wei", "sam.okafor", "priya.nair", "omar.haddad", "eva.novak", "finance", "hr"}

// seedDemo fills an empty account with generated mail through the real
// pipeline (parse, authenticate against the demo zone, detect, store, route),
// spread over the last two weeks, plus a few submissions of each kind.
func seedDemo(ctx context.Context, cfg Config, st store.Store, acct store.Account, pipe *pipeline.Pipeline, subs *submission.Service, log *slog.Logger) error {
	page, err := st.Search(ctx, acct.ID, store.Query{Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Messages) > 0 {
		log.Info("demo: the account has mail already; nothing seeded", "account", acct.ID)
		return nil
	}
	zf, err := demoData.Open("demodata/demo.zone")
	if err != nil {
		return err
	}
	zone, err := dnsx.ParseZone(zf, ".")
	zf.Close()
	if err != nil {
		return fmt.Errorf("demo zone: %w", err)
	}
	if err := seedDemoSettings(ctx, st, acct.ID); err != nil {
		return err
	}
	var names []string
	samples := map[string][]byte{}
	for name, w := range demoWeights {
		raw, err := demoData.ReadFile(path.Join("demodata", name+".eml"))
		if err != nil {
			return err
		}
		samples[name] = raw
		for range w {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now()
	start := now.Add(-14 * 24 * time.Hour)
	step := 14 * 24 * time.Hour / demoCount
	demo := *pipe
	demo.Auth = &auth.Checker{Resolver: zone, AuthServID: cfg.Hostname}
	demo.Delivered = nil
	counts := map[string]int{}
	var stored []*store.Message
	for i := range demoCount {
		name := names[rng.IntN(len(names))]
		at := start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step))))
		demo.Now = func() time.Time { return at }
		rcpt := demoPeople[rng.IntN(len(demoPeople))] + "@northwind.com"
		raw := demoVariant(samples[name], rcpt, fmt.Sprintf("demo-%d-%s@mailwarden.demo", i, name))
		m, _, err := demo.Accept(ctx, acct, raw, pipeline.Envelope{Recipients: []string{rcpt}, Mode: pipeline.ModeDirect, FromHeaders: true})
		if err != nil {
			return fmt.Errorf("demo message %d: %w", i, err)
		}
		counts[m.Disposition]++
		stored = append(stored, m)
	}
	// Submissions: team reclassifications, user reports to triage, invalid ones.
	pick := func(disp string, n int) []*store.Message {
		var out []*store.Message
		for i := len(stored) - 1; i >= 0 && len(out) < n; i-- {
			if stored[i].Disposition == disp {
				out = append(out, stored[i])
			}
		}
		return out
	}
	team := []struct {
		from string
		to   detect.Disposition
	}{{"BULK", detect.Spam}, {"SUSPICIOUS", detect.Malicious}, {"NONE", detect.Spam}, {"SPAM", detect.None}}
	for _, t := range team {
		for _, m := range pick(t.from, 1) {
			if _, err := subs.Submit(ctx, acct, submission.Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI,
				RequestedBy: "user:analyst@northwind.com", MessageID: m.ID, Disposition: t.to}); err != nil {
				return fmt.Errorf("demo submission: %w", err)
			}
		}
	}
	for _, m := range append(pick("NONE", 3)[1:], pick("BULK", 2)[1:]...) {
		if _, err := subs.Submit(ctx, acct, submission.Request{Type: store.SubmissionUser, Channel: store.ChannelMail,
			RequestedBy: m.EnvelopeTo[0], MessageID: m.ID, Disposition: detect.Malicious}); err != nil {
			return fmt.Errorf("demo user submission: %w", err)
		}
	}
	for _, reason := range []string{submission.ReasonNoEML, submission.ReasonWrongType} {
		if _, err := subs.Invalid(ctx, acct, store.ChannelMail, "tom.baker@northwind.com", "", "Fwd: is this phishing?", reason); err != nil {
			return fmt.Errorf("demo invalid submission: %w", err)
		}
	}
	log.Info("demo: seeded account", "account", acct.ID, "messages", demoCount, "dispositions", fmt.Sprint(counts))
	return nil
}

// demoVariant rewrites a sample's To and Message-ID headers.
func demoVariant(raw []byte, rcpt, msgID string) []byte {
	head, body, ok := bytes.Cut(raw, []byte("\n\n"))
	sep := "\n\n"
	if !ok {
		head, body, _ = bytes.Cut(raw, []byte("\r\n\r\n"))
		sep = "\r\n\r\n"
	}
	lines := strings.Split(string(head), "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(strings.ToLower(l), "to:") && strings.Contains(l, "@northwind.com"):
			lines[i] = "To: " + rcpt + strings.TrimPrefix(l, strings.TrimRight(l, "\r"))
		case strings.HasPrefix(strings.ToLower(l), "message-id:"):
			lines[i] = "Message-ID: <" + msgID + ">" + strings.TrimPrefix(l, strings.TrimRight(l, "\r"))
		}
	}
	return append([]byte(strings.Join(lines, "\n")+sep), body...)
}

// seedDemoSettings gives the demo organisation its domain and executives.
func seedDemoSettings(ctx context.Context, st store.Store, acct int64) error {
	n, _, err := st.ProtectedDomains(ctx, acct, store.SettingsQuery{Limit: 1})
	if err != nil || len(n) > 0 {
		return err
	}
	if err := st.CreateProtectedDomain(ctx, &store.ProtectedDomain{SettingBase: store.SettingBase{AccountID: acct, Comments: "demo"},
		Domain: "northwind.com", DropDispositions: []string{"MALICIOUS", "SPOOF", "SPAM"}, LookbackHops: 1, Status: "active"}); err != nil {
		return err
	}
	for _, p := range [][2]string{{"Maria Anders", "maria.anders@northwind.com"}, {"Thomas Hardy", "thomas.hardy@northwind.com"}} {
		if err := st.CreateImpersonationEntry(ctx, &store.ImpersonationEntry{SettingBase: store.SettingBase{AccountID: acct, Comments: "demo"},
			Name: p[0], Email: p[1], Provenance: "demo"}); err != nil {
			return err
		}
	}
	if err := st.CreateTrustedDomain(ctx, &store.TrustedDomain{SettingBase: store.SettingBase{AccountID: acct, Comments: "partner"},
		Pattern: "partner.example", IsSimilarity: true}); err != nil {
		return err
	}
	return st.CreateBlockSender(ctx, &store.BlockSender{SettingBase: store.SettingBase{AccountID: acct, Comments: "known spammer"},
		Pattern: "cheap-ink.example", PatternType: store.PatternDomain})
}
