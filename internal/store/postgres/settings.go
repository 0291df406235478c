package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

var _ store.Settings = (*Store)(nil)

// settings binds the shared settings methods to s's tables.
func (s *Store) settings() sqlcommon.Settings {
	return sqlcommon.NewSettings(newTable(sqlcommon.AllowPolicies, s), newTable(sqlcommon.BlockSenders, s),
		newTable(sqlcommon.TrustedDomains, s), newTable(sqlcommon.ImpersonationRegistry, s), newTable(sqlcommon.ProtectedDomains, s))
}

// settingTable is a settings table (sqlcommon.SettingTable) with this store's SQL.
type settingTable[T any, PT sqlcommon.Entry[T]] struct {
	*sqlcommon.SettingTable[T, PT]
	s *Store
}

func newTable[T any, PT sqlcommon.Entry[T]](t *sqlcommon.SettingTable[T, PT], s *Store) *settingTable[T, PT] {
	return &settingTable[T, PT]{t, s}
}

// cmp is the column as compared: lower(c) for a case-insensitive one.
func (t *settingTable[T, PT]) cmp(c string) string {
	if t.NoCase[c] {
		return "lower(" + c + ")"
	}
	return c
}

func (t *settingTable[T, PT]) cmpArg(a *args, c string, v any) string {
	if t.NoCase[c] {
		return "lower(" + a.add(v) + ")"
	}
	return a.add(v)
}

func (t *settingTable[T, PT]) scan(row sqlcommon.Scanner) (T, error) {
	var e T
	if err := row.Scan(t.Dest(&e)...); err != nil {
		if err = notFound(err); err == store.ErrNotFound {
			return e, err
		}
		return e, fmt.Errorf("postgres: %s: %w", t.Kind, err)
	}
	return e, nil
}

// values are the kind's column values of e, for writing, strings made storable.
func (t *settingTable[T, PT]) values(e PT) []any {
	out := t.Values(e)
	for i, v := range out {
		if x, ok := v.(string); ok {
			out[i] = text(x)
		}
	}
	return out
}

// Get, List, Create, Update and Delete are sqlcommon.SettingsOps.
func (t *settingTable[T, PT]) Get(ctx context.Context, accountID, id int64) (T, error) {
	db := t.s.db
	return t.scan(db.QueryRow(ctx, `SELECT `+t.SelectCols()+` FROM `+t.Name+` WHERE account_id = $1 AND id = $2`, accountID, id))
}

func (t *settingTable[T, PT]) List(ctx context.Context, accountID int64, q store.SettingsQuery) ([]T, int, error) {
	db := t.s.db
	if err := t.CheckQuery(q); err != nil {
		return nil, 0, fmt.Errorf("postgres: %w", err)
	}
	var a args
	where := []string{"account_id = " + a.add(accountID)}
	if q.Search != "" {
		p := a.add(text(q.Search))
		var ors []string
		for _, c := range append(append([]string{}, t.Search...), "comments") {
			ors = append(ors, "strpos(lower("+c+"), lower("+p+")) > 0")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Pattern != "" {
		where = append(where, t.cmp(t.Pattern)+" = "+t.cmpArg(&a, t.Pattern, text(q.Pattern)))
	}
	if q.PatternType != "" {
		where = append(where, "pattern_type = "+a.add(q.PatternType))
	}
	for k, v := range q.Flags {
		where = append(where, k+" = "+a.add(v))
	}
	if q.Provenance != "" {
		where = append(where, "provenance = "+a.add(q.Provenance))
	}
	if len(q.Domains) > 0 {
		ds := make([]string, len(q.Domains))
		for i, d := range q.Domains {
			ds[i] = text(d)
		}
		where = append(where, t.cmp("domain")+" IN (SELECT lower(d) FROM unnest("+a.add(ds)+"::text[]) d)")
	}
	if !q.ActiveAt.IsZero() {
		where = append(where, "(expires_at IS NULL OR expires_at > "+a.add(q.ActiveAt.UnixMilli())+")")
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM `+t.Name+` WHERE `+cond, a...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: count %s: %w", t.Kind, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order := "id " + dir
	if q.Order != "" && q.Order != "id" {
		col := t.cmp(q.Order)
		if q.Order != "created_at" && q.Order != "last_modified" {
			col += ` COLLATE "C"` // byte order, as SQLite sorts
		}
		order = col + " " + dir + ", id " + dir
	}
	page := ""
	if q.Limit > 0 {
		page = " LIMIT " + a.add(q.Limit)
	}
	page += " OFFSET " + a.add(max(q.Offset, 0))
	rows, err := db.Query(ctx, `SELECT `+t.SelectCols()+` FROM `+t.Name+` WHERE `+cond+` ORDER BY `+order+page, a...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list %s: %w", t.Kind, err)
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, t.scan, total)
}

// dropExpiredTwin deletes an expired entry (other than id) with e's unique key,
// so a new entry may take its pattern.
func (t *settingTable[T, PT]) dropExpiredTwin(ctx context.Context, tx pgx.Tx, e PT, id int64, now time.Time) error {
	vals := t.values(e)
	var a args
	cond := []string{"account_id = " + a.add(e.Base().AccountID), "id <> " + a.add(id), "expires_at IS NOT NULL", "expires_at <= " + a.add(now.UnixMilli())}
	for _, k := range t.Key {
		for i, c := range t.Cols {
			if c == k {
				cond = append(cond, t.cmp(k)+" = "+t.cmpArg(&a, k, vals[i]))
			}
		}
	}
	_, err := tx.Exec(ctx, `DELETE FROM `+t.Name+` WHERE `+strings.Join(cond, " AND "), a...)
	return err
}

func bumpSettings(ctx context.Context, tx pgx.Tx, accountID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO settings_versions(account_id, version) VALUES ($1, 1)
		ON CONFLICT (account_id) DO UPDATE SET version = settings_versions.version + 1`, accountID)
	return err
}

func (t *settingTable[T, PT]) Create(ctx context.Context, e PT) error {
	s := t.s
	b := e.Base()
	if b.AccountID == 0 {
		return fmt.Errorf("postgres: create %s: no account", t.Kind)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := t.dropExpiredTwin(ctx, tx, e, 0, now); err != nil {
			return fmt.Errorf("postgres: create %s: %w", t.Kind, err)
		}
		var a args
		var ph []string
		for _, v := range append([]any{b.AccountID, text(b.Comments), now.UnixMilli(), now.UnixMilli(), sqlcommon.NullMS(b.ExpiresAt)}, t.values(e)...) {
			ph = append(ph, a.add(v))
		}
		cols := "account_id, comments, created_at, last_modified, expires_at, " + strings.Join(t.Cols, ", ")
		err := tx.QueryRow(ctx, `INSERT INTO `+t.Name+`(`+cols+`) VALUES (`+strings.Join(ph, ", ")+`) RETURNING id`, a...).Scan(&id)
		switch {
		case isUnique(err):
			return fmt.Errorf("postgres: create %s: %w", t.Kind, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("postgres: create %s: account %d: %w", t.Kind, b.AccountID, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("postgres: create %s: %w", t.Kind, err)
		}
		return bumpSettings(ctx, tx, b.AccountID)
	})
	if err != nil {
		return err
	}
	b.ID = id
	b.CreatedAt, b.LastModified = now, now
	return nil
}

func (t *settingTable[T, PT]) Update(ctx context.Context, e PT) error {
	s := t.s
	b := e.Base()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var created int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := t.dropExpiredTwin(ctx, tx, e, b.ID, now); err != nil {
			return fmt.Errorf("postgres: update %s: %w", t.Kind, err)
		}
		var a args
		assign := "comments = " + a.add(text(b.Comments)) + ", last_modified = " + a.add(now.UnixMilli()) + ", expires_at = " + a.add(sqlcommon.NullMS(b.ExpiresAt))
		for i, v := range t.values(e) {
			assign += ", " + t.Cols[i] + " = " + a.add(v)
		}
		err := tx.QueryRow(ctx, `UPDATE `+t.Name+` SET `+assign+` WHERE account_id = `+a.add(b.AccountID)+` AND id = `+a.add(b.ID)+` RETURNING created_at`, a...).Scan(&created)
		switch {
		case isUnique(err):
			return fmt.Errorf("postgres: update %s: %w", t.Kind, store.ErrConflict)
		case err != nil:
			if err = notFound(err); err == store.ErrNotFound {
				return err
			}
			return fmt.Errorf("postgres: update %s: %w", t.Kind, err)
		}
		return bumpSettings(ctx, tx, b.AccountID)
	})
	if err != nil {
		return err
	}
	b.CreatedAt, b.LastModified = sqlcommon.FromMS(created), now
	return nil
}

func (t *settingTable[T, PT]) Delete(ctx context.Context, accountID, id int64) error {
	s := t.s
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+t.Name+` WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return fmt.Errorf("postgres: delete %s: %w", t.Kind, err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return bumpSettings(ctx, tx, accountID)
	})
}

// SettingsVersion returns the account's settings version.
func (s *Store) SettingsVersion(ctx context.Context, accountID int64) (int64, error) {
	var v int64
	err := s.db.QueryRow(ctx, `SELECT version FROM settings_versions WHERE account_id = $1`, accountID).Scan(&v)
	if err = notFound(err); err == store.ErrNotFound {
		return 0, nil
	}
	return v, err
}
