package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mailwarden/mailwarden/internal/bayes"
)

// The content model's counts (bayes.Store), in the tables of 0100_bayes.sql,
// and its snapshots (bayes.SnapshotStore, 0110_bayes_snapshot.sql).
var _ bayes.SnapshotStore = (*Store)(nil)

// LoadBayes implements bayes.Store.
func (s *Store) LoadBayes(ctx context.Context, account int64, each func(token string, c bayes.Counts)) (bayes.Counts, error) {
	var msgs bayes.Counts
	err := s.db.QueryRowContext(ctx, `SELECT ham, spam, phish FROM bayes_messages WHERE account_id = ?`, account).Scan(&msgs.Ham, &msgs.Spam, &msgs.Phish)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return bayes.Counts{}, fmt.Errorf("sqlite: bayes messages: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT token, ham, spam, phish FROM bayes_tokens WHERE account_id = ? AND (ham > 0 OR spam > 0 OR phish > 0)`, account)
	if err != nil {
		return bayes.Counts{}, fmt.Errorf("sqlite: bayes tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tok string
		var c bayes.Counts
		if err := rows.Scan(&tok, &c.Ham, &c.Spam, &c.Phish); err != nil {
			return bayes.Counts{}, fmt.Errorf("sqlite: bayes tokens: %w", err)
		}
		each(tok, c)
	}
	if err := rows.Err(); err != nil {
		return bayes.Counts{}, fmt.Errorf("sqlite: bayes tokens: %w", err)
	}
	return msgs, nil
}

// BayesGeneration implements bayes.SnapshotStore: 0 for an account never trained.
func (s *Store) BayesGeneration(ctx context.Context, account int64) (int64, error) {
	var gen int64
	err := s.db.QueryRowContext(ctx, `SELECT generation FROM bayes_messages WHERE account_id = ?`, account).Scan(&gen)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: bayes generation: %w", err)
	}
	return gen, nil
}

// LoadBayesSnapshot implements bayes.SnapshotStore.
func (s *Store) LoadBayesSnapshot(ctx context.Context, account int64) ([]byte, error) {
	var data []byte
	err := s.db.QueryRowContext(ctx, `SELECT s.data FROM bayes_snapshots s JOIN bayes_messages m ON m.account_id = s.account_id AND m.generation = s.generation
WHERE s.account_id = ?`, account).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: bayes snapshot: %w", err)
	}
	return data, nil
}

// SaveBayesSnapshot implements bayes.SnapshotStore.
func (s *Store) SaveBayesSnapshot(ctx context.Context, account int64, gen int64, data []byte) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO bayes_snapshots(account_id, generation, data)
SELECT ?, ?, ? WHERE (SELECT generation FROM bayes_messages WHERE account_id = ?) = ?
ON CONFLICT(account_id) DO UPDATE SET generation = excluded.generation, data = excluded.data`, account, gen, data, account, gen)
	if err != nil {
		return fmt.Errorf("sqlite: bayes snapshot: %w", err)
	}
	return nil
}

// BayesTrainedAs implements bayes.Store.
func (s *Store) BayesTrainedAs(ctx context.Context, account int64, key string) (bayes.Class, error) {
	return trainedAs(ctx, s.db, account, key)
}

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func trainedAs(ctx context.Context, q queryRower, account int64, key string) (bayes.Class, error) {
	var c string
	err := q.QueryRowContext(ctx, `SELECT class FROM bayes_trained WHERE account_id = ? AND msg_key = ?`, account, key).Scan(&c)
	if errors.Is(err, sql.ErrNoRows) {
		return bayes.Untrained, nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: bayes trained: %w", err)
	}
	return bayes.Class(c), nil
}

// classDelta returns the (ham, spam, phish) change of moving one message from
// class from to class to.
func classDelta(from, to bayes.Class) (h, s, p int64) {
	var c bayes.Counts // signed here: Counts.Add would clamp at zero
	add := func(cl bayes.Class, n int64) {
		switch cl {
		case bayes.Ham:
			c.Ham += n
		case bayes.Spam:
			c.Spam += n
		case bayes.Phish:
			c.Phish += n
		}
	}
	add(from, -1)
	add(to, 1)
	return c.Ham, c.Spam, c.Phish
}

// ApplyBayes implements bayes.Store: one transaction checks each message's
// trained-as record, moves the message and token counts (never below zero) and
// writes the record; a conflict on any message rolls back the whole batch.
func (s *Store) ApplyBayes(ctx context.Context, account int64, ds ...bayes.Delta) (err error) {
	for _, d := range ds {
		if d.From != bayes.Untrained && !d.From.Valid() || d.To != bayes.Untrained && !d.To.Valid() {
			return fmt.Errorf("%w: %q -> %q", bayes.ErrClass, d.From, d.To)
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: bayes: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO bayes_tokens(account_id, token, ham, spam, phish) VALUES (?, ?, max(?, 0), max(?, 0), max(?, 0))
ON CONFLICT(account_id, token) DO UPDATE SET ham = max(ham + ?, 0), spam = max(spam + ?, 0), phish = max(phish + ?, 0)`)
	if err != nil {
		return fmt.Errorf("sqlite: bayes tokens: %w", err)
	}
	defer stmt.Close()
	for _, d := range ds {
		if err = applyDelta(ctx, tx, stmt, account, d); err != nil {
			return err
		}
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: bayes: %w", err)
	}
	return nil
}

func applyDelta(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, account int64, d bayes.Delta) error {
	cur, err := trainedAs(ctx, tx, account, d.Key)
	if err != nil {
		return err
	}
	if cur != d.From {
		return bayes.ErrConflict
	}
	h, sp, ph := classDelta(d.From, d.To)
	// Every delta moves the generation on: a snapshot taken before is stale.
	if _, err = tx.ExecContext(ctx, `INSERT INTO bayes_messages(account_id, ham, spam, phish, generation) VALUES (?, max(?, 0), max(?, 0), max(?, 0), 1)
ON CONFLICT(account_id) DO UPDATE SET ham = max(ham + ?, 0), spam = max(spam + ?, 0), phish = max(phish + ?, 0), generation = generation + 1`,
		account, h, sp, ph, h, sp, ph); err != nil {
		return fmt.Errorf("sqlite: bayes messages: %w", err)
	}
	for _, tok := range d.Tokens {
		if _, err = stmt.ExecContext(ctx, account, tok, h, sp, ph, h, sp, ph); err != nil {
			return fmt.Errorf("sqlite: bayes tokens: %w", err)
		}
	}
	if d.From != bayes.Untrained {
		// Drop tokens no trained message holds any more.
		if _, err = tx.ExecContext(ctx, `DELETE FROM bayes_tokens WHERE account_id = ? AND ham = 0 AND spam = 0 AND phish = 0 AND token IN (SELECT value FROM json_each(?))`, account, jsonStrings(d.Tokens)); err != nil {
			return fmt.Errorf("sqlite: bayes tokens: %w", err)
		}
	}
	if d.To == bayes.Untrained {
		_, err = tx.ExecContext(ctx, `DELETE FROM bayes_trained WHERE account_id = ? AND msg_key = ?`, account, d.Key)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO bayes_trained(account_id, msg_key, class, trained_at) VALUES (?, ?, ?, ?)
ON CONFLICT(account_id, msg_key) DO UPDATE SET class = excluded.class, trained_at = excluded.trained_at`, account, d.Key, string(d.To), time.Now().UnixMilli())
	}
	if err != nil {
		return fmt.Errorf("sqlite: bayes trained: %w", err)
	}
	return nil
}

func jsonStrings(xs []string) string {
	b, _ := json.Marshal(xs)
	return string(b)
}
