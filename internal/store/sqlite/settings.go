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
)

var _ store.Settings = (*Store)(nil)

// msTime scans Unix milliseconds (or NULL) into a time; zero for NULL or 0.
type msTime struct{ t *time.Time }

func (m msTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m.t = time.Time{}
	case int64:
		*m.t = fromMS(x)
	default:
		return fmt.Errorf("sqlite: time column holds %T", v)
	}
	return nil
}

// nullMS is a time value stored as NULL when zero.
func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// nullInt scans an integer that may be NULL (0).
type nullInt struct{ n *int64 }

func (m nullInt) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*m.n = 0
	case int64:
		*m.n = x
	default:
		return fmt.Errorf("sqlite: integer column holds %T", v)
	}
	return nil
}

func nullInt64(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// strList keeps a string list as a JSON array in a TEXT column.
type strList struct{ s *[]string }

func (j strList) Scan(v any) error {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	case nil:
		*j.s = nil
		return nil
	default:
		return fmt.Errorf("sqlite: list column holds %T", v)
	}
	*j.s = nil
	return json.Unmarshal(b, j.s)
}

// settingTable describes one settings table; T is the entry type.
type settingTable[T any, PT interface {
	*T
	Base() *store.SettingBase
}] struct {
	name    string          // table name
	kind    string          // store.Kind*
	cols    []string        // the kind's own columns, named as in the API
	key     []string        // unique columns besides account_id
	bools   map[string]bool // columns usable as boolean filters
	orders  map[string]bool // columns usable as order
	search  []string        // columns Search looks in (comments too)
	pattern string          // column SettingsQuery.Pattern matches
	fields  func(PT) []any  // scan destinations or values of cols, in order
}

const settingBaseCols = "id, account_id, comments, created_at, last_modified, expires_at"

func (t *settingTable[T, PT]) selectCols() string {
	return settingBaseCols + ", " + strings.Join(t.cols, ", ")
}

func (t *settingTable[T, PT]) scan(row interface{ Scan(...any) error }) (T, error) {
	var e T
	b := PT(&e).Base()
	dest := append([]any{&b.ID, &b.AccountID, &b.Comments, msTime{&b.CreatedAt}, msTime{&b.LastModified}, msTime{&b.ExpiresAt}}, t.fields(&e)...)
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return e, store.ErrNotFound
		}
		return e, fmt.Errorf("sqlite: %s: %w", t.kind, err)
	}
	return e, nil
}

// values are the kind's column values of e, for writing.
func (t *settingTable[T, PT]) values(e PT) []any {
	out := t.fields(e)
	for i, v := range out {
		switch x := v.(type) {
		case *string:
			out[i] = *x
		case *bool:
			out[i] = *x
		case *int64:
			out[i] = *x
		case nullInt:
			out[i] = nullInt64(*x.n)
		case strList:
			out[i] = jsonList(*x.s)
		}
	}
	return out
}

func (t *settingTable[T, PT]) get(ctx context.Context, db *sql.DB, accountID, id int64) (T, error) {
	return t.scan(db.QueryRowContext(ctx, `SELECT `+t.selectCols()+` FROM `+t.name+` WHERE account_id = ? AND id = ?`, accountID, id))
}

func (t *settingTable[T, PT]) list(ctx context.Context, db *sql.DB, accountID int64, q store.SettingsQuery) ([]T, int, error) {
	where := []string{"account_id = ?"}
	args := []any{accountID}
	if q.Search != "" {
		var ors []string
		for _, c := range append(append([]string{}, t.search...), "comments") {
			ors = append(ors, "instr(lower("+c+"), lower(?)) > 0")
			args = append(args, q.Search)
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Pattern != "" {
		where = append(where, t.pattern+" = ?")
		args = append(args, q.Pattern)
	}
	if q.PatternType != "" {
		if !t.has("pattern_type") {
			return nil, 0, fmt.Errorf("sqlite: %s has no pattern_type", t.kind)
		}
		where = append(where, "pattern_type = ?")
		args = append(args, q.PatternType)
	}
	for k, v := range q.Flags {
		if !t.bools[k] {
			return nil, 0, fmt.Errorf("sqlite: %s has no boolean %q", t.kind, k)
		}
		where = append(where, k+" = ?")
		args = append(args, v)
	}
	if q.Provenance != "" {
		if !t.has("provenance") {
			return nil, 0, fmt.Errorf("sqlite: %s has no provenance", t.kind)
		}
		where = append(where, "provenance = ?")
		args = append(args, q.Provenance)
	}
	if len(q.Domains) > 0 {
		if !t.has("domain") {
			return nil, 0, fmt.Errorf("sqlite: %s has no domain", t.kind)
		}
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
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name+` WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("sqlite: count %s: %w", t.kind, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order := "id " + dir
	if q.Order != "" && q.Order != "id" {
		if !t.orders[q.Order] {
			return nil, 0, fmt.Errorf("sqlite: %s cannot be ordered by %q", t.kind, q.Order)
		}
		order = q.Order + " " + dir + ", id " + dir
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	rows, err := db.QueryContext(ctx, `SELECT `+t.selectCols()+` FROM `+t.name+` WHERE `+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`,
		append(args, limit, q.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: list %s: %w", t.kind, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		e, err := t.scan(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

func (t *settingTable[T, PT]) has(col string) bool {
	for _, c := range t.cols {
		if c == col {
			return true
		}
	}
	return false
}

// dropExpiredTwin deletes an expired entry (other than id) with e's unique key,
// so a new entry may take its pattern.
func (t *settingTable[T, PT]) dropExpiredTwin(ctx context.Context, tx *sql.Tx, e PT, id int64, now time.Time) error {
	vals := t.values(e)
	cond := []string{"account_id = ?", "id <> ?", "expires_at IS NOT NULL", "expires_at <= ?"}
	args := []any{e.Base().AccountID, id, now.UnixMilli()}
	for _, k := range t.key {
		for i, c := range t.cols {
			if c == k {
				cond = append(cond, k+" = ?")
				args = append(args, vals[i])
			}
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE `+strings.Join(cond, " AND "), args...)
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

func (t *settingTable[T, PT]) create(ctx context.Context, db *sql.DB, e PT) error {
	b := e.Base()
	if b.AccountID == 0 {
		return fmt.Errorf("sqlite: create %s: no account", t.kind)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := t.dropExpiredTwin(ctx, tx, e, 0, now); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", t.kind, err)
	}
	cols := "account_id, comments, created_at, last_modified, expires_at, " + strings.Join(t.cols, ", ")
	args := append([]any{b.AccountID, b.Comments, now.UnixMilli(), now.UnixMilli(), nullMS(b.ExpiresAt)}, t.values(e)...)
	res, err := tx.ExecContext(ctx, `INSERT INTO `+t.name+`(`+cols+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...)
	if isUnique(err) {
		return fmt.Errorf("sqlite: create %s: %w", t.kind, store.ErrConflict)
	}
	if err != nil {
		if strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("sqlite: create %s: account %d: %w", t.kind, b.AccountID, store.ErrNotFound)
		}
		return fmt.Errorf("sqlite: create %s: %w", t.kind, err)
	}
	if err := bumpSettings(ctx, tx, b.AccountID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create %s: %w", t.kind, err)
	}
	b.ID, _ = res.LastInsertId()
	b.CreatedAt, b.LastModified = now, now
	return nil
}

func (t *settingTable[T, PT]) update(ctx context.Context, db *sql.DB, e PT) error {
	b := e.Base()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := t.dropExpiredTwin(ctx, tx, e, b.ID, now); err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.kind, err)
	}
	assign := "comments = ?, last_modified = ?, expires_at = ?"
	for _, c := range t.cols {
		assign += ", " + c + " = ?"
	}
	args := append([]any{b.Comments, now.UnixMilli(), nullMS(b.ExpiresAt)}, t.values(e)...)
	args = append(args, b.AccountID, b.ID)
	res, err := tx.ExecContext(ctx, `UPDATE `+t.name+` SET `+assign+` WHERE account_id = ? AND id = ?`, args...)
	if isUnique(err) {
		return fmt.Errorf("sqlite: update %s: %w", t.kind, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if err := tx.QueryRowContext(ctx, `SELECT created_at FROM `+t.name+` WHERE id = ?`, b.ID).Scan(msTime{&b.CreatedAt}); err != nil {
		return err
	}
	if err := bumpSettings(ctx, tx, b.AccountID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: update %s: %w", t.kind, err)
	}
	b.LastModified = now
	return nil
}

func (t *settingTable[T, PT]) delete(ctx context.Context, db *sql.DB, accountID, id int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM `+t.name+` WHERE account_id = ? AND id = ?`, accountID, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete %s: %w", t.kind, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	if err := bumpSettings(ctx, tx, accountID); err != nil {
		return err
	}
	return tx.Commit()
}

func setOf(s ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return m
}

var (
	allowTable = &settingTable[store.AllowPolicy, *store.AllowPolicy]{
		name: "settings_allow_policies", kind: store.KindAllowPolicies,
		cols: []string{"pattern", "pattern_type", "is_regex", "is_acceptable_sender", "is_trusted_sender", "is_exempt_recipient",
			"verify_sender", "is_recipient", "is_sender", "is_spoof"},
		key: []string{"pattern_type", "pattern"},
		bools: setOf("is_regex", "is_acceptable_sender", "is_trusted_sender", "is_exempt_recipient", "verify_sender",
			"is_recipient", "is_sender", "is_spoof"),
		orders: setOf("pattern", "created_at", "last_modified", "pattern_type"), search: []string{"pattern"}, pattern: "pattern",
		fields: func(e *store.AllowPolicy) []any {
			return []any{&e.Pattern, &e.PatternType, &e.IsRegex, &e.IsAcceptableSender, &e.IsTrustedSender, &e.IsExemptRecipient,
				&e.VerifySender, &e.IsRecipient, &e.IsSender, &e.IsSpoof}
		},
	}
	blockTable = &settingTable[store.BlockSender, *store.BlockSender]{
		name: "settings_block_senders", kind: store.KindBlockSenders,
		cols: []string{"pattern", "pattern_type", "is_regex"}, key: []string{"pattern_type", "pattern"},
		bools: setOf("is_regex"), orders: setOf("pattern", "created_at", "last_modified", "pattern_type"), search: []string{"pattern"}, pattern: "pattern",
		fields: func(e *store.BlockSender) []any { return []any{&e.Pattern, &e.PatternType, &e.IsRegex} },
	}
	trustedTable = &settingTable[store.TrustedDomain, *store.TrustedDomain]{
		name: "settings_trusted_domains", kind: store.KindTrustedDomains,
		cols: []string{"pattern", "is_regex", "is_recent", "is_similarity"}, key: []string{"pattern"},
		bools: setOf("is_regex", "is_recent", "is_similarity"), orders: setOf("pattern", "created_at", "last_modified"), search: []string{"pattern"}, pattern: "pattern",
		fields: func(e *store.TrustedDomain) []any { return []any{&e.Pattern, &e.IsRegex, &e.IsRecent, &e.IsSimilarity} },
	}
	registryTable = &settingTable[store.ImpersonationEntry, *store.ImpersonationEntry]{
		name: "settings_impersonation_registry", kind: store.KindImpersonationRegistry,
		cols: []string{"name", "email", "is_email_regex", "directory_id", "provenance"}, key: []string{"email"},
		bools: setOf("is_email_regex"), orders: setOf("name", "email", "created_at", "last_modified"), search: []string{"name", "email"}, pattern: "email",
		fields: func(e *store.ImpersonationEntry) []any {
			return []any{&e.Name, &e.Email, &e.IsEmailRegex, nullInt{&e.DirectoryID}, &e.Provenance}
		},
	}
	domainTable = &settingTable[store.ProtectedDomain, *store.ProtectedDomain]{
		name: "settings_domains", kind: store.KindDomains,
		cols: []string{"domain", "drop_dispositions", "folder", "lookback_hops", "require_tls_inbound", "require_tls_outbound",
			"allowed_delivery_modes", "ip_restrictions", "regions", "transport", "status"},
		key:   []string{"domain"},
		bools: setOf("require_tls_inbound", "require_tls_outbound"), orders: setOf("domain", "created_at", "last_modified"), search: []string{"domain"}, pattern: "domain",
		fields: func(e *store.ProtectedDomain) []any {
			return []any{&e.Domain, strList{&e.DropDispositions}, &e.Folder, &e.LookbackHops, &e.RequireTLSInbound, &e.RequireTLSOutbound,
				strList{&e.AllowedDeliveryModes}, strList{&e.IPRestrictions}, strList{&e.Regions}, &e.Transport, &e.Status}
		},
	}
)

// SettingsVersion returns the account's settings version.
func (s *Store) SettingsVersion(ctx context.Context, accountID int64) (int64, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, `SELECT version FROM settings_versions WHERE account_id = ?`, accountID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// AllowPolicies lists allow policies.
func (s *Store) AllowPolicies(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.AllowPolicy, int, error) {
	return allowTable.list(ctx, s.db, accountID, q)
}

// AllowPolicy returns one allow policy.
func (s *Store) AllowPolicy(ctx context.Context, accountID, id int64) (store.AllowPolicy, error) {
	return allowTable.get(ctx, s.db, accountID, id)
}

// CreateAllowPolicy adds an allow policy.
func (s *Store) CreateAllowPolicy(ctx context.Context, e *store.AllowPolicy) error {
	return allowTable.create(ctx, s.db, e)
}

// UpdateAllowPolicy rewrites an allow policy.
func (s *Store) UpdateAllowPolicy(ctx context.Context, e *store.AllowPolicy) error {
	return allowTable.update(ctx, s.db, e)
}

// DeleteAllowPolicy removes an allow policy.
func (s *Store) DeleteAllowPolicy(ctx context.Context, accountID, id int64) error {
	return allowTable.delete(ctx, s.db, accountID, id)
}

// BlockSenders lists block entries.
func (s *Store) BlockSenders(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.BlockSender, int, error) {
	return blockTable.list(ctx, s.db, accountID, q)
}

// BlockSender returns one block entry.
func (s *Store) BlockSender(ctx context.Context, accountID, id int64) (store.BlockSender, error) {
	return blockTable.get(ctx, s.db, accountID, id)
}

// CreateBlockSender adds a block entry.
func (s *Store) CreateBlockSender(ctx context.Context, e *store.BlockSender) error {
	return blockTable.create(ctx, s.db, e)
}

// UpdateBlockSender rewrites a block entry.
func (s *Store) UpdateBlockSender(ctx context.Context, e *store.BlockSender) error {
	return blockTable.update(ctx, s.db, e)
}

// DeleteBlockSender removes a block entry.
func (s *Store) DeleteBlockSender(ctx context.Context, accountID, id int64) error {
	return blockTable.delete(ctx, s.db, accountID, id)
}

// TrustedDomains lists trusted domains.
func (s *Store) TrustedDomains(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.TrustedDomain, int, error) {
	return trustedTable.list(ctx, s.db, accountID, q)
}

// TrustedDomain returns one trusted domain.
func (s *Store) TrustedDomain(ctx context.Context, accountID, id int64) (store.TrustedDomain, error) {
	return trustedTable.get(ctx, s.db, accountID, id)
}

// CreateTrustedDomain adds a trusted domain.
func (s *Store) CreateTrustedDomain(ctx context.Context, e *store.TrustedDomain) error {
	return trustedTable.create(ctx, s.db, e)
}

// UpdateTrustedDomain rewrites a trusted domain.
func (s *Store) UpdateTrustedDomain(ctx context.Context, e *store.TrustedDomain) error {
	return trustedTable.update(ctx, s.db, e)
}

// DeleteTrustedDomain removes a trusted domain.
func (s *Store) DeleteTrustedDomain(ctx context.Context, accountID, id int64) error {
	return trustedTable.delete(ctx, s.db, accountID, id)
}

// ImpersonationRegistry lists the impersonation registry.
func (s *Store) ImpersonationRegistry(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.ImpersonationEntry, int, error) {
	return registryTable.list(ctx, s.db, accountID, q)
}

// ImpersonationEntry returns one registry entry.
func (s *Store) ImpersonationEntry(ctx context.Context, accountID, id int64) (store.ImpersonationEntry, error) {
	return registryTable.get(ctx, s.db, accountID, id)
}

// CreateImpersonationEntry adds a registry entry.
func (s *Store) CreateImpersonationEntry(ctx context.Context, e *store.ImpersonationEntry) error {
	return registryTable.create(ctx, s.db, e)
}

// UpdateImpersonationEntry rewrites a registry entry.
func (s *Store) UpdateImpersonationEntry(ctx context.Context, e *store.ImpersonationEntry) error {
	return registryTable.update(ctx, s.db, e)
}

// DeleteImpersonationEntry removes a registry entry.
func (s *Store) DeleteImpersonationEntry(ctx context.Context, accountID, id int64) error {
	return registryTable.delete(ctx, s.db, accountID, id)
}

// ProtectedDomains lists protected domains.
func (s *Store) ProtectedDomains(ctx context.Context, accountID int64, q store.SettingsQuery) ([]store.ProtectedDomain, int, error) {
	return domainTable.list(ctx, s.db, accountID, q)
}

// ProtectedDomain returns one protected domain.
func (s *Store) ProtectedDomain(ctx context.Context, accountID, id int64) (store.ProtectedDomain, error) {
	return domainTable.get(ctx, s.db, accountID, id)
}

// CreateProtectedDomain adds a protected domain.
func (s *Store) CreateProtectedDomain(ctx context.Context, e *store.ProtectedDomain) error {
	return domainTable.create(ctx, s.db, e)
}

// UpdateProtectedDomain rewrites a protected domain.
func (s *Store) UpdateProtectedDomain(ctx context.Context, e *store.ProtectedDomain) error {
	return domainTable.update(ctx, s.db, e)
}

// DeleteProtectedDomain removes a protected domain.
func (s *Store) DeleteProtectedDomain(ctx context.Context, accountID, id int64) error {
	return domainTable.delete(ctx, s.db, accountID, id)
}
