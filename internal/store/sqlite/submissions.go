package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

func scanSubmission(row interface{ Scan(...any) error }) (store.Submission, error) {
	v, err := sqlcommon.ScanSubmission(row)
	return v, notFound(err)
}

// CreateSubmission inserts a submission unless the same one is already there.
func (s *Store) CreateSubmission(ctx context.Context, sub *store.Submission) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	if sub.RawKey != "" {
		existing, err := scanSubmission(tx.QueryRowContext(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions
			WHERE account_id = ? AND raw_key = ? AND requested_disposition = ? AND type = ? AND status <> ? ORDER BY seq LIMIT 1`,
			sub.AccountID, sub.RawKey, sub.RequestedDisposition, sub.Type, store.SubFailed))
		if err == nil {
			*sub = existing
			return false, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return false, fmt.Errorf("sqlite: submission dedupe: %w", err)
		}
	}
	if err := insertSubmission(ctx, tx, sub); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: commit submission: %w", err)
	}
	return true, nil
}

// insertSubmission inserts sub in tx, filling ID, defaults and Seq.
func insertSubmission(ctx context.Context, tx *sql.Tx, sub *store.Submission) error {
	sqlcommon.PrepareSubmission(sub)
	res, err := tx.ExecContext(ctx, `INSERT INTO submissions(id, account_id, type, channel, status, state, message_seq, message_id, raw_key,
		subject, edf_hash, original_disposition, requested_disposition, outcome_disposition, outcome, outcome_code, reason, requested_by,
		notify_addr, notify_state, customer_status, escalated_as, escalated_at, escalated_by, escalated_submission_id, escalated_from,
		policy, policy_entry, campaign_changed, requested_at, completed_at, attempts, next_attempt_at, last_error)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		sub.ID, sub.AccountID, sub.Type, sub.Channel, sub.Status, sub.State, sqlcommon.NullIfZero(sub.MessageSeq), sub.MessageID, sub.RawKey,
		sub.Subject, sub.EdfHash, sub.OriginalDisposition, sub.RequestedDisposition, sub.OutcomeDisposition, sub.Outcome, sub.OutcomeCode,
		sub.Reason, sub.RequestedBy, sub.NotifyAddr, sub.NotifyState, sub.CustomerStatus, sub.EscalatedAs, sqlcommon.NullIfZero(sqlcommon.MS(sub.EscalatedAt)),
		sub.EscalatedBy, sub.EscalatedSubmissionID, sub.EscalatedFrom, string(sub.Policy), sub.PolicyEntry, sub.CampaignChanged,
		sqlcommon.MS(sub.RequestedAt), sqlcommon.NullIfZero(sqlcommon.MS(sub.CompletedAt)), sub.Attempts, sqlcommon.MS(sub.NextAttempt), sub.LastError)
	if err != nil {
		return fmt.Errorf("sqlite: insert submission: %w", err)
	}
	sub.Seq, _ = res.LastInsertId()
	return nil
}

// GetSubmission returns one submission of the account.
func (s *Store) GetSubmission(ctx context.Context, accountID int64, id string) (store.Submission, error) {
	return scanSubmission(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE account_id = ? AND id = ?`, accountID, id))
}

// ListSubmissions lists the account's submissions, newest first.
func (s *Store) ListSubmissions(ctx context.Context, accountID int64, q store.SubmissionQuery) ([]store.Submission, int, error) {
	where := []string{"account_id = ?"}
	args := []any{accountID}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	eq("type", q.Type)
	eq("original_disposition", q.OriginalDisposition)
	eq("requested_disposition", q.RequestedDisposition)
	eq("outcome_disposition", q.OutcomeDisposition)
	eq("status", q.Status)
	eq("customer_status", q.CustomerStatus)
	eq("id", q.SubmissionID)
	if !q.Start.IsZero() {
		where = append(where, "requested_at >= ?")
		args = append(args, sqlcommon.MS(q.Start))
	}
	if !q.End.IsZero() {
		where = append(where, "requested_at < ?")
		args = append(args, sqlcommon.MS(q.End))
	}
	if q.EscalatedFromUser {
		where = append(where, "escalated_from <> ''")
	}
	if q.Text != "" {
		l := sqlcommon.LikeEscape(q.Text)
		where = append(where, `(lower(subject) LIKE ? ESCAPE '\' OR lower(requested_by) LIKE ? ESCAPE '\' OR lower(message_id) LIKE ? ESCAPE '\' OR lower(id) LIKE ? ESCAPE '\' OR lower(outcome) LIKE ? ESCAPE '\')`)
		args = append(args, l, l, l, l, l)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM submissions WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count submissions: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE `+cond+` ORDER BY seq DESC LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list submissions: %w", err)
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, sqlcommon.ScanSubmission, total)
}

// CountSubmissionsSince counts recent submissions of the account (rate limits).
func (s *Store) CountSubmissionsSince(ctx context.Context, accountID int64, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM submissions WHERE account_id = ? AND requested_at >= ? AND channel <> 'bulk'`, accountID, sqlcommon.MS(since)).Scan(&n)
	return n, err
}

// ClaimSubmission leases the oldest due submission.
func (s *Store) ClaimSubmission(ctx context.Context, worker string, lease time.Duration) (store.Submission, error) {
	now := time.Now()
	row := s.db.QueryRowContext(ctx, `UPDATE submissions SET lease_owner = ?, lease_until = ?
		WHERE seq = (SELECT seq FROM submissions WHERE state IN ('queued', 'notify') AND next_attempt_at <= ? AND lease_until < ?
			ORDER BY next_attempt_at, seq LIMIT 1)
		RETURNING `+sqlcommon.SubmissionCols, worker, sqlcommon.MS(now.Add(lease)), sqlcommon.MS(now), sqlcommon.MS(now))
	sub, err := scanSubmission(row)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return sub, fmt.Errorf("sqlite: claim submission: %w", err)
	}
	return sub, err
}

// SaveSubmission writes a submission's mutable fields and frees its lease.
func (s *Store) SaveSubmission(ctx context.Context, sub *store.Submission) error {
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET type = ?, status = ?, state = ?, message_seq = ?, message_id = ?, raw_key = ?,
		subject = ?, edf_hash = ?, original_disposition = ?, outcome_disposition = ?, outcome = ?, outcome_code = ?, reason = ?,
		notify_addr = ?, notify_state = ?, customer_status = ?, escalated_as = ?, escalated_at = ?, escalated_by = ?,
		escalated_submission_id = ?, policy_entry = ?, campaign_changed = ?, completed_at = ?, attempts = ?, next_attempt_at = ?,
		last_error = ?, lease_owner = '', lease_until = 0
		WHERE account_id = ? AND id = ?`,
		sub.Type, sub.Status, sub.State, sqlcommon.NullIfZero(sub.MessageSeq), sub.MessageID, sub.RawKey, sub.Subject, sub.EdfHash,
		sub.OriginalDisposition, sub.OutcomeDisposition, sub.Outcome, sub.OutcomeCode, sub.Reason, sub.NotifyAddr, sub.NotifyState,
		sub.CustomerStatus, sub.EscalatedAs, sqlcommon.NullIfZero(sqlcommon.MS(sub.EscalatedAt)), sub.EscalatedBy, sub.EscalatedSubmissionID, sub.PolicyEntry,
		sub.CampaignChanged, sqlcommon.NullIfZero(sqlcommon.MS(sub.CompletedAt)), sub.Attempts, sqlcommon.MS(sub.NextAttempt), sub.LastError, sub.AccountID, sub.ID)
	if err != nil {
		return fmt.Errorf("sqlite: save submission: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// SetSubmissionContact records a principal's outcome mail address.
func (s *Store) SetSubmissionContact(ctx context.Context, accountID int64, principal, role, email string) error {
	if email == "" {
		_, err := s.db.ExecContext(ctx, `DELETE FROM submission_contacts WHERE account_id = ? AND principal = ?`, accountID, principal)
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO submission_contacts(account_id, principal, role, email) VALUES (?, ?, ?, ?)
		ON CONFLICT(account_id, principal) DO UPDATE SET role = excluded.role, email = excluded.email`, accountID, principal, role, email)
	return err
}

// SubmissionContact returns a principal's outcome mail address, "" if none.
func (s *Store) SubmissionContact(ctx context.Context, accountID int64, principal string) (string, error) {
	var email string
	err := s.db.QueryRowContext(ctx, `SELECT email FROM submission_contacts WHERE account_id = ? AND principal = ?`, accountID, principal).Scan(&email)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return email, err
}

// SubmissionContactByEmail finds the principal with this outcome address.
func (s *Store) SubmissionContactByEmail(ctx context.Context, accountID int64, email string) (string, string, error) {
	var principal, role string
	err := s.db.QueryRowContext(ctx, `SELECT principal, role FROM submission_contacts WHERE account_id = ? AND email = ? ORDER BY principal LIMIT 1`,
		accountID, email).Scan(&principal, &role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", store.ErrNotFound
	}
	return principal, role, err
}

// SetDisposition changes a message's disposition and triggers, and moves the
// message's counts in the Overview rollup in the same transaction.
func (s *Store) SetDisposition(ctx context.Context, seq int64, disposition string, triggers []byte) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlite: set disposition: %w", err)
	}
	defer tx.Rollback()
	changed, err := setDispositionTx(ctx, tx, seq, disposition, triggers)
	if err != nil || !changed {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlite: set disposition: %w", err)
	}
	return true, nil
}

// setDispositionTx is SetDisposition in the caller's transaction (bulk job
// batches, FinishJobBatch, use it too).
func setDispositionTx(ctx context.Context, tx *sql.Tx, seq int64, disposition string, triggers []byte) (bool, error) {
	var acct, scanned int64
	var oldDisp, oldTriggers, envTo string
	err := tx.QueryRowContext(ctx, `SELECT account_id, scanned_at, disposition, triggers, envelope_to FROM messages WHERE seq = ?`, seq).
		Scan(&acct, &scanned, &oldDisp, &oldTriggers, &envTo)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlite: set disposition: %w", err)
	}
	newTriggers := sqlcommon.NonEmpty(triggers, "[]")
	if oldDisp == disposition && oldTriggers == newTriggers {
		return false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET disposition = ?, triggers = ? WHERE seq = ?`, disposition, newTriggers, seq); err != nil {
		return false, fmt.Errorf("sqlite: set disposition: %w", err)
	}
	var rcpts []string
	json.Unmarshal([]byte(envTo), &rcpts)
	if err := addRollup(ctx, tx, store.Rollup(acct, sqlcommon.FromMS(scanned), oldDisp, []byte(oldTriggers), rcpts), -1); err != nil {
		return false, err
	}
	if err := addRollup(ctx, tx, store.Rollup(acct, sqlcommon.FromMS(scanned), disposition, []byte(newTriggers), rcpts), 1); err != nil {
		return false, err
	}
	return true, nil
}

// HoldMessage quarantines a message that is not delivered yet.
func (s *Store) HoldMessage(ctx context.Context, seq int64) (bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	held, err := holdMessageTx(ctx, tx, seq)
	if err != nil || !held {
		return held, err
	}
	return true, tx.Commit()
}

// holdMessageTx is HoldMessage in the caller's transaction.
func holdMessageTx(ctx context.Context, tx *sql.Tx, seq int64) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE messages SET is_quarantined = 1, delivery_status = 'quarantined'
		WHERE seq = ? AND is_quarantined = 0 AND delivery_status NOT IN ('delivered', 'journaled', 'bounced')`, seq)
	if err != nil {
		return false, fmt.Errorf("sqlite: hold: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	// Undelivered recipients are dropped from the queue; a release queues them again.
	if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE message_seq = ? AND status = 'pending'`, seq); err != nil {
		return false, fmt.Errorf("sqlite: hold: %w", err)
	}
	return true, nil
}

// CampaignMessages lists a campaign's messages after seq, oldest first.
func (s *Store) CampaignMessages(ctx context.Context, accountID int64, campaignID string, after int64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE account_id = ? AND campaign_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		accountID, campaignID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: campaign messages: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanMessage)
}

// RenewSubmissionLease extends worker's lease on a submission it holds.
func (s *Store) RenewSubmissionLease(ctx context.Context, id, worker string, lease time.Duration) error {
	res, err := s.db.ExecContext(ctx, `UPDATE submissions SET lease_until = ? WHERE id = ? AND lease_owner = ? AND lease_until > 0`,
		sqlcommon.MS(time.Now().Add(lease)), id, worker)
	if err != nil {
		return fmt.Errorf("sqlite: renew submission lease: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrConflict
	}
	return nil
}

// ReportAddresses lists configured submission addresses (every account's for 0).
func (s *Store) ReportAddresses(ctx context.Context, accountID int64) ([]store.ReportAddress, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT account_id, role, address, updated_at FROM report_addresses
		WHERE ? = 0 OR account_id = ? ORDER BY account_id, role`, accountID, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: report addresses: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanReportAddress)
}

// SetReportAddresses sets or removes the account's addresses by role.
func (s *Store) SetReportAddresses(ctx context.Context, accountID int64, byRole map[string]string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Every named role is removed first, so two roles may swap addresses in one call.
	for role := range byRole {
		if _, err := tx.ExecContext(ctx, `DELETE FROM report_addresses WHERE account_id = ? AND role = ?`, accountID, role); err != nil {
			return fmt.Errorf("sqlite: report addresses: %w", err)
		}
	}
	now := time.Now().UnixMilli()
	for role, addr := range byRole {
		if addr == "" {
			continue
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO report_addresses(account_id, role, address, updated_at) VALUES (?, ?, ?, ?)`,
			accountID, role, strings.ToLower(addr), now)
		if isUnique(err) {
			return fmt.Errorf("sqlite: report address %s: %w", addr, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: report addresses: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO report_addresses_version(id, version) VALUES (1, 1)
		ON CONFLICT(id) DO UPDATE SET version = version + 1`); err != nil {
		return fmt.Errorf("sqlite: report addresses version: %w", err)
	}
	return tx.Commit()
}

// ReportAddressesVersion returns the version of every account's addresses.
func (s *Store) ReportAddressesVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM report_addresses_version WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
