package store

import (
	"context"
	"time"
)

// Bulk job statuses as Cloudflare names them.
const (
	JobPending     = "PENDING"
	JobDiscovering = "DISCOVERING"
	JobProcessing  = "PROCESSING"
	JobCompleted   = "COMPLETED"
	JobFailed      = "FAILED"
	JobCancelled   = "CANCELLED"
)

// JobFinished reports whether a job status is final.
func JobFinished(status string) bool {
	return status == JobCompleted || status == JobFailed || status == JobCancelled
}

// Job is a bulk action over the messages a search finds.
type Job struct {
	ID                  string
	AccountID           int64
	Action              string // RELEASE, RECLASSIFY, MOVE
	Status              string
	StatusMessage       string
	SearchParams        []byte // JSON object of investigate filters
	ExpectedDisposition string
	Destination         string
	Comment             string
	RequestedBy         string
	Discovered          int
	Successful          int
	Failed              int
	// DiscoverCursor is the seq below which discovery continues after a restart.
	DiscoverCursor  int64
	CancelRequested bool
	CreatedAt       time.Time
	StartedAt       time.Time
	CompletedAt     time.Time
}

// Pending is how many discovered messages are not done yet.
func (j Job) Pending() int { return max(j.Discovered-j.Successful-j.Failed, 0) }

// JobMessage is one message of a job and its outcome.
type JobMessage struct {
	MessageSeq int64
	MessageID  string
	Status     string // pending, success, failed
	Error      string
	UpdatedAt  time.Time
}

// Jobs keeps bulk jobs durably so they survive restarts.
type Jobs interface {
	CreateJob(ctx context.Context, j *Job) error
	GetJob(ctx context.Context, accountID int64, id string) (Job, error)
	ListJobs(ctx context.Context, accountID int64, offset, limit int) ([]Job, int, error)
	DeleteJob(ctx context.Context, accountID int64, id string) error
	RequestCancel(ctx context.Context, accountID int64, id string) (Job, error)
	// ClaimJob returns an unfinished job not leased by another worker (lease until
	// now+lease), or ErrNotFound.
	ClaimJob(ctx context.Context, worker string, lease time.Duration) (Job, error)
	// RenewJobLease extends our lease on a job we hold.
	RenewJobLease(ctx context.Context, jobID, worker string, lease time.Duration) error
	// AddJobMessages records discovered messages and the discovery cursor.
	AddJobMessages(ctx context.Context, jobID string, seqs []int64, cursor int64) error
	// PendingJobMessages returns up to limit messages of the job still to do.
	PendingJobMessages(ctx context.Context, jobID string, limit int) ([]int64, error)
	// FinishJobMessages records outcomes (seq → "" for success or the error text).
	FinishJobMessages(ctx context.Context, jobID string, results map[int64]string) error
	// SetJobStatus moves a job to a status (and stamps started/completed times).
	SetJobStatus(ctx context.Context, jobID, status, message string) error
	JobMessages(ctx context.Context, accountID int64, jobID string, offset, limit int) ([]JobMessage, int, error)

	// Added for issue 6 (bulk actions batched; ported by each implementation).

	// FinishJobBatch applies the writes of one batch of a job and records each
	// message's outcome with the job's counters, all in one transaction. A
	// message no longer pending in the job (finished before a restart) is
	// skipped with its writes, so a batch is applied exactly once however often
	// a worker retries it.
	FinishJobBatch(ctx context.Context, jobID string, items []JobItem) error
}

// JobItem is one message's outcome in a batch of a bulk job and the writes that
// go with it (FinishJobBatch). The writes are applied in this order.
type JobItem struct {
	MessageSeq int64
	Error      string // "" for success; a failed message gets no writes

	// Disposition, when set, becomes the message's disposition with Triggers
	// (as SetDisposition).
	Disposition string
	Triggers    []byte
	// Release queues these recipients for delivery (those not already queued
	// or delivered) and clears the quarantine flag (as QueueDeliveries).
	Release []string
	// Hold quarantines the message if it is not delivered yet (as HoldMessage).
	Hold bool
	// IfChanged writes the rest (submission, actions, trace, audit) only when
	// Disposition, Release or Hold changed the message: redoing an item whose
	// change is in already adds no second log entry.
	IfChanged bool
	// Submission, when set, is inserted as given (ID set when empty; Seq set).
	Submission *Submission
	Actions    []Action
	Trace      []TraceLine
	Audit      []AuditEntry
}
