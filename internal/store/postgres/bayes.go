package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/bayes"
)

// The content model's counts (bayes.Store), in the tables of 0100_bayes.sql,
// shared by every node, and its snapshots (bayes.SnapshotStore,
// 0110_bayes_snapshot.sql).
var _ bayes.SnapshotStore = (*Store)(nil)

// BayesGeneration implements bayes.SnapshotStore: 0 for an account never trained.
func (s *Store) BayesGeneration(ctx context.Context, account int64) (int64, error) {
	var gen int64
	err := s.db.QueryRow(ctx, `SELECT generation FROM bayes_messages WHERE account_id = $1`, account).Scan(&gen)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("postgres: bayes generation: %w", err)
	}
	return gen, nil
}

// LoadBayesSnapshot implements bayes.SnapshotStore.
func (s *Store) LoadBayesSnapshot(ctx context.Context, account int64) ([]byte, error) {
	var data []byte
	err := s.db.QueryRow(ctx, `SELECT s.data FROM bayes_snapshots s JOIN bayes_messages m ON m.account_id = s.account_id AND m.generation = s.generation
		WHERE s.account_id = $1`, account).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: bayes snapshot: %w", err)
	}
	return data, nil
}

// SaveBayesSnapshot implements bayes.SnapshotStore.
func (s *Store) SaveBayesSnapshot(ctx context.Context, account int64, gen int64, data []byte) error {
	_, err := s.db.Exec(ctx, `INSERT INTO bayes_snapshots(account_id, generation, data)
		SELECT $1, $2, $3 WHERE (SELECT generation FROM bayes_messages WHERE account_id = $1) = $2
		ON CONFLICT (account_id) DO UPDATE SET generation = excluded.generation, data = excluded.data`, account, gen, data)
	if err != nil {
		return fmt.Errorf("postgres: bayes snapshot: %w", err)
	}
	return nil
}

// bayesLockClass is the first key of the per-account advisory lock that
// serialises training across nodes.
const bayesLockClass = 0x6d77 // "mw"

// LoadBayes implements bayes.Store.
func (s *Store) LoadBayes(ctx context.Context, account int64, each func(token string, c bayes.Counts)) (bayes.Counts, error) {
	var msgs bayes.Counts
	err := s.db.QueryRow(ctx, `SELECT ham, spam, phish FROM bayes_messages WHERE account_id = $1`, account).Scan(&msgs.Ham, &msgs.Spam, &msgs.Phish)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return bayes.Counts{}, fmt.Errorf("postgres: bayes messages: %w", err)
	}
	rows, err := s.db.Query(ctx, `SELECT token, ham, spam, phish FROM bayes_tokens WHERE account_id = $1 AND (ham > 0 OR spam > 0 OR phish > 0)`, account)
	if err != nil {
		return bayes.Counts{}, fmt.Errorf("postgres: bayes tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tok string
		var c bayes.Counts
		if err := rows.Scan(&tok, &c.Ham, &c.Spam, &c.Phish); err != nil {
			return bayes.Counts{}, fmt.Errorf("postgres: bayes tokens: %w", err)
		}
		each(tok, c)
	}
	if err := rows.Err(); err != nil {
		return bayes.Counts{}, fmt.Errorf("postgres: bayes tokens: %w", err)
	}
	return msgs, nil
}

// BayesTrainedAs implements bayes.Store.
func (s *Store) BayesTrainedAs(ctx context.Context, account int64, key string) (bayes.Class, error) {
	var c string
	err := s.db.QueryRow(ctx, `SELECT class FROM bayes_trained WHERE account_id = $1 AND msg_key = $2`, account, key).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return bayes.Untrained, nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: bayes trained: %w", err)
	}
	return bayes.Class(c), nil
}

// classDelta returns the (ham, spam, phish) change of moving one message from
// class from to class to.
func classDelta(from, to bayes.Class) (h, s, p int64) {
	add := func(cl bayes.Class, n int64) {
		switch cl {
		case bayes.Ham:
			h += n
		case bayes.Spam:
			s += n
		case bayes.Phish:
			p += n
		}
	}
	add(from, -1)
	add(to, 1)
	return h, s, p
}

// ApplyBayes implements bayes.Store in one transaction of a handful of
// statements whatever the batch size: training on one account is serialised
// across nodes by a transaction advisory lock; the trained-as records of the
// batch are read at once and each delta checked against them in order (a
// conflict rolls back the whole batch); then the records, the message counts
// and the summed token counts (never below zero) are written with upserts.
func (s *Store) ApplyBayes(ctx context.Context, account int64, ds ...bayes.Delta) error {
	for _, d := range ds {
		if d.From != bayes.Untrained && !d.From.Valid() || d.To != bayes.Untrained && !d.To.Valid() {
			return fmt.Errorf("%w: %q -> %q", bayes.ErrClass, d.From, d.To)
		}
	}
	if len(ds) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, int32(bayesLockClass), int32(account)); err != nil {
			return fmt.Errorf("postgres: bayes lock: %w", err)
		}
		keys := make([]string, 0, len(ds))
		for _, d := range ds {
			keys = append(keys, d.Key)
		}
		cur := map[string]bayes.Class{}
		rows, err := tx.Query(ctx, `SELECT msg_key, class FROM bayes_trained WHERE account_id = $1 AND msg_key = ANY($2)`, account, keys)
		if err != nil {
			return fmt.Errorf("postgres: bayes trained: %w", err)
		}
		for rows.Next() {
			var k, c string
			if err := rows.Scan(&k, &c); err != nil {
				rows.Close()
				return fmt.Errorf("postgres: bayes trained: %w", err)
			}
			cur[k] = bayes.Class(c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("postgres: bayes trained: %w", err)
		}
		var msgs [3]int64
		toks := map[string]*[3]int64{}
		touched := map[string]bool{} // keys whose record changes
		for _, d := range ds {
			if cur[d.Key] != d.From {
				return bayes.ErrConflict
			}
			cur[d.Key] = d.To
			touched[d.Key] = true
			h, sp, ph := classDelta(d.From, d.To)
			msgs[0], msgs[1], msgs[2] = msgs[0]+h, msgs[1]+sp, msgs[2]+ph
			seen := map[string]bool{}
			for _, tok := range d.Tokens {
				if seen[tok] {
					continue
				}
				seen[tok] = true
				c := toks[tok]
				if c == nil {
					c = &[3]int64{}
					toks[tok] = c
				}
				c[0], c[1], c[2] = c[0]+h, c[1]+sp, c[2]+ph
			}
		}
		// Every batch moves the generation on: a snapshot taken before is stale.
		if _, err := tx.Exec(ctx, `INSERT INTO bayes_messages(account_id, ham, spam, phish, generation) VALUES ($1, greatest($2::bigint, 0), greatest($3::bigint, 0), greatest($4::bigint, 0), 1)
			ON CONFLICT (account_id) DO UPDATE SET ham = greatest(bayes_messages.ham + $2, 0), spam = greatest(bayes_messages.spam + $3, 0), phish = greatest(bayes_messages.phish + $4, 0),
			generation = bayes_messages.generation + 1`,
			account, msgs[0], msgs[1], msgs[2]); err != nil {
			return fmt.Errorf("postgres: bayes messages: %w", err)
		}
		if len(toks) > 0 {
			// Sorted: row locks are taken in one order.
			names := make([]string, 0, len(toks))
			for t := range toks {
				names = append(names, t)
			}
			sort.Strings(names)
			hs, ss, ps := make([]int64, len(names)), make([]int64, len(names)), make([]int64, len(names))
			for i, t := range names {
				hs[i], ss[i], ps[i] = toks[t][0], toks[t][1], toks[t][2]
			}
			// Under the lock no other writer touches the account's tokens: update
			// those there, then insert the new ones.
			if _, err := tx.Exec(ctx, `UPDATE bayes_tokens b SET ham = greatest(b.ham + t.h, 0), spam = greatest(b.spam + t.s, 0), phish = greatest(b.phish + t.p, 0)
				FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(token, h, s, p)
				WHERE b.account_id = $1 AND b.token = t.token`, account, names, hs, ss, ps); err != nil {
				return fmt.Errorf("postgres: bayes tokens: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO bayes_tokens(account_id, token, ham, spam, phish)
				SELECT $1, t.token, greatest(t.h, 0), greatest(t.s, 0), greatest(t.p, 0)
				FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::bigint[]) AS t(token, h, s, p)
				WHERE t.h > 0 OR t.s > 0 OR t.p > 0
				ON CONFLICT (account_id, token) DO NOTHING`, account, names, hs, ss, ps); err != nil {
				return fmt.Errorf("postgres: bayes tokens: %w", err)
			}
			// Drop tokens no trained message holds any more.
			if _, err := tx.Exec(ctx, `DELETE FROM bayes_tokens WHERE account_id = $1 AND token = ANY($2) AND ham = 0 AND spam = 0 AND phish = 0`,
				account, names); err != nil {
				return fmt.Errorf("postgres: bayes tokens: %w", err)
			}
		}
		var set, setClass, drop []string
		for k := range touched {
			if c := cur[k]; c == bayes.Untrained {
				drop = append(drop, k)
			} else {
				set, setClass = append(set, k), append(setClass, string(c))
			}
		}
		if len(drop) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM bayes_trained WHERE account_id = $1 AND msg_key = ANY($2)`, account, drop); err != nil {
				return fmt.Errorf("postgres: bayes trained: %w", err)
			}
		}
		if len(set) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO bayes_trained(account_id, msg_key, class, trained_at)
				SELECT $1, k, c, $4 FROM unnest($2::text[], $3::text[]) AS t(k, c)
				ON CONFLICT (account_id, msg_key) DO UPDATE SET class = excluded.class, trained_at = excluded.trained_at`,
				account, set, setClass, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("postgres: bayes trained: %w", err)
			}
		}
		return nil
	})
}
