package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

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

func (t *settingTable[T, PT]) scan(row sqlcommon.Scanner) (T, error) {
	var e T
	if err := row.Scan(t.Dest(&e)...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, store.ErrNotFound
		}
		return e, fmt.Errorf("sqlite: %s: %w", t.Kind, err)
	}
	return e, nil
}

// Get, List, Create, Update and Delete are sqlcommon.SettingsOps.
func (t *settingTable[T, PT]) Get(ctx context.Context, accountID, id int64) (T, error) {
	db := t.s.db
	return t.scan(db.QueryRowContext(ctx, `SELECT `+t.SelectCols()+` FROM `+t.Name+` WHERE account_id = ? AND id = ?`, accountID, id))
}

func (t *settingTable[T, PT]) List(ctx context.Context, accountID int64, q store.SettingsQuery) ([]T, int, error) {
	db := t.s.db
	if err := t.CheckQuery(q); err != nil {
		return nil, 0, fmt.Errorf("sqlite: %w", err)
	}
	where := []string{"account_id = ?"}
	args := []any{accountID}
	if q.Search != "" {
		var ors []string
		for _, c := range append(append([]string{}, t.Search...), "comments") {
			ors = append(ors, "instr(lower("+c+"), lower(?)) > 0")
			args = append(args, q.Search)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Pattern != "" {
		where = append(where, t.Pattern+" = ?")
		args = append(args, q.Pattern)
	}
	if q.PatternType != "" {
		where = append(where, "pattern_type = ?")
		args = append(args, q.PatternType)
	}
	for k, v := range q.Flags {
		where = append(where, k+" = ?")
		args = append(args, v)
	}
	if q.Provenance != "" {
		where = append(where, "provenance = ?")
		args = append(args, q.Provenance)
	}
	if len(q.Domains) > 0 {
		where = append(where, "domain IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Domains)), ",")+")")
		for _, d := range q.Domains {
			args = append(args, d)
		}
	}
	if !q.ActiveAt.IsZero() {
		where = append(where, "(expires_at IS NULL OR expires_at > ?)")
		args = append(args, q.ActiveAt.UnixMilli())
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+t.Name+` WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count %s: %w", t.Kind, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order := "id " + dir
	if q.Order != "" && q.Order != "id" {
		order = q.Order + " " + dir + ", id " + dir
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.QueryContext(ctx, `SELECT `+t.SelectCols()+` FROM `+t.Name+` WHERE `+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list %s: %w", t.Kind, err)
	}
	defer rows.Close()
	return sqlcommon.CollectTotal(rows, t.scan, total)
}

// dropExpiredTwin deletes an expired entry (other than id) with e's unique key,
// so a new entry may take its pattern.
func (t *settingTable[T, PT]) dropExpiredTwin(ctx context.Context, tx *sql.Tx, e PT, id int64, now time.Time) error {
	vals := t.Values(e)
	cond := []string{"account_id = ?", "id <> ?", "expires_at IS NOT NULL", "expires_at <= ?"}
	args := []any{e.Base().AccountID, id, now.UnixMilli()}
	for _, k := range t.Key {
		for i, c := range t.Cols {
			if c == k {
				cond = append(cond, k+" = ?")
				args = append(args, vals[i])
			}
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM `+t.Name+` WHERE `+strings.Join(cond, " AND "), args...)
	return err
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func bumpSettings(ctx context.Context, tx *sql.Tx, accountID int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO settings_versions(account_id, version) VALUES (?, 1)
		ON CONFLICT(account_id) DO UPDATE SET version = version + 1`, accountID)
	return err
}

func (t *settingTable[T, PT]) Create(ctx context.Context, e PT) error {
	db := t.s.db
	b := e.Base()
	if b.AccountID == 0 {
		return fmt.Errorf("sqlite: create %s: no account", t.Kind)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := t.dropExpiredTwin(ctx, tx, e, 0, now); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", t.Kind, err)
	}
	cols := "account_id, comments, created_at, last_modified, expires_at, " + strings.Join(t.Cols, ", ")
	args := append([]any{b.AccountID, b.Comments, now.UnixMilli(), now.UnixMilli(), sqlcommon.NullMS(b.ExpiresAt)}, t.Values(e)...)
	res, err := tx.ExecContext(ctx, `INSERT INTO `+t.Name+`(`+cols+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...)
	if isUnique(err) {
		return fmt.Errorf("sqlite: create %s: %w", t.Kind, store.ErrConflict)
	}
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("sqlite: create %s: account %d: %w", t.Kind, b.AccountID, store.ErrNotFound)
		}
		return fmt.Errorf("sqlite: create %s: %w", t.Kind, err)
	}
	if err := bumpSettings(ctx, tx, b.AccountID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", t.Kind, err)
	}
	b.ID, _ = res.LastInsertId()
	b.CreatedAt, b.LastModified = now, now
	return nil
}

func (t *settingTable[T, PT]) Update(ctx context.Context, e PT) error {
	db := t.s.db
	b := e.Base()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := t.dropExpiredTwin(ctx, tx, e, b.ID, now); err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.Kind, err)
	}
	assign := "comments = ?, last_modified = ?, expires_at = ?"
	for _, c := range t.Cols {
		assign += ", " + c + " = ?"
	}
	args := append([]any{b.Comments, now.UnixMilli(), sqlcommon.NullMS(b.ExpiresAt)}, t.Values(e)...)
	args = append(args, b.AccountID, b.ID)
	res, err := tx.ExecContext(ctx, `UPDATE `+t.Name+` SET `+assign+` WHERE account_id = ? AND id = ?`, args...)
	if isUnique(err) {
		return fmt.Errorf("sqlite: update %s: %w", t.Kind, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.Kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if err := tx.QueryRowContext(ctx, `SELECT created_at FROM `+t.Name+` WHERE id = ?`, b.ID).Scan(sqlcommon.MSTime{T: &b.CreatedAt}); err != nil {
		return err
	}
	if err := bumpSettings(ctx, tx, b.AccountID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.Kind, err)
	}
	b.LastModified = now
	return nil
}

func (t *settingTable[T, PT]) Delete(ctx context.Context, accountID, id int64) error {
	db := t.s.db
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM `+t.Name+` WHERE account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete %s: %w", t.Kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if err := bumpSettings(ctx, tx, accountID); err != nil {
		return err
	}
	return tx.Commit()
}

// SettingsVersion returns the account's settings version.
func (s *Store) SettingsVersion(ctx context.Context, accountID int64) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM settings_versions WHERE account_id = ?`, accountID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}
