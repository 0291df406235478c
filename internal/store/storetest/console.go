package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testRollup checks the Overview rollup against counts made directly from the
// messages, after inserts and after disposition changes.
func testRollup(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	day0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	trig := func(pairs ...any) []byte {
		var out []map[string]any
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, map[string]any{"name": pairs[i], "score": pairs[i+1], "detail": "x"})
		}
		j, _ := json.Marshal(out)
		return j
	}
	type spec struct {
		acct  int64
		day   int
		disp  string
		trig  []byte
		rcpts []string
	}
	specs := []spec{
		{a.ID, 0, "SPAM", trig("bayes_spam", 3.0, "bayes_spam", 1.0, "dmarc_fail", 0.0), []string{"Jane@Corp.test", "jane@corp.test", "tom@corp.test"}},
		{a.ID, 0, "NONE", trig("bayes_spam", 0.5), []string{"jane@corp.test"}},
		{a.ID, 0, "MALICIOUS", trig("lookalike_domain", 4.0, "credential_link_mismatch", 2.5), []string{"finance@corp.test"}},
		{a.ID, 1, "MALICIOUS", trig("lookalike_domain", 4.0), []string{"finance@corp.test", "jane@corp.test"}},
		{a.ID, 1, "BULK", trig("obscured_unsubscribe", 1.0, "bayes_ham", -2.0), []string{"tom@corp.test"}},
		{a.ID, 2, "NONE", nil, []string{"tom@corp.test"}},
		{a.ID, 2, "SPOOF", trig("dmarc_fail_reject_policy", 5.0), nil},
		{b.ID, 1, "MALICIOUS", trig("lookalike_domain", 4.0), []string{"finance@corp.test"}},
	}
	var seqs []int64
	for i, s := range specs {
		m := msg(s.acct, fmt.Sprintf("r%d", i), "subject", "x@example.org", s.rcpts, s.disp, day0.AddDate(0, 0, s.day).Add(time.Duration(i)*time.Hour))
		m.Triggers = s.trig
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	check := func(step string) {
		t.Helper()
		for _, acct := range []int64{a.ID, b.ID} {
			wantDisp, wantTrig, wantRcpt := directCounts(t, st, acct, day0)
			got, err := st.DispositionsByDay(ctx, acct, day0)
			if err != nil {
				t.Fatal(err)
			}
			gotDisp := map[string]int{}
			for _, c := range got {
				gotDisp[c.Day.Format("01-02")+" "+c.Key] += c.N
			}
			if !mapsEqual(gotDisp, wantDisp) {
				t.Errorf("%s: account %d dispositions by day %v, direct count %v", step, acct, gotDisp, wantDisp)
			}
			for _, x := range []struct {
				what string
				get  func(context.Context, int64, time.Time, int) ([]store.Count, error)
				want map[string]int
			}{{"triggers", st.TopTriggers, wantTrig}, {"recipients", st.TopRecipients, wantRcpt}} {
				cs, err := x.get(ctx, acct, day0, 100)
				if err != nil {
					t.Fatal(err)
				}
				m := map[string]int{}
				for i, c := range cs {
					m[c.Key] = c.N
					if i > 0 && (cs[i-1].N < c.N || cs[i-1].N == c.N && cs[i-1].Key > c.Key) {
						t.Errorf("%s: %s not ordered by count then key: %v", step, x.what, cs)
					}
				}
				if !mapsEqual(m, x.want) {
					t.Errorf("%s: account %d top %s %v, direct count %v", step, acct, x.what, m, x.want)
				}
			}
		}
	}
	check("after insert")
	if c, _ := st.TopRecipients(ctx, a.ID, day0, 100); len(c) == 0 || c[0].Key != "finance@corp.test" || c[0].N != 2 {
		t.Errorf("top recipient: %v", c)
	}
	if c, _ := st.TopTriggers(ctx, a.ID, day0, 1); len(c) != 1 || c[0] != (store.Count{Key: "lookalike_domain", N: 2}) {
		t.Errorf("top trigger with limit 1: %v", c)
	}

	// Reclassifications: a detection becomes clean, clean mail becomes a
	// detection, triggers change under the same disposition.
	changes := []struct {
		seq  int64
		disp string
		trig []byte
	}{
		{seqs[0], "NONE", trig("team_reclassification", 0.0)},
		{seqs[1], "MALICIOUS", trig("team_reclassification", 0.0, "lookalike_domain", 4.0)},
		{seqs[4], "BULK", trig("obscured_unsubscribe", 1.0, "bulk_sender", 0.5)},
		{seqs[5], "SPAM", trig("bayes_spam", 2.0)},
	}
	for _, c := range changes {
		if changed, err := st.SetDisposition(ctx, c.seq, c.disp, c.trig); err != nil || !changed {
			t.Fatalf("set disposition of %d: %v %v", c.seq, changed, err)
		}
	}
	// The same again changes nothing, in the message or the rollup.
	if changed, err := st.SetDisposition(ctx, seqs[5], "SPAM", trig("bayes_spam", 2.0)); err != nil || changed {
		t.Errorf("repeated set disposition: %v %v", changed, err)
	}
	check("after reclassification")

	// Later days only.
	got, _ := st.DispositionsByDay(ctx, a.ID, day0.AddDate(0, 0, 2).Add(5*time.Hour))
	for _, c := range got {
		if c.Day.Before(day0.AddDate(0, 0, 2)) {
			t.Errorf("DispositionsByDay since day 2 gave %v", c)
		}
	}
	if len(got) != 2 {
		t.Errorf("DispositionsByDay since day 2: %v", got)
	}
}

// directCounts counts an account's messages as the rollup should, by reading
// every message.
func directCounts(t *testing.T, st store.Store, acct int64, since time.Time) (disp, trig, rcpt map[string]int) {
	t.Helper()
	disp, trig, rcpt = map[string]int{}, map[string]int{}, map[string]int{}
	page, err := st.Search(context.Background(), acct, store.Query{Start: since, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page.Messages {
		disp[m.ScannedAt.UTC().Format("01-02")+" "+m.Disposition]++
		if m.Disposition == "NONE" {
			continue
		}
		var ts []struct {
			Name  string
			Score float64
		}
		json.Unmarshal(m.Triggers, &ts)
		var names, rs []string
		for _, x := range ts {
			if x.Score > 0 && !slices.Contains(names, x.Name) {
				names = append(names, x.Name)
				trig[x.Name]++
			}
		}
		for _, r := range m.EnvelopeTo {
			r = strings.ToLower(r)
			if !slices.Contains(rs, r) {
				rs = append(rs, r)
				rcpt[r]++
			}
		}
	}
	return disp, trig, rcpt
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// testConsoleAdmin checks API token listing and revocation and the account's
// quarantine policy.
func testConsoleAdmin(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	tokA1, _ := st.CreateToken(ctx, a.ID, store.RoleViewer)
	tokA2, _ := st.CreateToken(ctx, a.ID, store.RoleAdmin)
	tokB, _ := st.CreateToken(ctx, b.ID, store.RoleAdmin)
	if _, err := st.Authenticate(ctx, tokA2); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListTokens(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Role != store.RoleAdmin || list[1].Role != store.RoleViewer {
		t.Fatalf("tokens of a, newest first: %+v", list)
	}
	if !strings.HasPrefix(tokA2, list[0].Prefix) || len(list[0].Prefix) >= len(tokA2) || list[0].Prefix == "" {
		t.Errorf("prefix %q of token %q", list[0].Prefix, tokA2)
	}
	if list[0].LastUsedAt.IsZero() || !list[1].LastUsedAt.IsZero() || list[0].CreatedAt.IsZero() || !list[0].RevokedAt.IsZero() {
		t.Errorf("token times: %+v", list)
	}
	listB, _ := st.ListTokens(ctx, b.ID)
	if len(listB) != 1 {
		t.Fatalf("tokens of b: %+v", listB)
	}
	// Another account's token cannot be revoked.
	if err := st.RevokeToken(ctx, a.ID, listB[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking b's token as a: %v", err)
	}
	if _, err := st.Authenticate(ctx, tokB); err != nil {
		t.Errorf("b's token after a's attempt: %v", err)
	}
	if err := st.RevokeToken(ctx, a.ID, list[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Authenticate(ctx, tokA1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked token authenticates: %v", err)
	}
	if _, err := st.Authenticate(ctx, tokA2); err != nil {
		t.Errorf("the other token: %v", err)
	}
	if err := st.RevokeToken(ctx, a.ID, list[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice: %v", err)
	}
	list, _ = st.ListTokens(ctx, a.ID)
	if len(list) != 2 || list[1].RevokedAt.IsZero() || !list[0].RevokedAt.IsZero() {
		t.Errorf("tokens after revocation: %+v", list)
	}

	if err := st.SetHoldDispositions(ctx, a.ID, []string{"SUSPICIOUS", "MALICIOUS", "SUSPICIOUS"}); err != nil {
		t.Fatal(err)
	}
	acct, _ := st.Account(ctx, a.ID)
	if !slices.Equal(acct.HoldDispositions, []string{"SUSPICIOUS", "MALICIOUS"}) || acct.Holds("SPAM") {
		t.Errorf("hold dispositions: %v", acct.HoldDispositions)
	}
	if other, _ := st.Account(ctx, b.ID); !other.Holds("SPAM") || other.Holds("SUSPICIOUS") {
		t.Errorf("b's hold dispositions changed: %v", other.HoldDispositions)
	}
	if err := st.SetHoldDispositions(ctx, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if acct, _ := st.Account(ctx, a.ID); len(acct.HoldDispositions) != 0 {
		t.Errorf("hold nothing: %v", acct.HoldDispositions)
	}
	if err := st.SetHoldDispositions(ctx, 9999, []string{"SPAM"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing account: %v", err)
	}

	// A message's own submissions, newest first; not another message's (whose
	// subject names it) nor another account's.
	now := time.Now()
	m1 := msg(a.ID, "ms1", "first", "x@example.org", []string{"bob@corp.test"}, "SPAM", now)
	m2 := msg(a.ID, "ms2", "about ms1", "x@example.org", []string{"bob@corp.test"}, "SPAM", now)
	for _, m := range []*store.Message{m1, m2} {
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for i, s := range []store.Submission{
		{AccountID: a.ID, MessageSeq: m1.Seq, MessageID: m1.ID, RawKey: "k1", RequestedDisposition: "NONE"},
		{AccountID: a.ID, MessageSeq: m2.Seq, MessageID: m2.ID, RawKey: "k2", Subject: "about ms1", RequestedDisposition: "NONE"},
		{AccountID: b.ID, MessageID: m1.ID, RawKey: "k1", RequestedDisposition: "NONE"},
		{AccountID: a.ID, MessageSeq: m1.Seq, MessageID: m1.ID, RawKey: "k1", RequestedDisposition: "BULK"},
	} {
		s.Type, s.Channel, s.RequestedAt = store.SubmissionTeam, store.ChannelAPI, now
		if _, err := st.CreateSubmission(ctx, &s); err != nil {
			t.Fatal(err)
		}
		if i == 0 || i == 3 {
			want = append([]string{s.ID}, want...)
		}
	}
	subs, err := st.MessageSubmissions(ctx, a.ID, m1.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range subs {
		got = append(got, s.ID)
	}
	if !slices.Equal(got, want) || subs[0].RequestedDisposition != "BULK" {
		t.Errorf("submissions of %s: %v, want %v", m1.ID, got, want)
	}
	if subs, _ := st.MessageSubmissions(ctx, a.ID, m1.ID, 1); len(subs) != 1 || subs[0].ID != want[0] {
		t.Errorf("newest submission of %s: %+v", m1.ID, subs)
	}
}
