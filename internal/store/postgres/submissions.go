package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

func scanSubmission(row pgx.Row) (store.Submission, error) {
	v, err := sqlcommon.ScanSubmission(row)
	return v, notFound(err)
}

// CreateSubmission inserts a submission unless the same one is already there.
// Two nodes creating the same submission at once are serialised on a
// transaction advisory lock of its dedupe key.
func (s *Store) CreateSubmission(ctx context.Context, sub *store.Submission) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if sub.RawKey != "" {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, $2))`,
				sub.Type+"/"+sub.RequestedDisposition+"/"+sub.RawKey, sub.AccountID); err != nil {
				return fmt.Errorf("postgres: submission dedupe: %w", err)
			}
			existing, err := scanSubmission(tx.QueryRow(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions
				WHERE account_id = $1 AND raw_key = $2 AND requested_disposition = $3 AND type = $4 AND status <> $5 ORDER BY seq LIMIT 1`,
				sub.AccountID, sub.RawKey, sub.RequestedDisposition, sub.Type, store.SubFailed))
			if err == nil {
				*sub = existing
				return nil
			}
			if !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("postgres: submission dedupe: %w", err)
			}
		}
		created = true
		return insertSubmission(ctx, tx, sub)
	})
	if err != nil {
		return false, err
	}
	return created, nil
}

// insertSubmission inserts sub in tx, filling ID, defaults and Seq.
func insertSubmission(ctx context.Context, tx pgx.Tx, sub *store.Submission) error {
	sqlcommon.PrepareSubmission(sub)
	err := tx.QueryRow(ctx, `INSERT INTO submissions(id, account_id, type, channel, status, state, message_seq, message_id, raw_key,
		subject, edf_hash, original_disposition, requested_disposition, outcome_disposition, outcome, outcome_code, reason, requested_by,
		notify_addr, notify_state, customer_status, escalated_as, escalated_at, escalated_by, escalated_submission_id, escalated_from,
		policy, policy_entry, campaign_changed, requested_at, completed_at, attempts, next_attempt_at, last_error)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33,$34)
		RETURNING seq`,
		sub.ID, sub.AccountID, sub.Type, sub.Channel, sub.Status, sub.State, sqlcommon.NullIfZero(sub.MessageSeq), sub.MessageID, sub.RawKey,
		text(sub.Subject), sub.EdfHash, sub.OriginalDisposition, sub.RequestedDisposition, sub.OutcomeDisposition, text(sub.Outcome), sub.OutcomeCode,
		sub.Reason, text(sub.RequestedBy), text(sub.NotifyAddr), sub.NotifyState, sub.CustomerStatus, sub.EscalatedAs, sqlcommon.NullIfZero(sqlcommon.MS(sub.EscalatedAt)),
		text(sub.EscalatedBy), sub.EscalatedSubmissionID, sub.EscalatedFrom, text(string(sub.Policy)), sub.PolicyEntry, sub.CampaignChanged,
		sqlcommon.MS(sub.RequestedAt), sqlcommon.NullIfZero(sqlcommon.MS(sub.CompletedAt)), sub.Attempts, sqlcommon.MS(sub.NextAttempt), text(sub.LastError)).Scan(&sub.Seq)
	if err != nil {
		return fmt.Errorf("postgres: insert submission: %w", err)
	}
	return nil
}

// GetSubmission returns one submission of the account.
func (s *Store) GetSubmission(ctx context.Context, accountID int64, id string) (store.Submission, error) {
	return scanSubmission(s.db.QueryRow(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE account_id = $1 AND id = $2`, accountID, id))
}

// ListSubmissions lists the account's submissions, newest first.
func (s *Store) ListSubmissions(ctx context.Context, accountID int64, q store.SubmissionQuery) ([]store.Submission, int, error) {
	var a args
	where := []string{"account_id = " + a.add(accountID)}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+a.add(v))
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
		where = append(where, "requested_at >= "+a.add(sqlcommon.MS(q.Start)))
	}
	if !q.End.IsZero() {
		where = append(where, "requested_at < "+a.add(sqlcommon.MS(q.End)))
	}
	if q.EscalatedFromUser {
		where = append(where, "escalated_from <> ''")
	}
	if q.Text != "" {
		l := a.add(text(sqlcommon.LikeEscape(q.Text)))
		var ors []string
		for _, c := range []string{"subject", "requested_by", "message_id", "id", "outcome"} {
			ors = append(ors, "lower("+c+") LIKE "+l+` ESCAPE '\'`)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE `+cond, a...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: count submissions: %w", err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.db.Query(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE `+cond+` ORDER BY seq DESC LIMIT `+a.add(limit)+` OFFSET `+a.add(max(q.Offset, 0)), a...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list submissions: %w", err)
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, sqlcommon.ScanSubmission, total)
}

// CountSubmissionsSince counts recent submissions of the account (rate limits).
func (s *Store) CountSubmissionsSince(ctx context.Context, accountID int64, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE account_id = $1 AND requested_at >= $2 AND channel <> 'bulk'`, accountID, sqlcommon.MS(since)).Scan(&n)
	return n, err
}

// ClaimSubmission leases the oldest due submission; rows another node is
// claiming at this moment are skipped.
func (s *Store) ClaimSubmission(ctx context.Context, worker string, lease time.Duration) (store.Submission, error) {
	now := time.Now()
	sub, err := scanSubmission(s.db.QueryRow(ctx, `UPDATE submissions SET lease_owner = $1, lease_until = $2
		WHERE seq = (SELECT seq FROM submissions WHERE state IN ('queued', 'notify') AND next_attempt_at <= $3 AND lease_until < $3
			ORDER BY next_attempt_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+sqlcommon.SubmissionCols, worker, sqlcommon.MS(now.Add(lease)), sqlcommon.MS(now)))
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return sub, fmt.Errorf("postgres: claim submission: %w", err)
	}
	return sub, err
}

// SaveSubmission writes a submission's mutable fields and frees its lease.
func (s *Store) SaveSubmission(ctx context.Context, sub *store.Submission) error {
	tag, err := s.db.Exec(ctx, `UPDATE submissions SET type = $1, status = $2, state = $3, message_seq = $4, message_id = $5, raw_key = $6,
		subject = $7, edf_hash = $8, original_disposition = $9, outcome_disposition = $10, outcome = $11, outcome_code = $12, reason = $13,
		notify_addr = $14, notify_state = $15, customer_status = $16, escalated_as = $17, escalated_at = $18, escalated_by = $19,
		escalated_submission_id = $20, policy_entry = $21, campaign_changed = $22, completed_at = $23, attempts = $24, next_attempt_at = $25,
		last_error = $26, lease_owner = '', lease_until = 0
		WHERE account_id = $27 AND id = $28`,
		sub.Type, sub.Status, sub.State, sqlcommon.NullIfZero(sub.MessageSeq), sub.MessageID, sub.RawKey, text(sub.Subject), sub.EdfHash,
		sub.OriginalDisposition, sub.OutcomeDisposition, text(sub.Outcome), sub.OutcomeCode, sub.Reason, text(sub.NotifyAddr), sub.NotifyState,
		sub.CustomerStatus, sub.EscalatedAs, sqlcommon.NullIfZero(sqlcommon.MS(sub.EscalatedAt)), text(sub.EscalatedBy), sub.EscalatedSubmissionID, sub.PolicyEntry,
		sub.CampaignChanged, sqlcommon.NullIfZero(sqlcommon.MS(sub.CompletedAt)), sub.Attempts, sqlcommon.MS(sub.NextAttempt), text(sub.LastError), sub.AccountID, sub.ID)
	if err != nil {
		return fmt.Errorf("postgres: save submission: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// SetSubmissionContact records a principal's outcome mail address.
func (s *Store) SetSubmissionContact(ctx context.Context, accountID int64, principal, role, email string) error {
	if email == "" {
		_, err := s.db.Exec(ctx, `DELETE FROM submission_contacts WHERE account_id = $1 AND principal = $2`, accountID, principal)
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO submission_contacts(account_id, principal, role, email) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, principal) DO UPDATE SET role = excluded.role, email = excluded.email`, accountID, principal, role, email)
	return err
}

// SubmissionContact returns a principal's outcome mail address, "" if none.
func (s *Store) SubmissionContact(ctx context.Context, accountID int64, principal string) (string, error) {
	var email string
	err := s.db.QueryRow(ctx, `SELECT email FROM submission_contacts WHERE account_id = $1 AND principal = $2`, accountID, principal).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return email, err
}

// SubmissionContactByEmail finds the principal with this outcome address.
func (s *Store) SubmissionContactByEmail(ctx context.Context, accountID int64, email string) (string, string, error) {
	var principal, role string
	err := s.db.QueryRow(ctx, `SELECT principal, role FROM submission_contacts WHERE account_id = $1 AND lower(email) = lower($2) ORDER BY principal LIMIT 1`,
		accountID, email).Scan(&principal, &role)
	return principal, role, notFound(err)
}

// SetDisposition changes a message's disposition and triggers.
func (s *Store) SetDisposition(ctx context.Context, seq int64, disposition string, triggers []byte) (bool, error) {
	changed := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		changed, err = setDispositionTx(ctx, tx, seq, disposition, triggers)
		return err
	})
	return changed, err
}

// setDispositionTx is SetDisposition in the caller's transaction: the message
// row is locked, changed, and its counts moved in the Overview rollup.
func setDispositionTx(ctx context.Context, tx pgx.Tx, seq int64, disposition string, triggers []byte) (bool, error) {
	var acct, scanned int64
	var oldDisp, oldTriggers, envTo string
	err := tx.QueryRow(ctx, `SELECT account_id, scanned_at, disposition, triggers, envelope_to FROM messages WHERE seq = $1 FOR UPDATE`, seq).
		Scan(&acct, &scanned, &oldDisp, &oldTriggers, &envTo)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("postgres: set disposition: %w", err)
	}
	newTriggers := sqlcommon.NonEmpty(triggers, "[]")
	if oldDisp == disposition && oldTriggers == newTriggers {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET disposition = $1, triggers = $2 WHERE seq = $3`, disposition, newTriggers, seq); err != nil {
		return false, fmt.Errorf("postgres: set disposition: %w", err)
	}
	var rcpts []string
	json.Unmarshal([]byte(envTo), &rcpts)
	sum := map[rollupKey]int64{}
	sumRollup(sum, store.Rollup(acct, sqlcommon.FromMS(scanned), oldDisp, []byte(oldTriggers), rcpts), -1)
	sumRollup(sum, store.Rollup(acct, sqlcommon.FromMS(scanned), disposition, []byte(newTriggers), rcpts), 1)
	if err := writeRollup(ctx, tx, sum); err != nil {
		return false, err
	}
	return true, nil
}

// HoldMessage quarantines a message that is not delivered yet.
func (s *Store) HoldMessage(ctx context.Context, seq int64) (bool, error) {
	held := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		held, err = holdMessageTx(ctx, tx, seq)
		return err
	})
	return held, err
}

// holdMessageTx is HoldMessage in the caller's transaction.
func holdMessageTx(ctx context.Context, tx pgx.Tx, seq int64) (bool, error) {
	tag, err := tx.Exec(ctx, `UPDATE messages SET is_quarantined = true, delivery_status = 'quarantined'
		WHERE seq = $1 AND NOT is_quarantined AND delivery_status NOT IN ('delivered', 'journaled', 'bounced')`, seq)
	if err != nil {
		return false, fmt.Errorf("postgres: hold: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	// Undelivered recipients are dropped from the queue; a release queues them again.
	if _, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE message_seq = $1 AND status = 'pending'`, seq); err != nil {
		return false, fmt.Errorf("postgres: hold: %w", err)
	}
	return true, nil
}

// CampaignMessages lists a campaign's messages after seq, oldest first.
func (s *Store) CampaignMessages(ctx context.Context, accountID int64, campaignID string, after int64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		limit = 100
	}
	out, err := collectMessages(s.db.Query(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE account_id = $1 AND campaign_id = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
		accountID, campaignID, after, limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: campaign messages: %w", err)
	}
	return out, nil
}

// RenewSubmissionLease extends worker's lease on a submission it holds.
func (s *Store) RenewSubmissionLease(ctx context.Context, id, worker string, lease time.Duration) error {
	tag, err := s.db.Exec(ctx, `UPDATE submissions SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND lease_until > 0`,
		sqlcommon.MS(time.Now().Add(lease)), id, worker)
	if err != nil {
		return fmt.Errorf("postgres: renew submission lease: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	return nil
}

// ReportAddresses lists configured submission addresses (every account's for 0).
func (s *Store) ReportAddresses(ctx context.Context, accountID int64) ([]store.ReportAddress, error) {
	rows, err := s.db.Query(ctx, `SELECT account_id, role, address, updated_at FROM report_addresses
		WHERE $1::bigint = 0 OR account_id = $1 ORDER BY account_id, role COLLATE "C"`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: report addresses: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanReportAddress)
}

// SetReportAddresses sets or removes the account's addresses by role.
func (s *Store) SetReportAddresses(ctx context.Context, accountID int64, byRole map[string]string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Every named role is removed first, so two roles may swap addresses in one call.
		for role := range byRole {
			if _, err := tx.Exec(ctx, `DELETE FROM report_addresses WHERE account_id = $1 AND role = $2`, accountID, role); err != nil {
				return fmt.Errorf("postgres: report addresses: %w", err)
			}
		}
		now := time.Now().UnixMilli()
		for role, addr := range byRole {
			if addr == "" {
				continue
			}
			_, err := tx.Exec(ctx, `INSERT INTO report_addresses(account_id, role, address, updated_at) VALUES ($1, $2, $3, $4)`,
				accountID, role, strings.ToLower(addr), now)
			if isUnique(err) {
				return fmt.Errorf("postgres: report address %s: %w", addr, store.ErrConflict)
			}
			if err != nil {
				return fmt.Errorf("postgres: report addresses: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_addresses_version(id, version) VALUES (1, 1)
			ON CONFLICT (id) DO UPDATE SET version = report_addresses_version.version + 1`); err != nil {
			return fmt.Errorf("postgres: report addresses version: %w", err)
		}
		return nil
	})
}

// ReportAddressesVersion returns the version of every account's addresses.
func (s *Store) ReportAddressesVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRow(ctx, `SELECT version FROM report_addresses_version WHERE id = 1`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
