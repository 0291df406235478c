package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
		return fmt.Errorf("postgres: time column holds %T", v)
	}
	return nil
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
		return fmt.Errorf("postgres: integer column holds %T", v)
	}
	return nil
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
		return fmt.Errorf("postgres: list column holds %T", v)
	}
	*j.s = nil
	return json.Unmarshal(b, j.s)
}

// settingTable describes one settings table; T is the entry type. Columns in
// nocase are SQLite's COLLATE NOCASE ones: compared, kept unique and sorted on
// lower(...).
type settingTable[T any, PT interface {
	*T
	Base() *store.SettingBase
}] struct {
	name    string          // table name
	kind    string          // store.Kind*
	cols    []string        // the kind's own columns, named as in the API
	key     []string        // unique columns besides account_id
	nocase  map[string]bool // case-insensitive columns
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

// cmp is the column as compared: lower(c) for a case-insensitive one.
func (t *settingTable[T, PT]) cmp(c string) string {
	if t.nocase[c] {
		return "lower(" + c + ")"
	}
	return c
}

func (t *settingTable[T, PT]) cmpArg(a *args, c string, v any) string {
	if t.nocase[c] {
		return "lower(" + a.add(v) + ")"
	}
	return a.add(v)
}

func (t *settingTable[T, PT]) scan(row pgx.Row) (T, error) {
	var e T
	b := PT(&e).Base()
	dest := append([]any{&b.ID, &b.AccountID, &b.Comments, msTime{&b.CreatedAt}, msTime{&b.LastModified}, msTime{&b.ExpiresAt}}, t.fields(&e)...)
	if err := row.Scan(dest...); err != nil {
		if err = notFound(err); err == store.ErrNotFound {
			return e, err
		}
		return e, fmt.Errorf("postgres: %s: %w", t.kind, err)
	}
	return e, nil
}

// values are the kind's column values of e, for writing.
func (t *settingTable[T, PT]) values(e PT) []any {
	out := t.fields(e)
	for i, v := range out {
		switch x := v.(type) {
		case *string:
			out[i] = text(*x)
		case *bool:
			out[i] = *x
		case *int64:
			out[i] = *x
		case nullInt:
			out[i] = nullIfZero(*x.n)
		case strList:
			out[i] = jsonList(*x.s)
		}
	}
	return out
}

func (t *settingTable[T, PT]) get(ctx context.Context, db querier, accountID, id int64) (T, error) {
	return t.scan(db.QueryRow(ctx, `SELECT `+t.selectCols()+` FROM `+t.name+` WHERE account_id = $1 AND id = $2`, accountID, id))
}

func (t *settingTable[T, PT]) list(ctx context.Context, db querier, accountID int64, q store.SettingsQuery) ([]T, int, error) {
	var a args
	where := []string{"account_id = " + a.add(accountID)}
	if q.Search != "" {
		p := a.add(text(q.Search))
		var ors []string
		for _, c := range append(append([]string{}, t.search...), "comments") {
			ors = append(ors, "strpos(lower("+c+"), lower("+p+")) > 0")
		}
		where = append(where, "("+strings.Join(ors, " OR ")+")")
	}
	if q.Pattern != "" {
		where = append(where, t.cmp(t.pattern)+" = "+t.cmpArg(&a, t.pattern, text(q.Pattern)))
	}
	if q.PatternType != "" {
		if !t.has("pattern_type") {
			return nil, 0, fmt.Errorf("postgres: %s has no pattern_type", t.kind)
		}
		where = append(where, "pattern_type = "+a.add(q.PatternType))
	}
	for k, v := range q.Flags {
		if !t.bools[k] {
			return nil, 0, fmt.Errorf("postgres: %s has no boolean %q", t.kind, k)
		}
		where = append(where, k+" = "+a.add(v))
	}
	if q.Provenance != "" {
		if !t.has("provenance") {
			return nil, 0, fmt.Errorf("postgres: %s has no provenance", t.kind)
		}
		where = append(where, "provenance = "+a.add(q.Provenance))
	}
	if len(q.Domains) > 0 {
		if !t.has("domain") {
			return nil, 0, fmt.Errorf("postgres: %s has no domain", t.kind)
		}
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
	if err := db.QueryRow(ctx, `SELECT count(*) FROM `+t.name+` WHERE `+cond, a...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("postgres: count %s: %w", t.kind, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	order := "id " + dir
	if q.Order != "" && q.Order != "id" {
		if !t.orders[q.Order] {
			return nil, 0, fmt.Errorf("postgres: %s cannot be ordered by %q", t.kind, q.Order)
		}
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
	rows, err := db.Query(ctx, `SELECT `+t.selectCols()+` FROM `+t.name+` WHERE `+cond+` ORDER BY `+order+page, a...)
	if err != nil {
		return nil, 0, fmt.Errorf("postgres: list %s: %w", t.kind, err)
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
func (t *settingTable[T, PT]) dropExpiredTwin(ctx context.Context, tx pgx.Tx, e PT, id int64, now time.Time) error {
	vals := t.values(e)
	var a args
	cond := []string{"account_id = " + a.add(e.Base().AccountID), "id <> " + a.add(id), "expires_at IS NOT NULL", "expires_at <= " + a.add(now.UnixMilli())}
	for _, k := range t.key {
		for i, c := range t.cols {
			if c == k {
				cond = append(cond, t.cmp(k)+" = "+t.cmpArg(&a, k, vals[i]))
			}
		}
	}
	_, err := tx.Exec(ctx, `DELETE FROM `+t.name+` WHERE `+strings.Join(cond, " AND "), a...)
	return err
}

func bumpSettings(ctx context.Context, tx pgx.Tx, accountID int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO settings_versions(account_id, version) VALUES ($1, 1)
		ON CONFLICT (account_id) DO UPDATE SET version = settings_versions.version + 1`, accountID)
	return err
}

func (t *settingTable[T, PT]) create(ctx context.Context, s *Store, e PT) error {
	b := e.Base()
	if b.AccountID == 0 {
		return fmt.Errorf("postgres: create %s: no account", t.kind)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := t.dropExpiredTwin(ctx, tx, e, 0, now); err != nil {
			return fmt.Errorf("postgres: create %s: %w", t.kind, err)
		}
		var a args
		var ph []string
		for _, v := range append([]any{b.AccountID, text(b.Comments), now.UnixMilli(), now.UnixMilli(), nullMS(b.ExpiresAt)}, t.values(e)...) {
			ph = append(ph, a.add(v))
		}
		cols := "account_id, comments, created_at, last_modified, expires_at, " + strings.Join(t.cols, ", ")
		err := tx.QueryRow(ctx, `INSERT INTO `+t.name+`(`+cols+`) VALUES (`+strings.Join(ph, ", ")+`) RETURNING id`, a...).Scan(&id)
		switch {
		case isUnique(err):
			return fmt.Errorf("postgres: create %s: %w", t.kind, store.ErrConflict)
		case isForeignKey(err):
			return fmt.Errorf("postgres: create %s: account %d: %w", t.kind, b.AccountID, store.ErrNotFound)
		case err != nil:
			return fmt.Errorf("postgres: create %s: %w", t.kind, err)
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

func (t *settingTable[T, PT]) update(ctx context.Context, s *Store, e PT) error {
	b := e.Base()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var created int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := t.dropExpiredTwin(ctx, tx, e, b.ID, now); err != nil {
			return fmt.Errorf("postgres: update %s: %w", t.kind, err)
		}
		var a args
		assign := "comments = " + a.add(text(b.Comments)) + ", last_modified = " + a.add(now.UnixMilli()) + ", expires_at = " + a.add(nullMS(b.ExpiresAt))
		for i, v := range t.values(e) {
			assign += ", " + t.cols[i] + " = " + a.add(v)
		}
		err := tx.QueryRow(ctx, `UPDATE `+t.name+` SET `+assign+` WHERE account_id = `+a.add(b.AccountID)+` AND id = `+a.add(b.ID)+` RETURNING created_at`, a...).Scan(&created)
		switch {
		case isUnique(err):
			return fmt.Errorf("postgres: update %s: %w", t.kind, store.ErrConflict)
		case err != nil:
			if err = notFound(err); err == store.ErrNotFound {
				return err
			}
			return fmt.Errorf("postgres: update %s: %w", t.kind, err)
		}
		return bumpSettings(ctx, tx, b.AccountID)
	})
	if err != nil {
		return err
	}
	b.CreatedAt, b.LastModified = fromMS(created), now
	return nil
}

func (t *settingTable[T, PT]) delete(ctx context.Context, s *Store, accountID, id int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM `+t.name+` WHERE account_id = $1 AND id = $2`, accountID, id)
		if err != nil {
			return fmt.Errorf("postgres: delete %s: %w", t.kind, err)
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return bumpSettings(ctx, tx, accountID)
	})
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
		key: []string{"pattern_type", "pattern"}, nocase: setOf("pattern"),
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
		cols: []string{"pattern", "pattern_type", "is_regex"}, key: []string{"pattern_type", "pattern"}, nocase: setOf("pattern"),
		bools: setOf("is_regex"), orders: setOf("pattern", "created_at", "last_modified", "pattern_type"), search: []string{"pattern"}, pattern: "pattern",
		fields: func(e *store.BlockSender) []any { return []any{&e.Pattern, &e.PatternType, &e.IsRegex} },
	}
	trustedTable = &settingTable[store.TrustedDomain, *store.TrustedDomain]{
		name: "settings_trusted_domains", kind: store.KindTrustedDomains,
		cols: []string{"pattern", "is_regex", "is_recent", "is_similarity"}, key: []string{"pattern"}, nocase: setOf("pattern"),
		bools: setOf("is_regex", "is_recent", "is_similarity"), orders: setOf("pattern", "created_at", "last_modified"), search: []string{"pattern"}, pattern: "pattern",
		fields: func(e *store.TrustedDomain) []any { return []any{&e.Pattern, &e.IsRegex, &e.IsRecent, &e.IsSimilarity} },
	}
	registryTable = &settingTable[store.ImpersonationEntry, *store.ImpersonationEntry]{
		name: "settings_impersonation_registry", kind: store.KindImpersonationRegistry,
		cols: []string{"name", "email", "is_email_regex", "directory_id", "provenance"}, key: []string{"email"}, nocase: setOf("email"),
		bools: setOf("is_email_regex"), orders: setOf("name", "email", "created_at", "last_modified"), search: []string{"name", "email"}, pattern: "email",
		fields: func(e *store.ImpersonationEntry) []any {
			return []any{&e.Name, &e.Email, &e.IsEmailRegex, nullInt{&e.DirectoryID}, &e.Provenance}
		},
	}
	domainTable = &settingTable[store.ProtectedDomain, *store.ProtectedDomain]{
		name: "settings_domains", kind: store.KindDomains,
		cols: []string{"domain", "drop_dispositions", "folder", "lookback_hops", "require_tls_inbound", "require_tls_outbound",
			"allowed_delivery_modes", "ip_restrictions", "regions", "transport", "status"},
		key: []string{"domain"}, nocase: setOf("domain"),
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
	err := s.db.QueryRow(ctx, `SELECT version FROM settings_versions WHERE account_id = $1`, accountID).Scan(&v)
	if err = notFound(err); err == store.ErrNotFound {
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
	return allowTable.create(ctx, s, e)
}

// UpdateAllowPolicy rewrites an allow policy.
func (s *Store) UpdateAllowPolicy(ctx context.Context, e *store.AllowPolicy) error {
	return allowTable.update(ctx, s, e)
}

// DeleteAllowPolicy removes an allow policy.
func (s *Store) DeleteAllowPolicy(ctx context.Context, accountID, id int64) error {
	return allowTable.delete(ctx, s, accountID, id)
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
	return blockTable.create(ctx, s, e)
}

// UpdateBlockSender rewrites a block entry.
func (s *Store) UpdateBlockSender(ctx context.Context, e *store.BlockSender) error {
	return blockTable.update(ctx, s, e)
}

// DeleteBlockSender removes a block entry.
func (s *Store) DeleteBlockSender(ctx context.Context, accountID, id int64) error {
	return blockTable.delete(ctx, s, accountID, id)
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
	return trustedTable.create(ctx, s, e)
}

// UpdateTrustedDomain rewrites a trusted domain.
func (s *Store) UpdateTrustedDomain(ctx context.Context, e *store.TrustedDomain) error {
	return trustedTable.update(ctx, s, e)
}

// DeleteTrustedDomain removes a trusted domain.
func (s *Store) DeleteTrustedDomain(ctx context.Context, accountID, id int64) error {
	return trustedTable.delete(ctx, s, accountID, id)
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
	return registryTable.create(ctx, s, e)
}

// UpdateImpersonationEntry rewrites a registry entry.
func (s *Store) UpdateImpersonationEntry(ctx context.Context, e *store.ImpersonationEntry) error {
	return registryTable.update(ctx, s, e)
}

// DeleteImpersonationEntry removes a registry entry.
func (s *Store) DeleteImpersonationEntry(ctx context.Context, accountID, id int64) error {
	return registryTable.delete(ctx, s, accountID, id)
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
	return domainTable.create(ctx, s, e)
}

// UpdateProtectedDomain rewrites a protected domain.
func (s *Store) UpdateProtectedDomain(ctx context.Context, e *store.ProtectedDomain) error {
	return domainTable.update(ctx, s, e)
}

// DeleteProtectedDomain removes a protected domain.
func (s *Store) DeleteProtectedDomain(ctx context.Context, accountID, id int64) error {
	return domainTable.delete(ctx, s, accountID, id)
}
