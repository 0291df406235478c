// Package postgres is the PostgreSQL implementation of the store, through
// jackc/pgx (pgxpool), for running many stateless `mailwarden serve` nodes
// against one database (DESIGN.md, "Storage and scale"). It passes the same
// suite as the SQLite store (storetest) and keeps the same schema, numbered
// alike (migrations/postgres). Work queues (bulk jobs, submissions, onward
// deliveries) are claimed with SELECT … FOR UPDATE SKIP LOCKED; full-text
// search uses tsvector columns with a GIN index; the content model's counts
// are shared by every node.
package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/migrations"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

// Store is the PostgreSQL store.
type Store struct {
	db *pgxpool.Pool
	sqlcommon.Settings
}

var _ store.Store = (*Store)(nil)

// DeliveryLease is how long DueDeliveries hands a delivery to one node: another
// node sees it due again only when the lease runs out without FinishDelivery
// (the node died mid-delivery).
const DeliveryLease = 10 * time.Minute

// Open connects to the database of dsn (postgres://… or a key=value string) and
// applies migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	// The migration runner is shared with SQLite and speaks database/sql.
	sdb := stdlib.OpenDBFromPool(db)
	err = migrations.Apply(ctx, sdb, migrations.PostgresDialect)
	sdb.Close()
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Store{db: db}
	s.Settings = s.settings()
	return s, nil
}

// Pool exposes the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	s.db.Close()
	return nil
}

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// args collects query arguments and names their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// inTx runs f in a transaction, committed when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx pgx.Tx) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// text makes s storable in a TEXT column: PostgreSQL refuses NUL and invalid
// UTF-8, which hostile mail carries and SQLite keeps; both become U+FFFD.
func text(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// sqlLimit is a LIMIT value: a negative one means none, as in SQLite.
func sqlLimit(n int) any {
	if n < 0 {
		return nil
	}
	return n
}

// CreateAccount creates an account holding the default dispositions.
func (s *Store) CreateAccount(ctx context.Context, name string) (store.Account, error) {
	var id int64
	if err := s.db.QueryRow(ctx, `INSERT INTO accounts(name, created_at) VALUES ($1, $2) RETURNING id`, name, time.Now().UnixMilli()).Scan(&id); err != nil {
		return store.Account{}, fmt.Errorf("postgres: create account: %w", err)
	}
	return s.Account(ctx, id)
}

// accountLockKey is the advisory lock that serialises creating the first account.
const accountLockKey = 0x6d77_0001

// FirstAccountOrCreate implements store.Store: under a transaction-scoped
// advisory lock, so nodes starting together create one account.
func (s *Store) FirstAccountOrCreate(ctx context.Context, name string) (store.Account, bool, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return store.Account{}, false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(accountLockKey)); err != nil {
		return store.Account{}, false, fmt.Errorf("postgres: account lock: %w", err)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO accounts(name, created_at) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM accounts)`, name, time.Now().UnixMilli())
	if err != nil {
		return store.Account{}, false, fmt.Errorf("postgres: create account: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return store.Account{}, false, err
	}
	a, err := s.FirstAccount(ctx)
	return a, tag.RowsAffected() == 1, err
}

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	var hold string
	var created int64
	if err := row.Scan(&a.ID, &a.Name, &hold, &created); err != nil {
		return a, notFound(err)
	}
	a.HoldDispositions = sqlcommon.ParseHold(hold)
	a.CreatedAt = sqlcommon.FromMS(created)
	return a, nil
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id int64) (store.Account, error) {
	return scanAccount(s.db.QueryRow(ctx, `SELECT id, name, hold_dispositions, created_at FROM accounts WHERE id = $1`, id))
}

// FirstAccount returns the oldest account.
func (s *Store) FirstAccount(ctx context.Context) (store.Account, error) {
	return scanAccount(s.db.QueryRow(ctx, `SELECT id, name, hold_dispositions, created_at FROM accounts ORDER BY id LIMIT 1`))
}

// CreateToken makes a random API token for the account.
func (s *Store) CreateToken(ctx context.Context, accountID int64, role string) (string, error) {
	if err := sqlcommon.CheckRole(role); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	if _, err := s.Account(ctx, accountID); err != nil {
		return "", fmt.Errorf("postgres: account %d: %w", accountID, err)
	}
	tok, prefix, err := sqlcommon.NewToken()
	if err != nil {
		return "", err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO api_tokens(account_id, role, token_hash, prefix, created_at) VALUES ($1, $2, $3, $4, $5)`,
		accountID, role, sqlcommon.HashToken(tok), prefix, time.Now().UnixMilli())
	if err != nil {
		return "", fmt.Errorf("postgres: create token: %w", err)
	}
	return tok, nil
}

// Authenticate resolves a token to its principal.
func (s *Store) Authenticate(ctx context.Context, token string) (store.Principal, error) {
	var p store.Principal
	var id, lastUsed int64
	err := s.db.QueryRow(ctx, `SELECT id, account_id, role, prefix, coalesce(last_used_at, 0) FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, sqlcommon.HashToken(token)).
		Scan(&id, &p.AccountID, &p.Role, &p.Name, &lastUsed)
	if err != nil {
		return p, notFound(err)
	}
	s.touchToken(ctx, id, lastUsed)
	p.Name = "token:" + p.Name
	return p, nil
}

// InsertMessage stores one message durably with its raw bytes, search entry, trace and deliveries.
func (s *Store) InsertMessage(ctx context.Context, m *store.Message, raw []byte, trace []string, deliverTo []string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return insertMessage(ctx, tx, m, raw, trace, deliverTo)
	})
}

func insertMessage(ctx context.Context, tx pgx.Tx, m *store.Message, raw []byte, trace []string, deliverTo []string) error {
	b := sqlcommon.SimBands(m.SimHash)
	err := tx.QueryRow(ctx, `INSERT INTO messages(id, account_id, message_id, subject, from_addr, from_name, from_domain, reply_to,
		to_addrs, envelope_from, envelope_to, client_ip, helo, sent_at, scanned_at, disposition, triggers, auth, delivery_mode,
		delivery_status, is_quarantined, structure_hash, simhash, sim_b0, sim_b1, sim_b2, sim_b3, campaign_id, size, details)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30) RETURNING seq`,
		text(m.ID), m.AccountID, text(m.MessageID), text(m.Subject), text(m.FromAddr), text(m.FromName), text(m.FromDomain), text(m.ReplyTo),
		sqlcommon.JSONList(m.To), text(m.EnvelopeFrom), sqlcommon.JSONList(m.EnvelopeTo), text(m.ClientIP), text(m.Helo), sqlcommon.MS(m.SentAt), sqlcommon.MS(m.ScannedAt),
		m.Disposition, text(sqlcommon.NonEmpty(m.Triggers, "[]")), text(sqlcommon.NonEmpty(m.Auth, "{}")), m.DeliveryMode, m.DeliveryStatus, m.IsQuarantined,
		text(m.StructureHash), int64(m.SimHash), b[0], b[1], b[2], b[3], text(m.CampaignID), m.Size, text(sqlcommon.NonEmpty(m.Details, "{}"))).Scan(&m.Seq)
	if err != nil {
		return fmt.Errorf("postgres: insert message: %w", err)
	}
	if raw == nil {
		raw = []byte{}
	}
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO message_raw(seq, raw) VALUES ($1, $2)`, m.Seq, raw)
	recipients := strings.Join(append(append([]string{}, m.To...), m.EnvelopeTo...), " ")
	batch.Queue(`INSERT INTO messages_search(seq, account_id, sender, recipients, subject, message_id, attachments)
		VALUES ($1, $2, $3::tsvector, $4::tsvector, $5::tsvector, $6::tsvector, $7::tsvector)`,
		m.Seq, m.AccountID, tsvector(m.FromAddr+" "+m.FromName+" "+m.EnvelopeFrom), tsvector(recipients), tsvector(m.Subject),
		tsvector(m.MessageID), tsvector(m.SearchAttachments))
	now := time.Now().UnixMilli()
	for _, line := range trace {
		batch.Queue(`INSERT INTO trace(message_seq, direction, logged_at, line) VALUES ($1, 'inbound', $2, $3)`, m.Seq, now, text(line))
	}
	for _, r := range deliverTo {
		batch.Queue(`INSERT INTO deliveries(message_seq, recipient, status, next_attempt_at, updated_at) VALUES ($1, $2, 'pending', $3, $4)
			ON CONFLICT (message_seq, recipient) DO NOTHING`, m.Seq, text(r), now, now)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("postgres: insert message: %w", err)
	}
	return addRollup(ctx, tx, 1, store.Rollup(m.AccountID, m.ScannedAt, m.Disposition, m.Triggers, m.EnvelopeTo))
}

func scanMessage(row pgx.Row) (store.Message, error) {
	v, err := sqlcommon.ScanMessage(row)
	return v, notFound(err)
}

func collectMessages(rows pgx.Rows, err error) ([]store.Message, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanMessage)
}

// GetMessage returns a message of the account by its id.
func (s *Store) GetMessage(ctx context.Context, accountID int64, id string) (store.Message, error) {
	return scanMessage(s.db.QueryRow(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE account_id = $1 AND id = $2`, accountID, id))
}

// GetMessageBySeq returns a message by its sequence number.
func (s *Store) GetMessageBySeq(ctx context.Context, seq int64) (store.Message, error) {
	return scanMessage(s.db.QueryRow(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE seq = $1`, seq))
}

// Raw returns the raw bytes of a message.
func (s *Store) Raw(ctx context.Context, seq int64) ([]byte, error) {
	var raw []byte
	err := s.db.QueryRow(ctx, `SELECT raw FROM message_raw WHERE seq = $1`, seq).Scan(&raw)
	return raw, notFound(err)
}

// Search lists the account's messages, newest first.
func (s *Store) Search(ctx context.Context, accountID int64, q store.Query) (store.Page, error) {
	var a args
	from := "messages m"
	where := []string{"m.account_id = " + a.add(accountID)}
	fts := false
	// Free text: every term is a phrase that must match in one of the fields; a
	// term without words is left out, and a text of only such terms finds
	// nothing (as FTS5 does).
	for _, term := range strings.Fields(q.Text) {
		tq, ok := tsquery(term, false)
		if !ok {
			continue
		}
		p := a.add(tq)
		where = append(where, fmt.Sprintf("(f.sender @@ %[1]s::tsquery OR f.recipients @@ %[1]s::tsquery OR f.subject @@ %[1]s::tsquery OR f.message_id @@ %[1]s::tsquery OR f.attachments @@ %[1]s::tsquery)", p))
		fts = true
	}
	if q.Text != "" && !fts {
		return store.Page{}, nil
	}
	// Field filters: the words of the value as a phrase, the last one a prefix.
	for _, f := range []struct{ col, v string }{{"sender", q.Sender}, {"recipients", q.Recipient}, {"subject", q.Subject}} {
		if f.v == "" {
			continue
		}
		tq, ok := tsquery(f.v, true)
		if !ok {
			return store.Page{}, nil // nothing searchable in the filter: nothing matches
		}
		where = append(where, "f."+f.col+" @@ "+a.add(tq)+"::tsquery")
		fts = true
	}
	if fts {
		from = "messages m JOIN messages_search f ON f.seq = m.seq"
	}
	if q.Domain != "" {
		where = append(where, "m.from_domain = "+a.add(text(strings.ToLower(q.Domain))))
	}
	if q.MessageID != "" {
		where = append(where, "m.message_id = "+a.add(text(strings.Trim(q.MessageID, "<>"))))
	}
	if q.Disposition != "" {
		where = append(where, "m.disposition = "+a.add(text(q.Disposition)))
	}
	if q.DeliveryState != "" {
		where = append(where, "m.delivery_status = "+a.add(text(q.DeliveryState)))
	}
	if q.Action != "" {
		where = append(where, "EXISTS (SELECT 1 FROM action_log x WHERE x.message_seq = m.seq AND x.operation = "+a.add(text(q.Action))+")")
	}
	if q.DetectionsOnly {
		where = append(where, "m.disposition <> 'NONE'")
	}
	if !q.Start.IsZero() {
		where = append(where, "m.scanned_at >= "+a.add(sqlcommon.MS(q.Start)))
	}
	if !q.End.IsZero() {
		where = append(where, "m.scanned_at < "+a.add(sqlcommon.MS(q.End)))
	}
	var page store.Page
	cond := strings.Join(where, " AND ")
	if q.CountTotal {
		// Count up to store.MaxCount and say when the real number is larger.
		ca := append(args{}, a...)
		lim := ca.add(store.MaxCount + 1)
		if err := s.db.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+from+` WHERE `+cond+` LIMIT `+lim+`) c`, ca...).Scan(&page.Total); err != nil {
			return page, fmt.Errorf("postgres: count: %w", err)
		}
		if page.Total > store.MaxCount {
			page.Total, page.TotalCapped = store.MaxCount, true
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	if q.Cursor > 0 {
		cond += " AND m.seq < " + a.add(q.Cursor)
	}
	lim, off := a.add(limit+1), a.add(max(q.Offset, 0))
	msgs, err := collectMessages(s.db.Query(ctx, `SELECT `+sqlcommon.Prefixed("m.", sqlcommon.MessageCols)+` FROM `+from+` WHERE `+cond+` ORDER BY m.seq DESC LIMIT `+lim+` OFFSET `+off, a...))
	if err != nil {
		return page, fmt.Errorf("postgres: search: %w", err)
	}
	page.Messages = msgs
	if len(page.Messages) > limit {
		page.Messages = page.Messages[:limit]
		page.NextCursor = page.Messages[limit-1].Seq
	}
	return page, nil
}

// AddTrace appends a trace line.
func (s *Store) AddTrace(ctx context.Context, seq int64, direction, line string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO trace(message_seq, direction, logged_at, line) VALUES ($1, $2, $3, $4)`, seq, direction, time.Now().UnixMilli(), text(line))
	return err
}

// Trace returns a message's trace lines in order.
func (s *Store) Trace(ctx context.Context, seq int64) ([]store.TraceLine, error) {
	rows, err := s.db.Query(ctx, `SELECT direction, logged_at, line FROM trace WHERE message_seq = $1 ORDER BY id`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanTraceLine)
}

// AddAction appends an action log entry.
func (s *Store) AddAction(ctx context.Context, seq int64, a store.Action) error {
	return addAction(ctx, s.db, seq, a)
}

func addAction(ctx context.Context, q querier, seq int64, a store.Action) error {
	props, _ := json.Marshal(a.Properties)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	_, err := q.Exec(ctx, `INSERT INTO action_log(message_seq, operation, status, requested_by, properties, created_at, completed_at) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
		seq, a.Operation, a.Status, text(a.RequestedBy), string(props), sqlcommon.MS(a.CreatedAt), sqlcommon.NullMS(a.CompletedAt))
	return err
}

// Actions returns a message's action log.
func (s *Store) Actions(ctx context.Context, seq int64) ([]store.Action, error) {
	rows, err := s.db.Query(ctx, `SELECT id, operation, status, requested_by, properties, created_at, coalesce(completed_at, 0) FROM action_log WHERE message_seq = $1 ORDER BY id`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanAction)
}

// Audit records a state change.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	return audit(ctx, s.db, e)
}

func audit(ctx context.Context, q querier, e store.AuditEntry) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := q.Exec(ctx, `INSERT INTO audit_log(account_id, actor, action, target, detail, created_at) VALUES ($1,$2,$3,$4,$5,$6)`,
		e.AccountID, text(e.Actor), e.Action, text(e.Target), text(e.Detail), time.Now().UnixMilli())
	return err
}

// AuditLog returns the newest audit entries of an account.
func (s *Store) AuditLog(ctx context.Context, accountID int64, limit int) ([]store.AuditEntry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, account_id, actor, action, target, detail, created_at FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2`, accountID, sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanAuditEntry)
}

// QueueDeliveries queues recipients not queued before and lifts the quarantine.
func (s *Store) QueueDeliveries(ctx context.Context, seq int64, recipients []string) ([]string, error) {
	var queued []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		queued, err = queueDeliveries(ctx, tx, seq, recipients)
		return err
	})
	return queued, err
}

func queueDeliveries(ctx context.Context, tx pgx.Tx, seq int64, recipients []string) ([]string, error) {
	now := time.Now().UnixMilli()
	var queued []string
	for _, r := range recipients {
		tag, err := tx.Exec(ctx, `INSERT INTO deliveries(message_seq, recipient, status, next_attempt_at, updated_at) VALUES ($1, $2, 'pending', $3, $4)
			ON CONFLICT (message_seq, recipient) DO NOTHING`, seq, r, now, now)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() > 0 {
			queued = append(queued, r)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET is_quarantined = false,
		delivery_status = CASE WHEN delivery_status = 'delivered' THEN 'delivered' ELSE 'queued' END WHERE seq = $1`, seq); err != nil {
		return nil, err
	}
	return queued, nil
}

// DueDeliveries claims pending deliveries whose time has come: each is handed to
// this caller for DeliveryLease (FOR UPDATE SKIP LOCKED, then next_attempt_at
// moves past the lease), so two nodes never attempt the same delivery at once.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	rows, err := s.db.Query(ctx, `WITH due AS (
			SELECT id, next_attempt_at FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE deliveries d SET next_attempt_at = $3 FROM due WHERE d.id = due.id
		RETURNING d.id, d.message_seq, d.recipient, d.attempts, due.next_attempt_at`,
		now.UnixMilli(), sqlLimit(limit), now.Add(DeliveryLease).UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type due struct {
		store.Delivery
		at int64
	}
	var ds []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.ID, &d.MessageSeq, &d.Recipient, &d.Attempts, &d.at); err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// RETURNING has no order: restore the queue's.
	sort.Slice(ds, func(i, j int) bool { return ds[i].at < ds[j].at || ds[i].at == ds[j].at && ds[i].ID < ds[j].ID })
	out := make([]store.Delivery, len(ds))
	for i, d := range ds {
		out[i] = d.Delivery
	}
	return out, nil
}

// PendingDeliveries returns a message's unfinished deliveries.
func (s *Store) PendingDeliveries(ctx context.Context, seq int64) ([]store.Delivery, error) {
	rows, err := s.db.Query(ctx, `SELECT id, message_seq, recipient, attempts FROM deliveries WHERE message_seq = $1 AND status = 'pending' ORDER BY id`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanDelivery)
}

// ClaimDueDeliveries implements store.Store: rows another transaction holds are
// skipped, not waited for.
func (s *Store) ClaimDueDeliveries(ctx context.Context, seq int64, now time.Time, lease time.Duration) ([]store.Delivery, error) {
	rows, err := s.db.Query(ctx, `WITH due AS (
			SELECT id FROM deliveries WHERE message_seq = $1 AND status = 'pending' AND next_attempt_at <= $2 FOR UPDATE SKIP LOCKED)
		UPDATE deliveries d SET next_attempt_at = $3 FROM due WHERE d.id = due.id
		RETURNING d.id, d.message_seq, d.recipient, d.attempts`, seq, now.UnixMilli(), now.Add(lease).UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ds, err := sqlcommon.Collect(rows, sqlcommon.ScanDelivery)
	slices.SortFunc(ds, func(a, b store.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds, err
}

// FinishDelivery records the outcome of one attempt.
func (s *Store) FinishDelivery(ctx context.Context, id int64, status, errText string, next time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE deliveries SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $5`,
		status, errText, sqlcommon.MS(next), time.Now().UnixMilli(), id)
	return err
}

// RefreshDeliveryStatus derives a message's delivery_status from its deliveries.
func (s *Store) RefreshDeliveryStatus(ctx context.Context, seq int64) error {
	var pending, delivered, failed, retried int
	err := s.db.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'delivered'), count(*) FILTER (WHERE status = 'failed'),
		count(*) FILTER (WHERE status = 'pending' AND attempts > 0) FROM deliveries WHERE message_seq = $1`, seq).Scan(&pending, &delivered, &failed, &retried)
	if err != nil {
		return err
	}
	status := sqlcommon.DeliveryStatus(pending, delivered, failed, retried)
	if status == "" {
		return nil
	}
	_, err = s.db.Exec(ctx, `UPDATE messages SET delivery_status = $1 WHERE seq = $2 AND NOT is_quarantined`, status, seq)
	return err
}

// SenderHistory summarises the account's most recent messages From addr.
func (s *Store) SenderHistory(ctx context.Context, accountID int64, addr string, limit int) (store.SenderHistory, error) {
	var h store.SenderHistory
	var first int64
	err := s.db.QueryRow(ctx, `SELECT count(*), coalesce(sum(CASE WHEN disposition IN ('NONE', 'BULK') THEN 1 ELSE 0 END), 0), coalesce(min(scanned_at), 0),
			EXISTS (SELECT 1 FROM messages WHERE account_id = $1)
		FROM (SELECT disposition, scanned_at FROM messages WHERE account_id = $1 AND lower(from_addr) = $2 ORDER BY seq DESC LIMIT $3) h`,
		accountID, strings.ToLower(addr), limit).Scan(&h.Messages, &h.Clean, &first, &h.Kept)
	if err != nil {
		return h, fmt.Errorf("postgres: sender history: %w", err)
	}
	h.First = sqlcommon.FromMS(first)
	return h, nil
}

// Campaign finds an earlier message of the same campaign.
func (s *Store) Campaign(ctx context.Context, accountID int64, structureHash string, simhash uint64, maxBits int) (string, error) {
	b := sqlcommon.SimBands(simhash)
	rows, err := s.db.Query(ctx, `SELECT campaign_id, simhash, structure_hash FROM (
		SELECT seq, campaign_id, simhash, structure_hash FROM messages WHERE account_id = $1 AND (sim_b0 = $2 OR sim_b1 = $3 OR sim_b2 = $4 OR sim_b3 = $5)
		UNION (SELECT seq, campaign_id, simhash, structure_hash FROM messages WHERE account_id = $1 AND structure_hash = $6 ORDER BY seq DESC LIMIT 200)
		) c ORDER BY seq DESC LIMIT 400`,
		accountID, b[0], b[1], b[2], b[3], structureHash)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var cid, sh string
		var h int64
		if err := rows.Scan(&cid, &h, &sh); err != nil {
			return "", err
		}
		if sqlcommon.CampaignMatch(h, sh, simhash, structureHash, maxBits) {
			return cid, nil
		}
	}
	return "", rows.Err()
}
