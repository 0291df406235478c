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

// Worker runs jobs.
type Worker struct {
	Store   store.Store
	Actions map[string]Action
	Log     *slog.Logger
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
	if !ok {
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
		results := make(map[int64]string, len(seqs))
		for _, seq := range seqs {
			m, err := w.Store.GetMessageBySeq(ctx, seq)
			if err == nil && m.AccountID != j.AccountID {
				err = store.ErrNotFound
			}
			if err == nil {
				err = action(ctx, j, m)
			}
			if err != nil {
				results[seq] = err.Error()
			} else {
				results[seq] = ""
			}
		}
		if err := w.Store.FinishJobMessages(ctx, j.ID, results); err != nil {
			fail("processing", err)
			return
		}
		if err := w.Store.RenewJobLease(ctx, j.ID, w.id, w.Lease); err != nil {
			log.Warn("bulk: lease renewal", "err", err)
		}
	}
	w.Store.SetJobStatus(ctx, j.ID, store.JobCompleted, "")
	w.Store.Audit(ctx, store.AuditEntry{AccountID: j.AccountID, Actor: j.RequestedBy, Action: "bulk." + j.Action + ".completed", Target: j.ID})
	log.Info("bulk: job completed")
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
