package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testIssue6 covers what issue 6 added: a bulk job batch committed once,
// submission lease renewal, and per-account submission addresses.
func testIssue6(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)

	// A batch: m1 is reclassified and released, m2 held, m3 fails.
	m1 := msg(a.ID, "b1", "one", "x@example.org", []string{"bob@corp.test"}, "SPAM", t0)
	m1.IsQuarantined, m1.DeliveryStatus = true, store.StatusQuarantined
	m2 := msg(a.ID, "b2", "two", "x@example.org", []string{"carol@corp.test"}, "NONE", t0)
	m2.DeliveryStatus = store.StatusQueued
	m3 := msg(a.ID, "b3", "three", "x@example.org", []string{"dave@corp.test"}, "NONE", t0)
	for _, m := range []*store.Message{m1, m2, m3} {
		var to []string
		if m != m1 {
			to = m.EnvelopeTo
		}
		if err := st.InsertMessage(ctx, m, []byte("raw "+m.ID), nil, to); err != nil {
			t.Fatal(err)
		}
	}
	j := store.Job{ID: "batchjob", AccountID: a.ID, Action: "RECLASSIFY", SearchParams: []byte(`{}`)}
	if err := st.CreateJob(ctx, &j); err != nil {
		t.Fatal(err)
	}
	if err := st.AddJobMessages(ctx, j.ID, []int64{m1.Seq, m2.Seq, m3.Seq}, -1); err != nil {
		t.Fatal(err)
	}
	items := func() []store.JobItem {
		return []store.JobItem{
			{MessageSeq: m1.Seq, Disposition: "NONE", Triggers: []byte(`[{"name":"team"}]`), Release: []string{"bob@corp.test"},
				Submission: &store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelBulk, Status: store.SubCompleted,
					State: store.QueueDone, MessageSeq: m1.Seq, MessageID: m1.ID, RequestedDisposition: "NONE", RequestedBy: "t"},
				Actions: []store.Action{{Operation: "RECLASSIFY", Status: "completed", Properties: map[string]string{"to": "NONE"}}},
				Trace:   []store.TraceLine{{Direction: "inbound", Line: "reclassified"}},
				Audit:   []store.AuditEntry{{AccountID: a.ID, Actor: "t", Action: "submission.process", Target: m1.ID}}},
			{MessageSeq: m2.Seq, Disposition: "SPAM", Hold: true},
			{MessageSeq: m3.Seq, Error: "boom", Disposition: "MALICIOUS"},
		}
	}
	if err := st.FinishJobBatch(ctx, j.ID, items()); err != nil {
		t.Fatal(err)
	}
	// Done again (a worker restarted before it knew): nothing is applied twice.
	if err := st.FinishJobBatch(ctx, j.ID, items()); err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetJob(ctx, a.ID, j.ID)
	if got.Successful != 2 || got.Failed != 1 || got.Pending() != 0 {
		t.Errorf("job counters: %+v", got)
	}
	g1, _ := st.GetMessageBySeq(ctx, m1.Seq)
	g2, _ := st.GetMessageBySeq(ctx, m2.Seq)
	g3, _ := st.GetMessageBySeq(ctx, m3.Seq)
	if g1.Disposition != "NONE" || g1.IsQuarantined || g1.DeliveryStatus != store.StatusQueued {
		t.Errorf("released message: %s %v %s", g1.Disposition, g1.IsQuarantined, g1.DeliveryStatus)
	}
	if g2.Disposition != "SPAM" || !g2.IsQuarantined {
		t.Errorf("held message: %s %v", g2.Disposition, g2.IsQuarantined)
	}
	if g3.Disposition != "NONE" {
		t.Errorf("a failed message was changed: %s", g3.Disposition)
	}
	if d, _ := st.PendingDeliveries(ctx, m1.Seq); len(d) != 1 || d[0].Recipient != "bob@corp.test" {
		t.Errorf("m1 deliveries: %+v", d)
	}
	if d, _ := st.PendingDeliveries(ctx, m2.Seq); len(d) != 0 {
		t.Errorf("held m2 still queued: %+v", d)
	}
	if acts, _ := st.Actions(ctx, m1.Seq); len(acts) != 1 || acts[0].Operation != "RECLASSIFY" {
		t.Errorf("m1 actions (once): %+v", acts)
	}
	if tr, _ := st.Trace(ctx, m1.Seq); len(tr) != 1 {
		t.Errorf("m1 trace (once): %+v", tr)
	}
	subs, _, _ := st.ListSubmissions(ctx, a.ID, store.SubmissionQuery{Type: store.SubmissionTeam})
	if len(subs) != 1 || subs[0].ID == "" || subs[0].MessageSeq != m1.Seq || subs[0].Status != store.SubCompleted {
		t.Errorf("batch submissions (once): %+v", subs)
	}
	n := 0
	audit, _ := st.AuditLog(ctx, a.ID, 100)
	for _, e := range audit {
		if e.Action == "submission.process" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d submission.process audit entries, want 1", n)
	}
	msgs, _, _ := st.JobMessages(ctx, a.ID, j.ID, 0, 10)
	for _, m := range msgs {
		if want := map[int64]string{m1.Seq: "success", m2.Seq: "success", m3.Seq: "failed"}[m.MessageSeq]; m.Status != want {
			t.Errorf("job message %d: %s, want %s", m.MessageSeq, m.Status, want)
		}
	}

	// Message changes without a job (a campaign pass): conditional writes log once.
	change := func() []store.JobItem {
		return []store.JobItem{
			{MessageSeq: m3.Seq, Disposition: "BULK", IfChanged: true, Actions: []store.Action{{Operation: "RECLASSIFY", Status: "completed"}}},
			{MessageSeq: m3.Seq, Hold: true, IfChanged: true, Actions: []store.Action{{Operation: "MOVE", Status: "completed"}}},
		}
	}
	for range 2 {
		if err := st.ApplyMessageChanges(ctx, change()); err != nil {
			t.Fatal(err)
		}
	}
	g3, _ = st.GetMessageBySeq(ctx, m3.Seq)
	acts, _ := st.Actions(ctx, m3.Seq)
	if g3.Disposition != "BULK" || !g3.IsQuarantined || len(acts) != 2 {
		t.Errorf("message changes applied twice: %s held %v, actions %+v", g3.Disposition, g3.IsQuarantined, acts)
	}

	// Lease renewal: ours while we hold it, ErrConflict once saved or taken.
	sub := store.Submission{AccountID: a.ID, Type: store.SubmissionTeam, Channel: store.ChannelAPI, MessageSeq: m3.Seq, RawKey: "lease", RequestedDisposition: "SPAM"}
	if _, err := st.CreateSubmission(ctx, &sub); err != nil {
		t.Fatal(err)
	}
	claimed, err := st.ClaimSubmission(ctx, "w1", 50*time.Millisecond)
	if err != nil || claimed.ID != sub.ID {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if err := st.RenewSubmissionLease(ctx, sub.ID, "w2", time.Minute); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another worker renewed our lease: %v", err)
	}
	time.Sleep(30 * time.Millisecond)
	if err := st.RenewSubmissionLease(ctx, sub.ID, "w1", time.Minute); err != nil {
		t.Errorf("renew: %v", err)
	}
	time.Sleep(40 * time.Millisecond) // past the first lease, within the renewed one
	if c, err := st.ClaimSubmission(ctx, "w2", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a renewed lease was taken: %+v %v", c, err)
	}
	claimed.State = store.QueueDone
	if err := st.SaveSubmission(ctx, &claimed); err != nil {
		t.Fatal(err)
	}
	if err := st.RenewSubmissionLease(ctx, sub.ID, "w1", time.Minute); !errors.Is(err, store.ErrConflict) {
		t.Errorf("renewed after saving: %v", err)
	}

	// Submission addresses: per account, unique across accounts, versioned.
	v0, err := st.ReportAddressesVersion(ctx)
	if err != nil || v0 != 0 {
		t.Errorf("version before any write: %d %v", v0, err)
	}
	if err := st.SetReportAddresses(ctx, a.ID, map[string]string{store.AddrTeamSpam: "Spam@Corp.test", store.AddrReport: "phish@corp.test"}); err != nil {
		t.Fatal(err)
	}
	v1, _ := st.ReportAddressesVersion(ctx)
	if v1 == v0 {
		t.Errorf("version unchanged by a write")
	}
	if err := st.SetReportAddresses(ctx, b.ID, map[string]string{store.AddrReport: "spam@corp.test"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("another account took a's address: %v", err)
	}
	if bs, _ := st.ReportAddresses(ctx, b.ID); len(bs) != 0 {
		t.Errorf("a refused write left rows: %+v", bs)
	}
	// Two roles swap addresses in one call.
	if err := st.SetReportAddresses(ctx, a.ID, map[string]string{store.AddrTeamSpam: "phish@corp.test", store.AddrReport: "spam@corp.test"}); err != nil {
		t.Errorf("swap: %v", err)
	}
	if err := st.SetReportAddresses(ctx, b.ID, map[string]string{store.AddrReport: "report@b.test"}); err != nil {
		t.Fatal(err)
	}
	all, _ := st.ReportAddresses(ctx, 0)
	as, _ := st.ReportAddresses(ctx, a.ID)
	if len(all) != 3 || len(as) != 2 || as[0].Role != store.AddrReport || as[0].Address != "spam@corp.test" || as[1].Address != "phish@corp.test" || as[0].UpdatedAt.IsZero() {
		t.Errorf("addresses: all %+v, a %+v", all, as)
	}
	// "" removes a role's address: its default applies again.
	if err := st.SetReportAddresses(ctx, a.ID, map[string]string{store.AddrTeamSpam: ""}); err != nil {
		t.Fatal(err)
	}
	if as, _ := st.ReportAddresses(ctx, a.ID); len(as) != 1 || as[0].Role != store.AddrReport {
		t.Errorf("after removal: %+v", as)
	}
	if v2, _ := st.ReportAddressesVersion(ctx); v2 <= v1 {
		t.Errorf("version %d after %d", v2, v1)
	}
}
