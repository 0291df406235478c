// Package bulk runs bulk jobs (Cloudflare's investigate/bulk): a job discovers the
// messages an investigate search finds, then applies its action to each in
// batches. All progress is in the store, so a job survives restarts and several
// workers can share the queue (jobs are leased).
package bulk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Action applies a job's action to one message; an error fails that message only.
type Action func(ctx context.Context, j store.Job, m store.Message) error

// BatchAction computes the writes of a job's action for a batch of messages,
// reading only: one item per message (Error set for a message that fails). The
// worker commits the items with the messages' outcomes in one transaction
// (store.FinishJobBatch), so a batch is applied once even when a restart
// interrupts it. Side effects outside the store must be idempotent.
type BatchAction func(ctx context.Context, j store.Job, msgs []store.Message) []store.JobItem

// Worker runs jobs.
type Worker struct {
	Store   store.Store
	Actions map[string]Action
	// Batches are batched actions; one named here is used instead of Actions'.
	Batches map[string]BatchAction
	// Committed, when set, is called after each committed batch (to wake the relay).
	Committed func(j store.Job)
	Log       *slog.Logger
	// Batch is how many messages are discovered or processed per transaction.
	Batch int
	// Lease is how long a claimed job is ours without renewal.
	Lease time.Duration

	id   string
	wake chan struct{}
}

// New returns a worker with its actions.
func New(st store.Store, actions map[string]Action, log *slog.Logger) *Worker {
	host, _ := os.Hostname()
	return &Worker{Store: st, Actions: actions, Log: log, Batch: 500, Lease: time.Minute,
		id: fmt.Sprintf("%s-%d-%d", host, os.Getpid(), time.Now().UnixNano()), wake: make(chan struct{}, 1)}
}

// Wake makes the worker look for jobs now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			j, err := w.Store.ClaimJob(ctx, w.id, w.Lease)
			if errors.Is(err, store.ErrNotFound) {
				break
			}
			if err != nil {
				w.Log.Error("bulk: claim", "err", err)
				break
			}
			w.run(ctx, j)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wake:
		}
	}
}

func (w *Worker) run(ctx context.Context, j store.Job) {
	log := w.Log.With("job", j.ID, "action", j.Action)
	fail := func(msg string, err error) {
		log.Error("bulk: "+msg, "err", err)
		w.Store.SetJobStatus(ctx, j.ID, store.JobFailed, msg+": "+err.Error())
	}
	action, ok := w.Actions[j.Action]
	batchAction, batched := w.Batches[j.Action]
	if !ok && !batched {
		fail("unsupported action", fmt.Errorf("%q", j.Action))
		return
	}
	q, err := api.SearchParamsQuery(j.SearchParams)
	if err != nil {
		fail("search_params", err)
		return
	}
	batch := max(w.Batch, 1)
	if j.Status == store.JobPending {
		j.Status = store.JobDiscovering
		w.Store.SetJobStatus(ctx, j.ID, j.Status, "")
	}
	// Discovery: walk the search newest first by cursor, resuming where we stopped.
	if j.Status == store.JobDiscovering {
		cursor := j.DiscoverCursor
		for {
			if w.cancelled(ctx, j) {
				return
			}
			q.Cursor, q.Limit = cursor, batch*4
			page, err := w.Store.Search(ctx, j.AccountID, q)
			if err != nil {
				fail("discovery", err)
				return
			}
			seqs := make([]int64, len(page.Messages))
			for i, m := range page.Messages {
				seqs[i] = m.Seq
			}
			next := page.NextCursor
			if next == 0 {
				next = -1 // done
			}
			if err := w.Store.AddJobMessages(ctx, j.ID, seqs, next); err != nil {
				fail("discovery", err)
				return
			}
			if page.NextCursor == 0 {
				break
			}
			cursor = page.NextCursor
		}
		j.Status = store.JobProcessing
		w.Store.SetJobStatus(ctx, j.ID, j.Status, "")
	}
	for {
		if w.cancelled(ctx, j) {
			return
		}
		seqs, err := w.Store.PendingJobMessages(ctx, j.ID, batch)
		if err != nil {
			fail("processing", err)
			return
		}
		if len(seqs) == 0 {
			break
		}
		if batched {
			err = w.batch(ctx, j, seqs, batchAction)
		} else {
			err = w.each(ctx, j, seqs, action)
		}
		if err != nil {
			fail("processing", err)
			return
		}
		if w.Committed != nil {
			w.Committed(j)
		}
		if err := w.Store.RenewJobLease(ctx, j.ID, w.id, w.Lease); err != nil {
			log.Warn("bulk: lease renewal", "err", err)
		}
	}
	w.Store.SetJobStatus(ctx, j.ID, store.JobCompleted, "")
	w.Store.Audit(ctx, store.AuditEntry{AccountID: j.AccountID, Actor: j.RequestedBy, Action: "bulk." + j.Action + ".completed", Target: j.ID})
	log.Info("bulk: job completed")
}

// each applies a per-message action and records the outcomes.
func (w *Worker) each(ctx context.Context, j store.Job, seqs []int64, action Action) error {
	results := make(map[int64]string, len(seqs))
	for _, seq := range seqs {
		m, err := w.message(ctx, j, seq)
		if err == nil {
			err = action(ctx, j, m)
		}
		if err != nil {
			results[seq] = err.Error()
		} else {
			results[seq] = ""
		}
	}
	return w.Store.FinishJobMessages(ctx, j.ID, results)
}

// batch applies a batched action: its writes and the outcomes in one transaction.
func (w *Worker) batch(ctx context.Context, j store.Job, seqs []int64, action BatchAction) error {
	var msgs []store.Message
	var items []store.JobItem
	for _, seq := range seqs {
		m, err := w.message(ctx, j, seq)
		if err != nil {
			items = append(items, store.JobItem{MessageSeq: seq, Error: err.Error()})
			continue
		}
		msgs = append(msgs, m)
	}
	if len(msgs) > 0 {
		got := action(ctx, j, msgs)
		if len(got) != len(msgs) {
			return fmt.Errorf("bulk: %s gave %d results for %d messages", j.Action, len(got), len(msgs))
		}
		items = append(items, got...)
	}
	if ctx.Err() != nil {
		return nil // shutting down: the batch is done again after the restart
	}
	return w.Store.FinishJobBatch(ctx, j.ID, items)
}

func (w *Worker) message(ctx context.Context, j store.Job, seq int64) (store.Message, error) {
	m, err := w.Store.GetMessageBySeq(ctx, seq)
	if err == nil && m.AccountID != j.AccountID {
		err = store.ErrNotFound
	}
	return m, err
}

// cancelled checks for a cancel request and finishes the job if there is one.
func (w *Worker) cancelled(ctx context.Context, j store.Job) bool {
	if ctx.Err() != nil {
		return true // shutting down: the lease expires and a worker resumes
	}
	cur, err := w.Store.GetJob(ctx, j.AccountID, j.ID)
	if err != nil || !cur.CancelRequested {
		return false
	}
	w.Store.SetJobStatus(ctx, j.ID, store.JobCancelled, "cancelled on request")
	return true
}
