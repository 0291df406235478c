// Package storetest is the one test suite every store implementation passes
// (SQLite and PostgreSQL), as mailpit reruns its tests on a second database.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Run runs the suite; open returns a fresh, empty, migrated store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("AccountsAndTokens", func(t *testing.T) { testAccounts(t, open(t)) })
	t.Run("FirstAccount", func(t *testing.T) { testFirstAccount(t, open(t)) })
	t.Run("MessagesAndSearch", func(t *testing.T) { testMessages(t, open(t)) })
	t.Run("CursorPaging", func(t *testing.T) { testCursor(t, open(t)) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, open(t)) })
	t.Run("DeliveryClaims", func(t *testing.T) { testDeliveryClaims(t, open(t)) })
	t.Run("LogsAndCampaigns", func(t *testing.T) { testLogs(t, open(t)) })
	t.Run("Submissions", func(t *testing.T) { testSubmissions(t, open(t)) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Users", func(t *testing.T) { testUsers(t, open(t)) })
	t.Run("SearchWords", func(t *testing.T) { testSearchWords(t, open(t)) })
	t.Run("HostileText", func(t *testing.T) { testHostileText(t, open(t)) })
	t.Run("Jobs", func(t *testing.T) { testJobs(t, open(t)) })
	t.Run("JobBatchLeaseAddresses", func(t *testing.T) { testIssue6(t, open(t)) })
	t.Run("OverviewRollup", func(t *testing.T) { testRollup(t, open(t)) })
	t.Run("TokensAndHoldPolicy", func(t *testing.T) { testConsoleAdmin(t, open(t)) })
	t.Run("BayesSnapshot", func(t *testing.T) { testBayesSnapshot(t, open(t)) })
	t.Run("SenderHistory", func(t *testing.T) { testSenderHistory(t, open(t)) })
}

func testAccounts(t *testing.T, st store.Store) {
	ctx := context.Background()
	if _, err := st.FirstAccount(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty store FirstAccount: %v", err)
	}
	a, err := st.CreateAccount(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Holds("SPAM") || !a.Holds("MALICIOUS") || !a.Holds("SPOOF") || a.Holds("NONE") || a.Holds("BULK") {
		t.Errorf("default hold dispositions: %v", a.HoldDispositions)
	}
	b, _ := st.CreateAccount(ctx, "two")
	if f, _ := st.FirstAccount(ctx); f.ID != a.ID {
		t.Errorf("first account %d, want %d", f.ID, a.ID)
	}
	tok, err := st.CreateToken(ctx, b.ID, store.RoleAnalyst)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Authenticate(ctx, tok)
	if err != nil || p.AccountID != b.ID || p.Role != store.RoleAnalyst {
		t.Errorf("authenticate: %+v %v", p, err)
	}
	if _, err := st.Authenticate(ctx, tok+"x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("wrong token: %v", err)
	}
	if _, err := st.CreateToken(ctx, a.ID, "root"); err == nil {
		t.Errorf("unknown role accepted")
	}
	if _, err := st.CreateToken(ctx, 999, store.RoleAdmin); err == nil {
		t.Errorf("token for a missing account accepted")
	}
}

func msg(acct int64, id, subject, from string, to []string, disp string, at time.Time) *store.Message {
	return &store.Message{ID: id, AccountID: acct, MessageID: id + "@example.org", Subject: subject, FromAddr: from,
		FromDomain: from[len(from)-len("example.org"):], To: to, EnvelopeFrom: from, EnvelopeTo: to, ScannedAt: at,
		Disposition: disp, DeliveryMode: "DIRECT", DeliveryStatus: store.StatusQueued, CampaignID: id, SimHash: uint64(len(id)) << 40,
		SearchAttachments: "report.pdf 0123abcd"}
}

func ids(p store.Page) []string {
	var out []string
	for _, m := range p.Messages {
		out = append(out, m.ID)
	}
	return out
}

func testMessages(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(m *store.Message) {
		t.Helper()
		if err := st.InsertMessage(ctx, m, []byte("raw of "+m.ID), []string{"received"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	add(msg(a.ID, "m1", "Quarterly invoice", "billing@example.org", []string{"bob@corp.test"}, "NONE", t0))
	add(msg(a.ID, "m2", "Win a prize now", "promo@example.org", []string{"carol@corp.test"}, "SPAM", t0.Add(time.Hour)))
	add(msg(a.ID, "m3", "Reset your password", "it@example.org", []string{"bob@corp.test"}, "MALICIOUS", t0.Add(2*time.Hour)))
	add(msg(b.ID, "m4", "Quarterly invoice", "billing@example.org", []string{"zed@other.test"}, "NONE", t0))

	m, err := st.GetMessage(ctx, a.ID, "m1")
	if err != nil || m.Subject != "Quarterly invoice" || !slices.Equal(m.To, []string{"bob@corp.test"}) || !m.ScannedAt.Equal(t0) {
		t.Fatalf("get: %+v %v", m, err)
	}
	if _, err := st.GetMessage(ctx, b.ID, "m1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another account's message: %v", err)
	}
	raw, err := st.Raw(ctx, m.Seq)
	if err != nil || string(raw) != "raw of m1" {
		t.Errorf("raw: %q %v", raw, err)
	}
	cases := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"all newest first", store.Query{}, []string{"m3", "m2", "m1"}},
		{"full text subject", store.Query{Text: "quarterly"}, []string{"m1"}},
		{"full text recipient", store.Query{Text: "bob@corp.test"}, []string{"m3", "m1"}},
		{"full text attachment hash", store.Query{Text: "0123abcd"}, []string{"m3", "m2", "m1"}},
		{"full text message id", store.Query{Text: "m2@example.org"}, []string{"m2"}},
		{"fts syntax is data", store.Query{Text: `invoice" OR "prize`}, nil},
		{"sender", store.Query{Sender: "PROMO"}, []string{"m2"}},
		{"recipient", store.Query{Recipient: "carol"}, []string{"m2"}},
		{"subject", store.Query{Subject: "password"}, []string{"m3"}},
		{"like wildcards are literal", store.Query{Subject: "%"}, nil},
		{"disposition", store.Query{Disposition: "SPAM"}, []string{"m2"}},
		{"detections only", store.Query{DetectionsOnly: true}, []string{"m3", "m2"}},
		{"message id", store.Query{MessageID: "<m3@example.org>"}, []string{"m3"}},
		{"time range", store.Query{Start: t0.Add(30 * time.Minute), End: t0.Add(90 * time.Minute)}, []string{"m2"}},
		{"offset", store.Query{Offset: 1, Limit: 1}, []string{"m2"}},
	}
	for _, c := range cases {
		p, err := st.Search(ctx, a.ID, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := ids(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	p, _ := st.Search(ctx, a.ID, store.Query{CountTotal: true, Limit: 1})
	if p.Total != 3 || len(p.Messages) != 1 {
		t.Errorf("count total: %d, %d messages", p.Total, len(p.Messages))
	}
}

func testCursor(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	t0 := time.Now()
	var want []string
	for i := 0; i < 25; i++ {
		m := msg(a.ID, fmt.Sprintf("c%02d", i), "s", "x@example.org", nil, "NONE", t0)
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		want = append([]string{m.ID}, want...)
	}
	var got []string
	cursor := int64(0)
	for pages := 0; pages < 10; pages++ {
		p, err := st.Search(ctx, a.ID, store.Query{Cursor: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(p)...)
		// A message arriving while paging never shifts the pages already handed out.
		st.InsertMessage(ctx, msg(a.ID, fmt.Sprintf("late%d", pages), "s", "x@example.org", nil, "NONE", t0), nil, nil, nil)
		if p.NextCursor == 0 {
			break
		}
		cursor = p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Errorf("cursor paging: got %v, want %v", got, want)
	}
}

func testDeliveries(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	m := msg(a.ID, "d1", "s", "x@example.org", []string{"r1@corp.test", "r2@corp.test"}, "SPAM", time.Now())
	m.IsQuarantined, m.DeliveryStatus = true, store.StatusQuarantined
	if err := st.InsertMessage(ctx, m, []byte("x"), nil, nil); err != nil {
		t.Fatal(err)
	}
	if due, _ := st.DueDeliveries(ctx, time.Now(), 10); len(due) != 0 {
		t.Fatalf("held message has deliveries: %v", due)
	}
	q, err := st.QueueDeliveries(ctx, m.Seq, m.EnvelopeTo)
	if err != nil || len(q) != 2 {
		t.Fatalf("queue: %v %v", q, err)
	}
	if q, _ := st.QueueDeliveries(ctx, m.Seq, m.EnvelopeTo); len(q) != 0 {
		t.Errorf("queued twice: %v", q)
	}
	got, _ := st.GetMessageBySeq(ctx, m.Seq)
	if got.IsQuarantined || got.DeliveryStatus != store.StatusQueued {
		t.Errorf("after release: quarantined=%v status=%s", got.IsQuarantined, got.DeliveryStatus)
	}
	due, _ := st.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	if len(due) != 2 {
		t.Fatalf("due: %v", due)
	}
	st.FinishDelivery(ctx, due[0].ID, "delivered", "", time.Time{})
	st.FinishDelivery(ctx, due[1].ID, "pending", "451 try later", time.Now().Add(time.Hour))
	st.RefreshDeliveryStatus(ctx, m.Seq)
	if got, _ := st.GetMessageBySeq(ctx, m.Seq); got.DeliveryStatus != store.StatusDeferred {
		t.Errorf("status with a deferred recipient: %s", got.DeliveryStatus)
	}
	if due, _ := st.DueDeliveries(ctx, time.Now(), 10); len(due) != 0 {
		t.Errorf("backed-off delivery is due: %v", due)
	}
	pend, _ := st.PendingDeliveries(ctx, m.Seq)
	if len(pend) != 1 || pend[0].Attempts != 1 {
		t.Errorf("pending: %+v", pend)
	}
	st.FinishDelivery(ctx, pend[0].ID, "delivered", "", time.Time{})
	st.RefreshDeliveryStatus(ctx, m.Seq)
	if got, _ := st.GetMessageBySeq(ctx, m.Seq); got.DeliveryStatus != store.StatusDelivered {
		t.Errorf("status when all delivered: %s", got.DeliveryStatus)
	}
}

func testLogs(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	m1 := msg(a.ID, "l1", "s", "x@example.org", nil, "NONE", time.Now())
	m1.SimHash, m1.StructureHash = 0xF0F0_0000_1234_5678, "abc"
	st.InsertMessage(ctx, m1, nil, []string{"in 1"}, nil)
	st.AddTrace(ctx, m1.Seq, "outbound", "out 1")
	tr, err := st.Trace(ctx, m1.Seq)
	if err != nil || len(tr) != 2 || tr[0].Direction != "inbound" || tr[1].Line != "out 1" {
		t.Errorf("trace: %+v %v", tr, err)
	}
	st.AddAction(ctx, m1.Seq, store.Action{Operation: "RELEASE", Status: "completed", RequestedBy: "token:x", Properties: map[string]string{"k": "v"}})
	acts, err := st.Actions(ctx, m1.Seq)
	if err != nil || len(acts) != 1 || acts[0].Properties["k"] != "v" || acts[0].RequestedBy != "token:x" {
		t.Errorf("actions: %+v %v", acts, err)
	}
	st.Audit(ctx, store.AuditEntry{AccountID: a.ID, Actor: "me", Action: "x.y", Target: "l1"})
	if log, _ := st.AuditLog(ctx, a.ID, 10); len(log) != 1 || log[0].Action != "x.y" {
		t.Errorf("audit: %+v", log)
	}
	// Two bits away: same campaign. Far away: none.
	if c, _ := st.Campaign(ctx, a.ID, "zzz", 0xF0F0_0000_1234_5678^0b101, 3); c != "l1" {
		t.Errorf("near simhash campaign = %q", c)
	}
	if c, _ := st.Campaign(ctx, a.ID, "zzz", ^uint64(0xF0F0_0000_1234_5678), 3); c != "" {
		t.Errorf("far simhash campaign = %q", c)
	}
	other, _ := st.CreateAccount(ctx, "b")
	if c, _ := st.Campaign(ctx, other.ID, "abc", 0xF0F0_0000_1234_5678, 3); c != "" {
		t.Errorf("campaign across accounts = %q", c)
	}
}
