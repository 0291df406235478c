package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

func scanJob(row interface{ Scan(...any) error }) (store.Job, error) {
	v, err := sqlcommon.ScanJob(row)
	return v, notFound(err)
}

// CreateJob stores a new PENDING job.
func (s *Store) CreateJob(ctx context.Context, j *store.Job) error {
	if j.Status == "" {
		j.Status = store.JobPending
	}
	j.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	_, err := s.db.ExecContext(ctx, `INSERT INTO bulk_jobs(id, account_id, action, status, search_params, expected_disposition, destination, comment, requested_by, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, j.ID, j.AccountID, j.Action, j.Status, sqlcommon.NonEmpty(j.SearchParams, "{}"), j.ExpectedDisposition, j.Destination, j.Comment, j.RequestedBy, sqlcommon.MS(j.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlite: create job: %w", err)
	}
	return nil
}

// GetJob returns a job of the account.
func (s *Store) GetJob(ctx context.Context, accountID int64, id string) (store.Job, error) {
	return scanJob(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.JobCols+` FROM bulk_jobs WHERE account_id = ? AND id = ?`, accountID, id))
}

// ListJobs lists the account's jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, accountID int64, offset, limit int) ([]store.Job, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM bulk_jobs WHERE account_id = ?`, accountID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.JobCols+` FROM bulk_jobs WHERE account_id = ? ORDER BY created_at DESC, id LIMIT ? OFFSET ?`, accountID, limit, offset)
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
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM bulk_job_messages WHERE job_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM bulk_jobs WHERE id = ?`, id); err != nil {
		return err
	}
	return tx.Commit()
}

// RequestCancel marks a job for cancellation; a PENDING job is cancelled at once.
func (s *Store) RequestCancel(ctx context.Context, accountID int64, id string) (store.Job, error) {
	now := time.Now().UnixMilli()
	res, err := s.db.ExecContext(ctx, `UPDATE bulk_jobs SET cancel_requested = 1,
		status = CASE WHEN status = 'PENDING' THEN 'CANCELLED' ELSE status END,
		completed_at = CASE WHEN status = 'PENDING' THEN ? ELSE completed_at END
		WHERE account_id = ? AND id = ? AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`, now, accountID, id)
	if err != nil {
		return store.Job{}, err
	}
	j, err := s.GetJob(ctx, accountID, id)
	if err != nil {
		return j, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return j, store.ErrConflict
	}
	return j, nil
}

// ClaimJob leases the oldest unfinished job whose lease has expired or is ours.
func (s *Store) ClaimJob(ctx context.Context, worker string, lease time.Duration) (store.Job, error) {
	now := time.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return store.Job{}, err
	}
	defer tx.Rollback()
	j, err := scanJob(tx.QueryRowContext(ctx, `SELECT `+sqlcommon.JobCols+` FROM bulk_jobs WHERE status IN ('PENDING', 'DISCOVERING', 'PROCESSING')
		AND (lease_until < ? OR lease_owner = ?) ORDER BY created_at LIMIT 1`, now.UnixMilli(), worker))
	if err != nil {
		return j, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET lease_owner = ?, lease_until = ? WHERE id = ?`, worker, now.Add(lease).UnixMilli(), j.ID); err != nil {
		return j, err
	}
	return j, tx.Commit()
}

// RenewJobLease extends the lease of a job we hold.
func (s *Store) RenewJobLease(ctx context.Context, jobID, worker string, lease time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE bulk_jobs SET lease_until = ? WHERE id = ? AND lease_owner = ?`, time.Now().Add(lease).UnixMilli(), jobID, worker)
	return err
}

// AddJobMessages records discovered messages and moves the discovery cursor.
func (s *Store) AddJobMessages(ctx context.Context, jobID string, seqs []int64, cursor int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO bulk_job_messages(job_id, message_seq) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	added := 0
	for _, seq := range seqs {
		res, err := stmt.ExecContext(ctx, jobID, seq)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET discovered = discovered + ?, discover_cursor = ? WHERE id = ?`, added, cursor, jobID); err != nil {
		return err
	}
	return tx.Commit()
}

// PendingJobMessages returns messages of the job still to do, in order.
func (s *Store) PendingJobMessages(ctx context.Context, jobID string, limit int) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT message_seq FROM bulk_job_messages WHERE job_id = ? AND status = 'pending' ORDER BY message_seq DESC LIMIT ?`, jobID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

// FinishJobMessages records outcomes and the job's counters in one transaction.
func (s *Store) FinishJobMessages(ctx context.Context, jobID string, results map[int64]string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UnixMilli()
	ok, failed := 0, 0
	for seq, errText := range results {
		status := "success"
		if errText != "" {
			status = "failed"
		}
		res, err := tx.ExecContext(ctx, `UPDATE bulk_job_messages SET status = ?, error = ?, updated_at = ? WHERE job_id = ? AND message_seq = ? AND status = 'pending'`,
			status, errText, now, jobID, seq)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // done before a restart: counted already
		}
		if errText == "" {
			ok++
		} else {
			failed++
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET successful = successful + ?, failed = failed + ? WHERE id = ?`, ok, failed, jobID); err != nil {
		return err
	}
	return tx.Commit()
}

// SetJobStatus moves a job to status, stamping start and completion.
func (s *Store) SetJobStatus(ctx context.Context, jobID, status, message string) error {
	now := time.Now().UnixMilli()
	_, err := s.db.ExecContext(ctx, `UPDATE bulk_jobs SET status = ?, status_message = ?,
		started_at = CASE WHEN started_at = 0 AND ? NOT IN ('PENDING') THEN ? ELSE started_at END,
		completed_at = CASE WHEN ? IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN ? ELSE completed_at END,
		lease_until = CASE WHEN ? IN ('COMPLETED', 'FAILED', 'CANCELLED') THEN 0 ELSE lease_until END
		WHERE id = ?`, status, message, status, now, status, now, status, jobID)
	return err
}

// JobMessages lists a job's messages with their outcome.
func (s *Store) JobMessages(ctx context.Context, accountID int64, jobID string, offset, limit int) ([]store.JobMessage, int, error) {
	if _, err := s.GetJob(ctx, accountID, jobID); err != nil {
		return nil, 0, err
	}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM bulk_job_messages WHERE job_id = ?`, jobID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT j.message_seq, coalesce(m.id, ''), j.status, j.error, j.updated_at FROM bulk_job_messages j
		LEFT JOIN messages m ON m.seq = j.message_seq WHERE j.job_id = ? ORDER BY j.message_seq DESC LIMIT ? OFFSET ?`, jobID, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, sqlcommon.ScanJobMessage, total)
}

// FinishJobBatch applies a batch's writes and outcomes in one transaction.
func (s *Store) FinishJobBatch(ctx context.Context, jobID string, items []store.JobItem) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: job batch: %w", err)
	}
	defer tx.Rollback()
	now := time.Now()
	mark, err := tx.PrepareContext(ctx, `UPDATE bulk_job_messages SET status = ?, error = ?, updated_at = ? WHERE job_id = ? AND message_seq = ? AND status = 'pending'`)
	if err != nil {
		return fmt.Errorf("sqlite: job batch: %w", err)
	}
	defer mark.Close()
	ok, failed := 0, 0
	for i := range items {
		it := &items[i]
		status := "success"
		if it.Error != "" {
			status = "failed"
		}
		res, err := mark.ExecContext(ctx, status, it.Error, now.UnixMilli(), jobID, it.MessageSeq)
		if err != nil {
			return fmt.Errorf("sqlite: job batch: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // done before a restart: its writes are in already
		}
		if it.Error != "" {
			failed++
			continue
		}
		ok++
		if err := applyJobItem(ctx, tx, it, now); err != nil {
			return fmt.Errorf("sqlite: job batch: message %d: %w", it.MessageSeq, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET successful = successful + ?, failed = failed + ? WHERE id = ?`, ok, failed, jobID); err != nil {
		return fmt.Errorf("sqlite: job batch: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: job batch: %w", err)
	}
	return nil
}

// applyJobItem makes one message's writes of a batch, with the same SQL as
// SetDisposition, QueueDeliveries, HoldMessage, CreateSubmission, AddAction,
// AddTrace and Audit.
func applyJobItem(ctx context.Context, tx *sql.Tx, it *store.JobItem, now time.Time) error {
	return sqlcommon.ApplyJobItem(itemTx{ctx, tx, now}, it, now)
}

// itemTx makes a JobItem's writes in tx at now (sqlcommon.JobItemWriter).
type itemTx struct {
	ctx context.Context
	tx  *sql.Tx
	now time.Time
}

func (w itemTx) SetDisposition(seq int64, disposition string, triggers []byte) (bool, error) {
	return setDispositionTx(w.ctx, w.tx, seq, disposition, triggers)
}

func (w itemTx) QueueDeliveries(seq int64, recipients []string) error {
	for _, r := range recipients {
		if _, err := w.tx.ExecContext(w.ctx, `INSERT OR IGNORE INTO deliveries(message_seq, recipient, status, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`,
			seq, r, w.now.UnixMilli(), w.now.UnixMilli()); err != nil {
			return err
		}
	}
	_, err := w.tx.ExecContext(w.ctx, `UPDATE messages SET is_quarantined = 0, delivery_status = CASE WHEN delivery_status = 'delivered' THEN 'delivered' ELSE 'queued' END WHERE seq = ?`, seq)
	return err
}

func (w itemTx) Hold(seq int64) (bool, error) { return holdMessageTx(w.ctx, w.tx, seq) }

func (w itemTx) InsertSubmission(sub *store.Submission) error {
	return insertSubmission(w.ctx, w.tx, sub)
}

func (w itemTx) AddAction(seq int64, a store.Action) error {
	props, _ := json.Marshal(a.Properties)
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO action_log(message_seq, operation, status, requested_by, properties, created_at, completed_at) VALUES (?,?,?,?,?,?,?)`,
		seq, a.Operation, a.Status, a.RequestedBy, string(props), sqlcommon.MS(a.CreatedAt), sqlcommon.NullIfZero(sqlcommon.MS(a.CompletedAt)))
	return err
}

func (w itemTx) AddTrace(seq int64, t store.TraceLine) error {
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO trace(message_seq, direction, logged_at, line) VALUES (?, ?, ?, ?)`, seq, t.Direction, t.LoggedAt.UnixMilli(), t.Line)
	return err
}

func (w itemTx) Audit(e store.AuditEntry) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := w.tx.ExecContext(w.ctx, `INSERT INTO audit_log(account_id, actor, action, target, detail, created_at) VALUES (?,?,?,?,?,?)`,
		e.AccountID, e.Actor, e.Action, e.Target, e.Detail, w.now.UnixMilli())
	return err
}

// ApplyMessageChanges makes the items' writes in one transaction.
func (s *Store) ApplyMessageChanges(ctx context.Context, items []store.JobItem) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: message changes: %w", err)
	}
	defer tx.Rollback()
	now := time.Now()
	for i := range items {
		if err := applyJobItem(ctx, tx, &items[i], now); err != nil {
			return fmt.Errorf("sqlite: message changes: message %d: %w", items[i].MessageSeq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: message changes: %w", err)
	}
	return nil
}
