package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

var _ store.Console = (*Store)(nil)

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// addRollup adds delta (+1 or -1) to every rollup count of k (migration
// 0500_rollup.sql), in the caller's transaction.
func addRollup(ctx context.Context, tx execer, k store.RollupKeys, delta int) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_dispositions(account_id, day, disposition, n) VALUES (?, ?, ?, ?)
		ON CONFLICT(account_id, day, disposition) DO UPDATE SET n = n + excluded.n`, k.AccountID, k.Day, k.Disposition, delta); err != nil {
		return fmt.Errorf("sqlite: rollup: %w", err)
	}
	for _, name := range k.Triggers {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_triggers(account_id, day, name, n) VALUES (?, ?, ?, ?)
			ON CONFLICT(account_id, day, name) DO UPDATE SET n = n + excluded.n`, k.AccountID, k.Day, name, delta); err != nil {
			return fmt.Errorf("sqlite: rollup: %w", err)
		}
	}
	for _, r := range k.Recipients {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_recipients(account_id, day, recipient, n) VALUES (?, ?, ?, ?)
			ON CONFLICT(account_id, day, recipient) DO UPDATE SET n = n + excluded.n`, k.AccountID, k.Day, r, delta); err != nil {
			return fmt.Errorf("sqlite: rollup: %w", err)
		}
	}
	return nil
}

func (s *Store) counts(ctx context.Context, q string, args ...any) ([]store.Count, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanCount)
}

// DispositionsByDay counts messages per UTC day and disposition from the rollup.
func (s *Store) DispositionsByDay(ctx context.Context, accountID int64, since time.Time) ([]store.Count, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT day, disposition, n FROM rollup_dispositions
		WHERE account_id = ? AND day >= ? AND n > 0 ORDER BY day, disposition`, accountID, sqlcommon.Day(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanDayCount)
}

// TopTriggers counts detections per scoring trigger name from the rollup.
func (s *Store) TopTriggers(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT name, sum(n) AS c FROM rollup_triggers WHERE account_id = ? AND day >= ?
		GROUP BY name HAVING c > 0 ORDER BY c DESC, name LIMIT ?`, accountID, sqlcommon.Day(since), limit)
}

// TopRecipients counts detections per recipient from the rollup.
func (s *Store) TopRecipients(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT recipient, sum(n) AS c FROM rollup_recipients WHERE account_id = ? AND day >= ?
		GROUP BY recipient HAVING c > 0 ORDER BY c DESC, recipient LIMIT ?`, accountID, sqlcommon.Day(since), limit)
}

// ListTokens lists the account's API tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, accountID int64) ([]store.TokenInfo, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, account_id, prefix, role, created_at, coalesce(last_used_at, 0), coalesce(revoked_at, 0)
		FROM api_tokens WHERE account_id = ? ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanTokenInfo)
}

// RevokeToken revokes one of the account's tokens.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL`,
		time.Now().UnixMilli(), id, accountID)
	if err != nil {
		return fmt.Errorf("sqlite: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// touchToken records that a token was used, at most once per TokenLastUsedEvery.
func (s *Store) touchToken(ctx context.Context, id, lastUsed int64) {
	now := time.Now()
	if lastUsed != 0 && now.Sub(sqlcommon.FromMS(lastUsed)) < store.TokenLastUsedEvery {
		return
	}
	// Best effort: a busy database must not refuse the request, so the error is dropped.
	s.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now.UnixMilli(), id)
}

// SetHoldDispositions replaces the account's default quarantine dispositions.
func (s *Store) SetHoldDispositions(ctx context.Context, accountID int64, dispositions []string) error {
	var list []string
	seen := map[string]bool{}
	for _, d := range dispositions {
		d = strings.TrimSpace(d)
		if d == "" || strings.Contains(d, ",") {
			return fmt.Errorf("sqlite: hold dispositions: bad value %q", d)
		}
		if !seen[d] {
			seen[d] = true
			list = append(list, d)
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE accounts SET hold_dispositions = ? WHERE id = ?`, strings.Join(list, ","), accountID)
	if err != nil {
		return fmt.Errorf("sqlite: hold dispositions: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// MessageSubmissions lists a message's submissions, newest first (index
// submissions_account_message, migration 0501).
func (s *Store) MessageSubmissions(ctx context.Context, accountID int64, messageID string, limit int) ([]store.Submission, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE account_id = ? AND message_id = ? ORDER BY seq DESC LIMIT ?`,
		accountID, messageID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: message submissions: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanSubmission)
}
