package sqlite

import (
	"context"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

var _ store.ConsoleStats = (*Store)(nil)

// statsScanLimit bounds how many recent detections the top lists read, so the
// Overview stays quick on a large store.
const statsScanLimit = 20000

func (s *Store) counts(ctx context.Context, q string, args ...any) ([]store.Count, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Count
	for rows.Next() {
		var c store.Count
		if err := rows.Scan(&c.Key, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DispositionsByDay counts messages per UTC day and disposition.
func (s *Store) DispositionsByDay(ctx context.Context, accountID int64, since time.Time) ([]store.Count, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT scanned_at / 86400000 AS day, disposition, count(*) FROM messages
		WHERE account_id = ? AND scanned_at >= ? GROUP BY day, disposition ORDER BY day`, accountID, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Count
	for rows.Next() {
		var day int64
		var c store.Count
		if err := rows.Scan(&day, &c.Key, &c.N); err != nil {
			return nil, err
		}
		c.Day = time.UnixMilli(day * 86400000).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// TopTriggers counts scoring trigger names on recent detections.
func (s *Store) TopTriggers(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT json_extract(t.value, '$.name') AS name, count(*) AS n
		FROM (SELECT triggers FROM messages WHERE account_id = ? AND scanned_at >= ? AND disposition <> 'NONE' ORDER BY seq DESC LIMIT ?) m,
		json_each(m.triggers) t WHERE json_extract(t.value, '$.score') > 0 GROUP BY name ORDER BY n DESC, name LIMIT ?`,
		accountID, ms(since), statsScanLimit, limit)
}

// TopRecipients counts recipients of recent detections.
func (s *Store) TopRecipients(ctx context.Context, accountID int64, since time.Time, limit int) ([]store.Count, error) {
	return s.counts(ctx, `SELECT lower(r.value) AS rcpt, count(*) AS n
		FROM (SELECT envelope_to FROM messages WHERE account_id = ? AND scanned_at >= ? AND disposition <> 'NONE' ORDER BY seq DESC LIMIT ?) m,
		json_each(m.envelope_to) r GROUP BY rcpt ORDER BY n DESC, rcpt LIMIT ?`,
		accountID, ms(since), statsScanLimit, limit)
}
