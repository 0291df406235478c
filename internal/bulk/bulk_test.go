package bulk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func seed(t *testing.T, st store.Store, acct int64, n int, disp string) {
	t.Helper()
	for i := 0; i < n; i++ {
		m := &store.Message{ID: fmt.Sprintf("%s%05d-%d", disp, i, acct), AccountID: acct, Subject: "s", FromAddr: "a@example.org",
			ScannedAt: time.Now(), Disposition: disp, DeliveryMode: "DIRECT", DeliveryStatus: store.StatusQuarantined, IsQuarantined: true}
		if err := st.InsertMessage(context.Background(), m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// counter is an action that records how often each message was processed.
type counter struct {
	mu    sync.Mutex
	seen  map[int64]int
	after int    // cancel the worker after this many distinct messages (0: never)
	stop  func() // the cancel
}

func (c *counter) action(ctx context.Context, j store.Job, m store.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[m.Seq]++
	if c.after > 0 && len(c.seen) == c.after {
		c.stop()
	}
	return nil
}

func waitStatus(t *testing.T, st store.Store, acct int64, id, want string) store.Job {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		j, err := st.GetJob(context.Background(), acct, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == want {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s, want %s", id, j.Status, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A job interrupted mid-way (the process stopped) is resumed by a new worker and
// every matching message is processed; other accounts' and other dispositions'
// messages are not touched.
func TestJobSurvivesRestart(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	seed(t, st, a.ID, 2300, "SPAM")
	seed(t, st, a.ID, 50, "NONE")
	seed(t, st, b.ID, 50, "SPAM")
	j := store.Job{ID: "job1", AccountID: a.ID, Action: "RELEASE", SearchParams: []byte(`{"final_disposition":"SPAM"}`), RequestedBy: "t"}
	if err := st.CreateJob(ctx, &j); err != nil {
		t.Fatal(err)
	}
	c := &counter{seen: map[int64]int{}, after: 700}
	ctx1, cancel1 := context.WithCancel(ctx)
	c.stop = cancel1
	w1 := New(st, map[string]Action{"RELEASE": c.action}, quiet())
	w1.Batch, w1.Lease = 100, 50*time.Millisecond
	w1.Run(ctx1) // returns once the action cancels it: a crash mid-job
	mid, _ := st.GetJob(ctx, a.ID, "job1")
	if mid.Status != store.JobProcessing || mid.Discovered != 2300 || mid.Successful >= 2300 {
		t.Fatalf("after the interruption: %+v", mid)
	}
	time.Sleep(60 * time.Millisecond) // the old lease expires
	c.after = 0
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	w2 := New(st, map[string]Action{"RELEASE": c.action}, quiet())
	go w2.Run(ctx2)
	done := waitStatus(t, st, a.ID, "job1", store.JobCompleted)
	if done.Discovered != 2300 || done.Successful != 2300 || done.Failed != 0 || done.Pending() != 0 {
		t.Errorf("final counters: %+v", done)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.seen) != 2300 {
		t.Errorf("processed %d distinct messages, want 2300", len(c.seen))
	}
	// At-least-once: only the batch in flight at the crash may repeat.
	again := 0
	for _, n := range c.seen {
		if n > 1 {
			again++
		}
	}
	if again > w1.Batch {
		t.Errorf("%d messages processed twice, more than one batch", again)
	}
	msgs, total, err := st.JobMessages(ctx, a.ID, "job1", 0, 10)
	if err != nil || total != 2300 || len(msgs) != 10 || msgs[0].Status != "success" {
		t.Errorf("job messages: %d %v %v", total, msgs, err)
	}
	if _, _, err := st.JobMessages(ctx, b.ID, "job1", 0, 10); err != store.ErrNotFound {
		t.Errorf("another account sees the job: %v", err)
	}
}

func TestCancelAndDelete(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	seed(t, st, a.ID, 300, "SPAM")
	j := store.Job{ID: "job2", AccountID: a.ID, Action: "RELEASE", SearchParams: []byte(`{}`)}
	st.CreateJob(ctx, &j)
	if err := st.DeleteJob(ctx, a.ID, "job2"); err != store.ErrConflict {
		t.Errorf("deleting a pending job: %v", err)
	}
	if got, err := st.RequestCancel(ctx, a.ID, "job2"); err != nil || got.Status != store.JobCancelled {
		t.Errorf("cancel pending: %+v %v", got, err)
	}
	// A running job stops at the next batch.
	j3 := store.Job{ID: "job3", AccountID: a.ID, Action: "RELEASE", SearchParams: []byte(`{}`)}
	st.CreateJob(ctx, &j3)
	var once sync.Once
	cancelFirst := func(ctx context.Context, j store.Job, m store.Message) error {
		once.Do(func() { st.RequestCancel(ctx, a.ID, "job3") })
		return nil
	}
	w := New(st, map[string]Action{"RELEASE": cancelFirst}, quiet())
	w.Batch = 50
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	go w.Run(ctx2)
	got := waitStatus(t, st, a.ID, "job3", store.JobCancelled)
	if got.Successful >= 300 {
		t.Errorf("cancelled job processed everything: %+v", got)
	}
	if err := st.DeleteJob(ctx, a.ID, "job3"); err != nil {
		t.Errorf("delete finished job: %v", err)
	}
	if _, err := st.GetJob(ctx, a.ID, "job3"); err != store.ErrNotFound {
		t.Errorf("after delete: %v", err)
	}
	// An unknown action fails the job with a reason.
	j4 := store.Job{ID: "job4", AccountID: a.ID, Action: "MOVE", SearchParams: []byte(`{}`)}
	st.CreateJob(ctx, &j4)
	w.Wake()
	if got := waitStatus(t, st, a.ID, "job4", store.JobFailed); got.StatusMessage == "" {
		t.Errorf("failed job has no reason")
	}
}

// A batched job interrupted mid-batch (the process stopped before the batch
// committed) is resumed by a new worker: every message is done, and each
// message's writes are in exactly once although its batch was computed twice.
func TestBatchSurvivesRestart(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	seed(t, st, a.ID, 1000, "SPAM")
	j := store.Job{ID: "bjob", AccountID: a.ID, Action: "RELEASE", SearchParams: []byte(`{"final_disposition":"SPAM"}`), RequestedBy: "t"}
	if err := st.CreateJob(ctx, &j); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	computed := map[int64]int{}
	batches := 0
	var stop func()
	action := func(ctx context.Context, j store.Job, msgs []store.Message) []store.JobItem {
		mu.Lock()
		defer mu.Unlock()
		batches++
		items := make([]store.JobItem, len(msgs))
		for i, m := range msgs {
			computed[m.Seq]++
			items[i] = store.JobItem{MessageSeq: m.Seq, Release: []string{"bob@corp.test"},
				Actions: []store.Action{{Operation: "RELEASE", Status: "queued", RequestedBy: "t"}}}
		}
		if batches == 3 && stop != nil {
			stop() // the crash: this batch is computed but never committed
		}
		return items
	}
	ctx1, cancel1 := context.WithCancel(ctx)
	stop = cancel1
	w1 := New(st, nil, quiet())
	w1.Batches = map[string]BatchAction{"RELEASE": action}
	w1.Batch, w1.Lease = 100, 50*time.Millisecond
	w1.Run(ctx1)
	mid, _ := st.GetJob(ctx, a.ID, "bjob")
	if mid.Successful != 200 {
		t.Fatalf("after the interruption: %d done, want the 2 batches before it (200)", mid.Successful)
	}
	time.Sleep(60 * time.Millisecond) // the old lease expires
	mu.Lock()
	stop = nil
	mu.Unlock()
	ctx2, cancel2 := context.WithCancel(ctx)
	defer cancel2()
	w2 := New(st, nil, quiet())
	w2.Batches = map[string]BatchAction{"RELEASE": action}
	w2.Batch = 100
	go w2.Run(ctx2)
	done := waitStatus(t, st, a.ID, "bjob", store.JobCompleted)
	if done.Successful != 1000 || done.Failed != 0 {
		t.Errorf("final counters: %+v", done)
	}
	mu.Lock()
	twice := 0
	for _, n := range computed {
		if n > 1 {
			twice++
		}
	}
	mu.Unlock()
	if twice != 100 {
		t.Errorf("%d messages computed twice, want the interrupted batch (100)", twice)
	}
	var actions, queued int
	st.DB().QueryRow(`SELECT count(*) FROM action_log WHERE operation = 'RELEASE'`).Scan(&actions)
	st.DB().QueryRow(`SELECT count(*) FROM messages WHERE delivery_status = 'queued' AND is_quarantined = 0`).Scan(&queued)
	if actions != 1000 || queued != 1000 {
		t.Errorf("%d RELEASE actions and %d released messages, want 1000 each (exactly once)", actions, queued)
	}
}
