package postgres

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

var _ store.Console = (*Store)(nil)

// rollupKey is one count of the Overview rollup (migration 0500_rollup.sql).
type rollupKey struct {
	table, col string // rollup_dispositions/disposition, rollup_triggers/name, rollup_recipients/recipient
	account    int64
	day        int64
	key        string
}

// addRollup adds delta to every count of each RollupKeys, in the caller's
// transaction. The changes are summed and written in one order (table, day,
// key), so that nodes updating the same counts at once never deadlock.
func addRollup(ctx context.Context, tx pgx.Tx, delta int64, ks ...store.RollupKeys) error {
	sum := map[rollupKey]int64{}
	for _, k := range ks {
		sumRollup(sum, k, delta)
	}
	return writeRollup(ctx, tx, sum)
}

// sumRollup adds delta to the counts of k in sum.
func sumRollup(sum map[rollupKey]int64, k store.RollupKeys, delta int64) {
	sum[rollupKey{"rollup_dispositions", "disposition", k.AccountID, k.Day, k.Disposition}] += delta
	for _, t := range k.Triggers {
		sum[rollupKey{"rollup_triggers", "name", k.AccountID, k.Day, t}] += delta
	}
	for _, r := range k.Recipients {
		sum[rollupKey{"rollup_recipients", "recipient", k.AccountID, k.Day, r}] += delta
	}
}

func writeRollup(ctx context.Context, tx pgx.Tx, sum map[rollupKey]int64) error {
	keys := make([]rollupKey, 0, len(sum))
	for k, n := range sum {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.table != b.table {
			return a.table < b.table
		}
		if a.account != b.account {
			return a.account < b.account
		}
		if a.day != b.day {
			return a.day < b.day
		}
		return a.key < b.key
	})
	b := &pgx.Batch{}
	for _, k := range keys {
		b.Queue(`INSERT INTO `+k.table+`(account_id, day, `+k.col+`, n) VALUES ($1, $2, $3, $4)
			ON CONFLICT (account_id, day, `+k.col+`) DO UPDATE SET n = `+k.table+`.n + excluded.n`, k.account, k.day, text(k.key), sum[k])
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: rollup: %w", err)
	}
	return nil
}

func (s *Store) counts(ctx context.Context, q string, qargs ...any) ([]store.Count, error) {
	rows, err := s.db.Query(ctx, q, qargs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanCount)
}

// DispositionsByDay counts messages per UTC day and disposition from the rollup.
func (s *Store) DispositionsByDay(ctx context.Context, accountID int64, since time.Time) ([]store.Count, error) {
	rows, err := s.db.Query(ctx, `SELECT day, disposition, n FROM rollup_dispositions
		WHERE account_id = $1 AND day >= $2 AND n > 0 ORDER BY day, disposition`, accountID, sqlcommon.Day(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanDayCount)
}

// TopTriggers counts detections per scoring trigger name from the rollup.
func (s *Store) TopTriggers(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT name, sum(n) AS c FROM rollup_triggers WHERE account_id = $1 AND day >= $2
		GROUP BY name HAVING sum(n) > 0 ORDER BY c DESC, name COLLATE "C" LIMIT $3`, accountID, sqlcommon.Day(since), sqlLimit(limit))
}

// TopRecipients counts detections per recipient from the rollup.
func (s *Store) TopRecipients(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT recipient, sum(n) AS c FROM rollup_recipients WHERE account_id = $1 AND day >= $2
		GROUP BY recipient HAVING sum(n) > 0 ORDER BY c DESC, recipient COLLATE "C" LIMIT $3`, accountID, sqlcommon.Day(since), sqlLimit(limit))
}

// ListTokens lists the account's API tokens, newest first.
func (s *Store) ListTokens(ctx context.Context, accountID int64) ([]store.TokenInfo, error) {
	rows, err := s.db.Query(ctx, `SELECT id, account_id, prefix, role, created_at, coalesce(last_used_at, 0), coalesce(revoked_at, 0)
		FROM api_tokens WHERE account_id = $1 ORDER BY id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanTokenInfo)
}

// RevokeToken revokes one of the account's tokens.
func (s *Store) RevokeToken(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL`,
		time.Now().UnixMilli(), id, accountID)
	if err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
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
	s.db.Exec(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, now.UnixMilli(), id)
}

// SetHoldDispositions replaces the account's default quarantine dispositions.
func (s *Store) SetHoldDispositions(ctx context.Context, accountID int64, dispositions []string) error {
	var list []string
	seen := map[string]bool{}
	for _, d := range dispositions {
		d = strings.TrimSpace(d)
		if d == "" || strings.Contains(d, ",") {
			return fmt.Errorf("postgres: hold dispositions: bad value %q", d)
		}
		if !seen[d] {
			seen[d] = true
			list = append(list, d)
		}
	}
	tag, err := s.db.Exec(ctx, `UPDATE accounts SET hold_dispositions = $1 WHERE id = $2`, strings.Join(list, ","), accountID)
	if err != nil {
		return fmt.Errorf("postgres: hold dispositions: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// MessageSubmissions lists the account's submissions of one message, newest first.
func (s *Store) MessageSubmissions(ctx context.Context, accountID int64, messageID string, limit int) ([]store.Submission, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.db.Query(ctx, `SELECT `+sqlcommon.SubmissionCols+` FROM submissions WHERE account_id = $1 AND message_id = $2 ORDER BY seq DESC LIMIT $3`,
		accountID, text(messageID), limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: message submissions: %w", err)
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanSubmission)
}
