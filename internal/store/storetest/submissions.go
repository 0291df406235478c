package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testSubmissions covers the submission queue (dedupe, claim and lease, save),
// listing filters, contacts, and the message changes a reclassification makes.
func testSubmissions(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	m1 := msg(a.ID, "s1", "Win a prize", "promo@example.org", []string{"bob@corp.test"}, "SPAM", t0)
	m1.IsQuarantined, m1.DeliveryStatus, m1.CampaignID = true, store.StatusQuarantined, "camp1"
	m2 := msg(a.ID, "s2", "Win a prize too", "promo@example.org", []string{"carol@corp.test"}, "SPAM", t0)
	m2.CampaignID = "camp1"
	m3 := msg(a.ID, "s3", "Other", "x@example.org", []string{"carol@corp.test"}, "NONE", t0)
	for _, m := range []*store.Message{m1, m2, m3} {
		if err := st.InsertMessage(ctx, m, []byte("raw "+m.ID), nil, m.EnvelopeTo); err != nil {
			t.Fatal(err)
		}
	}

	sub := store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelAPI, MessageSeq: m1.Seq, MessageID: m1.ID,
		RawKey: "k1", Subject: m1.Subject, OriginalDisposition: "SPAM", RequestedDisposition: "NONE", RequestedBy: "token:mw_abc", RequestedAt: t0}
	created, err := st.CreateSubmission(ctx, &sub)
	if err != nil || !created || sub.ID == "" || sub.Status != store.SubPending || sub.State != store.QueueQueued {
		t.Fatalf("create: %v %v %+v", created, err, sub)
	}
	dup := store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelAPI, MessageSeq: m1.Seq, RawKey: "k1", RequestedDisposition: "NONE"}
	if created, err := st.CreateSubmission(ctx, &dup); err != nil || created || dup.ID != sub.ID {
		t.Errorf("duplicate: created %v err %v id %q want %q", created, err, dup.ID, sub.ID)
	}
	other := store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelAPI, MessageSeq: m1.Seq, RawKey: "k1", RequestedDisposition: "BULK"}
	if created, err := st.CreateSubmission(ctx, &other); err != nil || !created || other.ID == sub.ID {
		t.Errorf("another disposition is another submission: %v %v", created, err)
	}
	inv := store.Submission{AccountID: a.ID, Type: store.SubmissionInvalid, Channel: store.ChannelMail, Status: store.SubCompleted, State: store.QueueDone,
		Reason: "no_eml_attached", OutcomeCode: "invalid_no_eml", RequestedBy: "user@corp.test"}
	if _, err := st.CreateSubmission(ctx, &inv); err != nil {
		t.Fatal(err)
	}

	got, err := st.GetSubmission(ctx, a.ID, sub.ID)
	if err != nil || got.MessageSeq != m1.Seq || got.RequestedBy != "token:mw_abc" || !got.RequestedAt.Equal(t0) {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := st.GetSubmission(ctx, b.ID, sub.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another account's submission: %v", err)
	}
	list := func(q store.SubmissionQuery) []string {
		t.Helper()
		subs, _, err := st.ListSubmissions(ctx, a.ID, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range subs {
			out = append(out, s.ID)
		}
		return out
	}
	if l := list(store.SubmissionQuery{}); len(l) != 3 || l[0] != inv.ID {
		t.Errorf("all, newest first: %v", l)
	}
	if l := list(store.SubmissionQuery{Type: store.SubmissionInvalid}); len(l) != 1 || l[0] != inv.ID {
		t.Errorf("invalid: %v", l)
	}
	if l := list(store.SubmissionQuery{RequestedDisposition: "NONE", Type: store.SubmissionTeam}); len(l) != 1 || l[0] != sub.ID {
		t.Errorf("requested NONE: %v", l)
	}
	if l := list(store.SubmissionQuery{Text: "prize"}); len(l) != 1 {
		t.Errorf("query: %v", l)
	}
	if l := list(store.SubmissionQuery{Start: t0.Add(time.Minute)}); len(l) != 2 {
		t.Errorf("start: %v", l)
	}
	if l := list(store.SubmissionQuery{Limit: 1, Offset: 5}); len(l) != 0 {
		t.Errorf("past the end: %v", l)
	}
	if n, err := st.CountSubmissionsSince(ctx, a.ID, t0.Add(-time.Minute)); err != nil || n != 3 {
		t.Errorf("count: %d %v", n, err)
	}

	// The queue: claim leases the oldest due row; a leased row is not claimed
	// again until its lease runs out; save frees it.
	c1, err := st.ClaimSubmission(ctx, "w1", time.Minute)
	if err != nil || c1.ID != sub.ID {
		t.Fatalf("claim: %v %v", c1.ID, err)
	}
	c2, err := st.ClaimSubmission(ctx, "w2", time.Minute)
	if err != nil || c2.ID != other.ID {
		t.Fatalf("second claim: %v %v", c2.ID, err)
	}
	if _, err := st.ClaimSubmission(ctx, "w3", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("everything leased: %v", err)
	}
	c1.Status, c1.State, c1.OutcomeCode, c1.OutcomeDisposition, c1.CompletedAt = store.SubCompleted, store.QueueDone, "reclassified", "NONE", time.Now()
	if err := st.SaveSubmission(ctx, &c1); err != nil {
		t.Fatal(err)
	}
	c2.Attempts, c2.NextAttempt, c2.LastError = 1, time.Now().Add(time.Hour), "boom"
	if err := st.SaveSubmission(ctx, &c2); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimSubmission(ctx, "w3", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("done and backed-off rows claimed: %v", err)
	}
	// A lease that ran out is taken again (a worker died).
	c2.NextAttempt = time.Now()
	st.SaveSubmission(ctx, &c2)
	if c, err := st.ClaimSubmission(ctx, "w4", -time.Second); err != nil || c.ID != other.ID || c.Attempts != 1 {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if c, err := st.ClaimSubmission(ctx, "w5", time.Minute); err != nil || c.ID != other.ID {
		t.Errorf("expired lease not reclaimed: %+v %v", c, err)
	}
	if l := list(store.SubmissionQuery{Status: store.SubCompleted, OutcomeDisposition: "NONE"}); len(l) != 1 || l[0] != sub.ID {
		t.Errorf("completed with outcome NONE: %v", l)
	}

	// Contacts.
	if err := st.SetSubmissionContact(ctx, a.ID, "token:mw_abc", store.RoleAnalyst, "ana@corp.test"); err != nil {
		t.Fatal(err)
	}
	if e, err := st.SubmissionContact(ctx, a.ID, "token:mw_abc"); err != nil || e != "ana@corp.test" {
		t.Errorf("contact: %q %v", e, err)
	}
	if p, r, err := st.SubmissionContactByEmail(ctx, a.ID, "ANA@corp.test"); err != nil || p != "token:mw_abc" || r != store.RoleAnalyst {
		t.Errorf("contact by email: %q %q %v", p, r, err)
	}
	if _, _, err := st.SubmissionContactByEmail(ctx, b.ID, "ana@corp.test"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another account's contact: %v", err)
	}
	if e, _ := st.SubmissionContact(ctx, a.ID, "token:mw_zzz"); e != "" {
		t.Errorf("unknown contact: %q", e)
	}

	// Message changes.
	if changed, err := st.SetDisposition(ctx, m1.Seq, "NONE", []byte(`[{"name":"team_reclassification"}]`)); err != nil || !changed {
		t.Errorf("set disposition: %v %v", changed, err)
	}
	if changed, _ := st.SetDisposition(ctx, m1.Seq, "NONE", []byte(`[{"name":"team_reclassification"}]`)); changed {
		t.Errorf("setting the same disposition changed something")
	}
	if m, _ := st.GetMessage(ctx, a.ID, "s1"); m.Disposition != "NONE" || string(m.Triggers) != `[{"name":"team_reclassification"}]` {
		t.Errorf("after set: %s %s", m.Disposition, m.Triggers)
	}
	camp, err := st.CampaignMessages(ctx, a.ID, "camp1", 0, 10)
	if err != nil || len(camp) != 2 || camp[0].ID != "s1" || camp[1].ID != "s2" {
		t.Errorf("campaign: %v %v", len(camp), err)
	}
	if camp, _ := st.CampaignMessages(ctx, a.ID, "camp1", m1.Seq, 10); len(camp) != 1 || camp[0].ID != "s2" {
		t.Errorf("campaign after s1: %v", camp)
	}
	if camp, _ := st.CampaignMessages(ctx, b.ID, "camp1", 0, 10); len(camp) != 0 {
		t.Errorf("another account's campaign: %v", camp)
	}
	// m2 is queued for delivery: holding it drops the pending delivery.
	if held, err := st.HoldMessage(ctx, m2.Seq); err != nil || !held {
		t.Fatalf("hold: %v %v", held, err)
	}
	if m, _ := st.GetMessage(ctx, a.ID, "s2"); !m.IsQuarantined || m.DeliveryStatus != store.StatusQuarantined {
		t.Errorf("held: %+v", m)
	}
	if ds, _ := st.PendingDeliveries(ctx, m2.Seq); len(ds) != 0 {
		t.Errorf("held message still has deliveries: %v", ds)
	}
	if held, _ := st.HoldMessage(ctx, m2.Seq); held {
		t.Errorf("held twice")
	}
	if q, err := st.QueueDeliveries(ctx, m2.Seq, m2.EnvelopeTo); err != nil || len(q) != 1 {
		t.Errorf("release after hold queues again: %v %v", q, err)
	}
}
