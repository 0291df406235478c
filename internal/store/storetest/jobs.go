package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testJobs covers the bulk job queue: creation and listing, leases, discovery,
// outcomes counted once, status stamps, cancel and delete.
func testJobs(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	var seqs []int64
	for _, id := range []string{"j1", "j2", "j3"} {
		m := msg(a.ID, id, "s", "x@example.org", nil, "SPAM", time.Now())
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	j1 := store.Job{ID: "job-1", AccountID: a.ID, Action: "RELEASE", SearchParams: []byte(`{"query":"x"}`), RequestedBy: "token:mw_a"}
	if err := st.CreateJob(ctx, &j1); err != nil {
		t.Fatal(err)
	}
	if j1.Status != store.JobPending || j1.CreatedAt.IsZero() {
		t.Fatalf("created: %+v", j1)
	}
	time.Sleep(2 * time.Millisecond)
	j2 := store.Job{ID: "job-2", AccountID: a.ID, Action: "MOVE", Destination: "Inbox"}
	if err := st.CreateJob(ctx, &j2); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetJob(ctx, a.ID, "job-1"); err != nil || string(got.SearchParams) != `{"query":"x"}` || got.RequestedBy != "token:mw_a" || got.Action != "RELEASE" {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := st.GetJob(ctx, b.ID, "job-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another account's job: %v", err)
	}
	if l, total, err := st.ListJobs(ctx, a.ID, 0, 10); err != nil || total != 2 || len(l) != 2 || l[0].ID != "job-2" {
		t.Errorf("list, newest first: %d %v %v", total, l, err)
	}
	if l, total, _ := st.ListJobs(ctx, a.ID, 1, 10); total != 2 || len(l) != 1 || l[0].ID != "job-1" {
		t.Errorf("list offset 1: %v", l)
	}

	// A pending job cancelled before it starts is cancelled at once.
	if c, err := st.RequestCancel(ctx, a.ID, "job-2"); err != nil || c.Status != store.JobCancelled || !c.CancelRequested || c.CompletedAt.IsZero() {
		t.Errorf("cancel pending: %+v %v", c, err)
	}
	if _, err := st.RequestCancel(ctx, a.ID, "job-2"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("cancel a finished job: %v", err)
	}

	// Leases: the oldest open job goes to w1; w2 finds nothing while w1 holds it.
	c, err := st.ClaimJob(ctx, "w1", time.Minute)
	if err != nil || c.ID != "job-1" {
		t.Fatalf("claim: %+v %v", c, err)
	}
	if _, err := st.ClaimJob(ctx, "w2", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a leased job claimed by another worker: %v", err)
	}
	if c, err := st.ClaimJob(ctx, "w1", time.Minute); err != nil || c.ID != "job-1" {
		t.Errorf("its holder claims it again (restart): %v %v", c.ID, err)
	}
	if err := st.RenewJobLease(ctx, "job-1", "w1", -time.Second); err != nil {
		t.Fatal(err)
	}
	if c, err := st.ClaimJob(ctx, "w2", time.Minute); err != nil || c.ID != "job-1" {
		t.Errorf("a run-out lease is taken over: %v %v", c.ID, err)
	}

	// Discovery and outcomes.
	if err := st.SetJobStatus(ctx, "job-1", store.JobDiscovering, ""); err != nil {
		t.Fatal(err)
	}
	if err := st.AddJobMessages(ctx, "job-1", seqs[:2], seqs[0]); err != nil {
		t.Fatal(err)
	}
	if err := st.AddJobMessages(ctx, "job-1", seqs[1:], 0); err != nil { // seqs[1] again: counted once
		t.Fatal(err)
	}
	got, _ := st.GetJob(ctx, a.ID, "job-1")
	if got.Discovered != 3 || got.DiscoverCursor != 0 || got.StartedAt.IsZero() || got.Status != store.JobDiscovering {
		t.Errorf("after discovery: %+v", got)
	}
	pend, err := st.PendingJobMessages(ctx, "job-1", 2)
	if err != nil || !slices.Equal(pend, []int64{seqs[2], seqs[1]}) {
		t.Errorf("pending, newest first: %v %v", pend, err)
	}
	if err := st.FinishJobMessages(ctx, "job-1", map[int64]string{seqs[2]: "", seqs[1]: "boom"}); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishJobMessages(ctx, "job-1", map[int64]string{seqs[2]: ""}); err != nil { // a retry counts nothing
		t.Fatal(err)
	}
	got, _ = st.GetJob(ctx, a.ID, "job-1")
	if got.Successful != 1 || got.Failed != 1 || got.Pending() != 1 {
		t.Errorf("counters: %+v", got)
	}
	if pend, _ := st.PendingJobMessages(ctx, "job-1", 10); !slices.Equal(pend, []int64{seqs[0]}) {
		t.Errorf("pending after outcomes: %v", pend)
	}
	jm, total, err := st.JobMessages(ctx, a.ID, "job-1", 0, 2)
	if err != nil || total != 3 || len(jm) != 2 || jm[0].MessageID != "j3" || jm[0].Status != "success" || jm[1].Status != "failed" || jm[1].Error != "boom" {
		t.Errorf("job messages: %d %+v %v", total, jm, err)
	}
	if _, _, err := st.JobMessages(ctx, b.ID, "job-1", 0, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another account's job messages: %v", err)
	}
	if err := st.DeleteJob(ctx, a.ID, "job-1"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("delete a running job: %v", err)
	}
	if err := st.SetJobStatus(ctx, "job-1", store.JobCompleted, "done"); err != nil {
		t.Fatal(err)
	}
	got, _ = st.GetJob(ctx, a.ID, "job-1")
	if got.Status != store.JobCompleted || got.StatusMessage != "done" || got.CompletedAt.IsZero() {
		t.Errorf("completed: %+v", got)
	}
	if _, err := st.ClaimJob(ctx, "w3", time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a finished job claimed: %v", err)
	}
	if err := st.DeleteJob(ctx, a.ID, "job-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetJob(ctx, a.ID, "job-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted job: %v", err)
	}
}
