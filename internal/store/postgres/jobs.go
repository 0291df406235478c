package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

func scanJob(row pgx.Row) (store.Job, error) {
	v, err := sqlcommon.ScanJob(row)
	return v, notFound(err)
}

// CreateJob stores a new PENDING job.
func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	if j.Status == "" {
		j.Status = store.JobPending
	}
	j.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	_, err := s.db.Exec(ctx, `INSERT INTO bulk_jobs(id, account_id, action, status, search_params, expected_disposition, destination, comment, requested_by, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, j.ID, j.AccountID, j.Action, j.Status, sqlcommon.NonEmpty(j.SearchParams, "{}"), j.ExpectedDisposition, j.Destination, j.Comment, j.RequestedBy, sqlcommon.MS(j.CreatedAt))
	if err != nil {
		return fmt.Errorf("postgres: create job: %w", err)
	}
	return nil
}

// GetJob returns a job of the account.
func (s *Store) GetJob(ctx context.Context, accountID int64, id string) (store.Job, error) {
	return scanJob(s.db.QueryRow(ctx, `SELECT `+sqlcommon.JobCols+` FROM bulk_jobs WHERE account_id = $1 AND id = $2`, accountID, id))
}

// ListJobs lists the account's jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, accountID int64, offset, limit int) ([]store.Job, int, error) {
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM bulk_jobs WHERE account_id = $1`, accountID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+sqlcommon.JobCols+` FROM bulk_jobs WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, accountID, sqlLimit(limit), max(offset, 0))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, sqlcommon.ScanJob, total)
}

// DeleteJob deletes a finished job; ErrConflict for one still running.
func (s *Store) DeleteJob(ctx context.Context, accountID int64, id string) error {
	j, err := s.GetJob(ctx, accountID, id)
	if err != nil {
		return err
	}
	if !store.JobFinished(j.Status) {
		return store.ErrConflict
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM bulk_job_messages WHERE job_id = $1`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM bulk_jobs WHERE id = $1`, id)
		return err
	})
}

// RequestCancel marks a job for cancellation; a PENDING job is cancelled at once.
func (s *Store) RequestCancel(ctx context.Context, accountID int64, id string) (store.Job, error) {
	tag, err := s.db.Exec(ctx, `UPDATE bulk_jobs SET cancel_requested = true,
		status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END,
		completed_at = CASE WHEN status = 'PENDING' THEN $1 ELSE completed_at END
		WHERE account_id = $2 AND id = $3 AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`, time.Now().UnixMilli(), accountID, id)
	if err != nil {
		return store.Job{}, err
	}
	j, err := s.GetJob(ctx, accountID, id)
	if err != nil {
		return j, err
	}
	if tag.RowsAffected() == 0 {
		return j, store.ErrConflict
	}
	return j, nil
}

// ClaimJob leases the oldest unfinished job whose lease has expired or is ours.
// A job another node is claiming at this moment is skipped, not waited for.
func (s *Store) ClaimJob(ctx context.Context, worker string, lease time.Duration) (store.Job, error) {
	now := time.Now()
	return scanJob(s.db.QueryRow(ctx, `UPDATE bulk_jobs SET lease_owner = $1, lease_until = $2
		WHERE id = (SELECT id FROM bulk_jobs WHERE status IN ('PENDING', 'DISCOVERING', 'PROCESSING')
			AND (lease_until < $3 OR lease_owner = $1) ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+sqlcommon.JobCols, worker, now.Add(lease).UnixMilli(), now.UnixMilli()))
}

// RenewJobLease extends the lease of a job we hold.
func (s *Store) RenewJobLease(ctx context.Context, jobID, worker string, lease time.Duration) error {
	_, err := s.db.Exec(ctx, `UPDATE bulk_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3`, time.Now().Add(lease).UnixMilli(), jobID, worker)
	return err
}

// AddJobMessages records discovered messages and moves the discovery cursor.
func (s *Store) AddJobMessages(ctx context.Context, jobID string, seqs []int64, cursor int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if seqs == nil {
			seqs = []int64{}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO bulk_job_messages(job_id, message_seq) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, jobID, seqs)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE bulk_jobs SET discovered = discovered + $1, discover_cursor = $2 WHERE id = $3`, tag.RowsAffected(), cursor, jobID)
		return err
	})
}

// PendingJobMessages returns messages of the job still to do, in order.
func (s *Store) PendingJobMessages(ctx context.Context, jobID string, limit int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT message_seq FROM bulk_job_messages WHERE job_id = $1 AND status = 'pending' ORDER BY message_seq DESC LIMIT $2`, jobID, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// FinishJobMessages records outcomes and the job's counters in one transaction.
func (s *Store) FinishJobMessages(ctx context.Context, jobID string, results map[int64]string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		now := time.Now().UnixMilli()
		ok, failed := 0, 0
		for seq, errText := range results {
			done, err := finishJobMessage(ctx, tx, jobID, seq, errText, now)
			if err != nil {
				return err
			}
			if !done {
				continue // done before a restart: counted already
			}
			if errText == "" {
				ok++
			} else {
				failed++
			}
		}
		_, err := tx.Exec(ctx, `UPDATE bulk_jobs SET successful = successful + $1, failed = failed + $2 WHERE id = $3`, ok, failed, jobID)
		return err
	})
}

// finishJobMessage records one outcome; false when the message was no longer pending.
func finishJobMessage(ctx context.Context, tx pgx.Tx, jobID string, seq int64, errText string, now int64) (bool, error) {
	status := "success"
	if errText != "" {
		status = "failed"
	}
	tag, err := tx.Exec(ctx, `UPDATE bulk_job_messages SET status = $1, error = $2, updated_at = $3 WHERE job_id = $4 AND message_seq = $5 AND status = 'pending'`,
		status, errText, now, jobID, seq)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// SetJobStatus moves a job to status, stamping start and completion.
func (s *Store) SetJobStatus(ctx context.Context, jobID, status, message string) error {
	_, err := s.db.Exec(ctx, `UPDATE bulk_jobs SET status = $1::text, status_message = $2,
		started_at = CASE WHEN started_at = 0 AND $1::text <> 'PENDING' THEN $3 ELSE started_at END,
		completed_at = CASE WHEN $1::text IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN $3 ELSE completed_at END,
		lease_until = CASE WHEN $1::text IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN 0 ELSE lease_until END
		WHERE id = $4`, status, message, time.Now().UnixMilli(), jobID)
	return err
}

// JobMessages lists a job's messages with their outcome.
func (s *Store) JobMessages(ctx context.Context, accountID int64, jobID string, offset, limit int) ([]store.JobMessage, int, error) {
	if _, err := s.GetJob(ctx, accountID, jobID); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM bulk_job_messages WHERE job_id = $1`, jobID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT j.message_seq, coalesce(m.id, ''), j.status, j.error, j.updated_at FROM bulk_job_messages j
		LEFT JOIN messages m ON m.seq = j.message_seq WHERE j.job_id = $1 ORDER BY j.message_seq DESC LIMIT $2 OFFSET $3`, jobID, sqlLimit(limit), max(offset, 0))
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, sqlcommon.ScanJobMessage, total)
}

// FinishJobBatch applies a batch's writes and outcomes in one transaction.
func (s *Store) FinishJobBatch(ctx context.Context, jobID string, items []store.JobItem) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		now := time.Now()
		ok, failed := 0, 0
		for i := range items {
			it := &items[i]
			done, err := finishJobMessage(ctx, tx, jobID, it.MessageSeq, it.Error, now.UnixMilli())
			if err != nil {
				return fmt.Errorf("postgres: job batch: %w", err)
			}
			if !done {
				continue // done before a restart: its writes are in already
			}
			if it.Error != "" {
				failed++
				continue
			}
			ok++
			if err := applyJobItem(ctx, tx, it, now); err != nil {
				return fmt.Errorf("postgres: job batch: message %d: %w", it.MessageSeq, err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE bulk_jobs SET successful = successful + $1, failed = failed + $2 WHERE id = $3`, ok, failed, jobID); err != nil {
			return fmt.Errorf("postgres: job batch: %w", err)
		}
		return nil
	})
}

// applyJobItem makes one message's writes of a batch, with the same SQL as
// SetDisposition, QueueDeliveries, HoldMessage, CreateSubmission, AddAction,
// AddTrace and Audit.
func applyJobItem(ctx context.Context, tx pgx.Tx, it *store.JobItem, now time.Time) error {
	return sqlcommon.ApplyJobItem(itemTx{ctx, tx}, it, now)
}

// itemTx makes a JobItem's writes in tx (sqlcommon.JobItemWriter).
type itemTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (w itemTx) SetDisposition(seq int64, disposition string, triggers []byte) (bool, error) {
	return setDispositionTx(w.ctx, w.tx, seq, disposition, triggers)
}

func (w itemTx) QueueDeliveries(seq int64, recipients []string) error {
	_, err := queueDeliveries(w.ctx, w.tx, seq, recipients)
	return err
}

func (w itemTx) Hold(seq int64) (bool, error) { return holdMessageTx(w.ctx, w.tx, seq) }

func (w itemTx) InsertSubmission(sub *store.Submission) error {
	return insertSubmission(w.ctx, w.tx, sub)
}

func (w itemTx) AddAction(seq int64, a store.Action) error { return addAction(w.ctx, w.tx, seq, a) }

func (w itemTx) AddTrace(seq int64, t store.TraceLine) error {
	_, err := w.tx.Exec(w.ctx, `INSERT INTO trace(message_seq, direction, logged_at, line) VALUES ($1, $2, $3, $4)`, seq, t.Direction, t.LoggedAt.UnixMilli(), t.Line)
	return err
}

func (w itemTx) Audit(e store.AuditEntry) error { return audit(w.ctx, w.tx, e) }

// ApplyMessageChanges makes the items' writes in one transaction.
func (s *Store) ApplyMessageChanges(ctx context.Context, items []store.JobItem) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		now := time.Now()
		for i := range items {
			if err := applyJobItem(ctx, tx, &items[i], now); err != nil {
				return fmt.Errorf("postgres: message changes: message %d: %w", items[i].MessageSeq, err)
			}
		}
		return nil
	})
}
