// Package sqlite is the embedded SQLite implementation of the store, through
// modernc.org/sqlite (pure Go, FTS5), in WAL mode with synchronous=FULL so a
// committed transaction is on disk before the caller is told so.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/migrations"
	"github.com/mailwarden/mailwarden/internal/store/sqlcommon"
)

// Store is the SQLite store.
type Store struct {
	db *sql.DB
	sqlcommon.Settings
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "mmap_size(1073741824)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer at a time is what SQLite does anyway; a small pool serves readers.
	db.SetMaxOpenConns(8)
	s := &Store{db: db}
	s.Settings = s.settings()
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// DB exposes the handle for packages that keep their own tables (bayes).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func (s *Store) migrate(ctx context.Context) error {
	return migrations.Apply(ctx, s.db, migrations.SQLiteDialect)
}

// notFound is store.ErrNotFound for database/sql's no-rows error, else err.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// CreateAccount creates an account holding the default dispositions.
func (s *Store) CreateAccount(ctx context.Context, name string) (store.Account, error) {
	now := time.Now()
	res, err := s.db.ExecContext(ctx, `INSERT INTO accounts(name, created_at) VALUES (?, ?)`, name, now.UnixMilli())
	if err != nil {
		return store.Account{}, fmt.Errorf("sqlite: create account: %w", err)
	}
	id, _ := res.LastInsertId()
	return s.Account(ctx, id)
}

// FirstAccountOrCreate implements store.Store: the insert is one statement that
// only inserts into an empty table, which SQLite runs under its write lock.
func (s *Store) FirstAccountOrCreate(ctx context.Context, name string) (store.Account, bool, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO accounts(name, created_at) SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM accounts)`, name, time.Now().UnixMilli())
	if err != nil {
		return store.Account{}, false, fmt.Errorf("sqlite: create account: %w", err)
	}
	n, _ := res.RowsAffected()
	a, err := s.FirstAccount(ctx)
	return a, n == 1, err
}

func scanAccount(row interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var hold string
	var created int64
	if err := row.Scan(&a.ID, &a.Name, &hold, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, store.ErrNotFound
		}
		return a, err
	}
	a.HoldDispositions = sqlcommon.ParseHold(hold)
	a.CreatedAt = sqlcommon.FromMS(created)
	return a, nil
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id int64) (store.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT id, name, hold_dispositions, created_at FROM accounts WHERE id = ?`, id))
}

// FirstAccount returns the oldest account.
func (s *Store) FirstAccount(ctx context.Context) (store.Account, error) {
	return scanAccount(s.db.QueryRowContext(ctx, `SELECT id, name, hold_dispositions, created_at FROM accounts ORDER BY id LIMIT 1`))
}

// CreateToken makes a random API token for the account.
func (s *Store) CreateToken(ctx context.Context, accountID int64, role string) (string, error) {
	if err := sqlcommon.CheckRole(role); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	if _, err := s.Account(ctx, accountID); err != nil {
		return "", fmt.Errorf("sqlite: account %d: %w", accountID, err)
	}
	tok, prefix, err := sqlcommon.NewToken()
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO api_tokens(account_id, role, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?)`,
		accountID, role, sqlcommon.HashToken(tok), prefix, time.Now().UnixMilli())
	if err != nil {
		return "", fmt.Errorf("sqlite: create token: %w", err)
	}
	return tok, nil
}

// Authenticate resolves a token to its principal.
func (s *Store) Authenticate(ctx context.Context, token string) (store.Principal, error) {
	var p store.Principal
	var id, lastUsed int64
	err := s.db.QueryRowContext(ctx, `SELECT id, account_id, role, prefix, coalesce(last_used_at, 0) FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`, sqlcommon.HashToken(token)).
		Scan(&id, &p.AccountID, &p.Role, &p.Name, &lastUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return p, store.ErrNotFound
	}
	if err != nil {
		return p, err
	}
	s.touchToken(ctx, id, lastUsed)
	p.Name = "token:" + p.Name
	return p, nil
}

// InsertMessage stores one message durably with its raw bytes, search entry, trace and deliveries.
func (s *Store) InsertMessage(ctx context.Context, m *store.Message, raw []byte, trace []string, deliverTo []string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer tx.Rollback()
	b := sqlcommon.SimBands(m.SimHash)
	res, err := tx.ExecContext(ctx, `INSERT INTO messages(id, account_id, message_id, subject, from_addr, from_name, from_domain, reply_to,
		to_addrs, envelope_from, envelope_to, client_ip, helo, sent_at, scanned_at, disposition, triggers, auth, delivery_mode,
		delivery_status, is_quarantined, structure_hash, simhash, sim_b0, sim_b1, sim_b2, sim_b3, campaign_id, size, details)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		m.ID, m.AccountID, m.MessageID, m.Subject, m.FromAddr, m.FromName, m.FromDomain, m.ReplyTo,
		sqlcommon.JSONList(m.To), m.EnvelopeFrom, sqlcommon.JSONList(m.EnvelopeTo), m.ClientIP, m.Helo, sqlcommon.MS(m.SentAt), sqlcommon.MS(m.ScannedAt),
		m.Disposition, sqlcommon.NonEmpty(m.Triggers, "[]"), sqlcommon.NonEmpty(m.Auth, "{}"), m.DeliveryMode, m.DeliveryStatus, m.IsQuarantined,
		m.StructureHash, int64(m.SimHash), b[0], b[1], b[2], b[3], m.CampaignID, m.Size, sqlcommon.NonEmpty(m.Details, "{}"))
	if err != nil {
		return fmt.Errorf("sqlite: insert message: %w", err)
	}
	seq, _ := res.LastInsertId()
	m.Seq = seq
	if raw == nil {
		raw = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO message_raw(seq, raw) VALUES (?, ?)`, seq, raw); err != nil {
		return fmt.Errorf("sqlite: insert raw: %w", err)
	}
	recipients := strings.Join(append(append([]string{}, m.To...), m.EnvelopeTo...), " ")
	if _, err := tx.ExecContext(ctx, `INSERT INTO messages_fts(rowid, sender, recipients, subject, message_id, attachments) VALUES (?,?,?,?,?,?)`,
		seq, m.FromAddr+" "+m.FromName+" "+m.EnvelopeFrom, recipients, m.Subject, m.MessageID, m.SearchAttachments); err != nil {
		return fmt.Errorf("sqlite: index message: %w", err)
	}
	now := time.Now().UnixMilli()
	for _, line := range trace {
		if _, err := tx.ExecContext(ctx, `INSERT INTO trace(message_seq, direction, logged_at, line) VALUES (?, 'inbound', ?, ?)`, seq, now, line); err != nil {
			return fmt.Errorf("sqlite: trace: %w", err)
		}
	}
	for _, r := range deliverTo {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries(message_seq, recipient, status, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`,
			seq, r, now, now); err != nil {
			return fmt.Errorf("sqlite: queue delivery: %w", err)
		}
	}
	if err := addRollup(ctx, tx, store.Rollup(m.AccountID, m.ScannedAt, m.Disposition, m.Triggers, m.EnvelopeTo), 1); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit message: %w", err)
	}
	return nil
}

func scanMessage(row interface{ Scan(...any) error }) (store.Message, error) {
	v, err := sqlcommon.ScanMessage(row)
	return v, notFound(err)
}

// GetMessage returns a message of the account by its id.
func (s *Store) GetMessage(ctx context.Context, accountID int64, id string) (store.Message, error) {
	return scanMessage(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE account_id = ? AND id = ?`, accountID, id))
}

// GetMessageBySeq returns a message by its sequence number.
func (s *Store) GetMessageBySeq(ctx context.Context, seq int64) (store.Message, error) {
	return scanMessage(s.db.QueryRowContext(ctx, `SELECT `+sqlcommon.MessageCols+` FROM messages WHERE seq = ?`, seq))
}

// Raw returns the raw bytes of a message.
func (s *Store) Raw(ctx context.Context, seq int64) ([]byte, error) {
	var raw []byte
	err := s.db.QueryRowContext(ctx, `SELECT raw FROM message_raw WHERE seq = ?`, seq).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return raw, err
}

// ftsQuery turns free text into an FTS5 query of quoted terms (all must match), so
// user input can never be FTS5 syntax. Control characters separate terms like
// spaces: a NUL inside a quoted term ends SQLite's string early.
func ftsQuery(text string) string {
	var terms []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		f = strings.ReplaceAll(f, `"`, `""`)
		terms = append(terms, `"`+f+`"`)
	}
	return strings.Join(terms, " ")
}

// ftsPhrase turns a filter value into an FTS5 phrase of its words, the last one a
// prefix: "bob@corp" finds bob@corp.test, "Quarterly inv" finds "Quarterly invoice".
func ftsPhrase(v string) (string, bool) {
	words := strings.FieldsFunc(v, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) == 0 {
		return "", false
	}
	return `"` + strings.Join(words, " ") + `"*`, true
}

// Search lists the account's messages, newest first.
func (s *Store) Search(ctx context.Context, accountID int64, q store.Query) (store.Page, error) {
	// Full text and the sender, recipient and subject filters go through the FTS5
	// index, which then drives the query newest first (ORDER BY its rowid, the
	// message seq): a word matching 10% of a million messages costs the page, not
	// the whole match set, and no filter scans the table.
	var fts []string
	if t := ftsQuery(q.Text); t != "" {
		fts = append(fts, t)
	}
	for _, f := range []struct{ col, v string }{{"sender", q.Sender}, {"recipients", q.Recipient}, {"subject", q.Subject}} {
		if f.v == "" {
			continue
		}
		phrase, ok := ftsPhrase(f.v)
		if !ok {
			return store.Page{}, nil // nothing searchable in the filter: nothing matches
		}
		fts = append(fts, f.col+" : "+phrase)
	}
	from, order, seqCol := "messages m", "m.seq DESC", "m.seq"
	where := []string{"m.account_id = ?"}
	args := []any{accountID}
	if len(fts) > 0 {
		from, order, seqCol = "messages_fts f JOIN messages m ON m.seq = f.rowid", "f.rowid DESC", "f.rowid"
		where = append([]string{"messages_fts MATCH ?"}, where...)
		args = append([]any{strings.Join(fts, " AND ")}, args...)
	}
	if q.Domain != "" {
		where = append(where, "m.from_domain = ?")
		args = append(args, strings.ToLower(q.Domain))
	}
	if q.MessageID != "" {
		where = append(where, "m.message_id = ?")
		args = append(args, strings.Trim(q.MessageID, "<>"))
	}
	if q.Disposition != "" {
		where = append(where, "m.disposition = ?")
		args = append(args, q.Disposition)
	}
	if q.DeliveryState != "" {
		where = append(where, "m.delivery_status = ?")
		args = append(args, q.DeliveryState)
	}
	if q.Action != "" {
		where = append(where, "EXISTS (SELECT 1 FROM action_log a WHERE a.message_seq = m.seq AND a.operation = ?)")
		args = append(args, q.Action)
	}
	if q.DetectionsOnly {
		where = append(where, "m.disposition <> 'NONE'")
	}
	if !q.Start.IsZero() {
		where = append(where, "m.scanned_at >= ?")
		args = append(args, sqlcommon.MS(q.Start))
	}
	if !q.End.IsZero() {
		where = append(where, "m.scanned_at < ?")
		args = append(args, sqlcommon.MS(q.End))
	}
	var page store.Page
	cond := strings.Join(where, " AND ")
	if q.CountTotal {
		// Counting a million matches costs more than the page itself: count up to
		// store.MaxCount and say when the real number is larger.
		countArgs := append(append([]any{}, args...), store.MaxCount+1)
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+from+` WHERE `+cond+` LIMIT ?)`, countArgs...).Scan(&page.Total); err != nil {
			return page, fmt.Errorf("sqlite: count: %w", err)
		}
		if page.Total > store.MaxCount {
			page.Total, page.TotalCapped = store.MaxCount, true
		}
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 20
	}
	listArgs := append([]any{}, args...)
	if q.Cursor > 0 {
		cond += " AND " + seqCol + " < ?"
		listArgs = append(listArgs, q.Cursor)
	}
	listArgs = append(listArgs, limit+1, q.Offset)
	rows, err := s.db.QueryContext(ctx, `SELECT `+sqlcommon.Prefixed("m.", sqlcommon.MessageCols)+` FROM `+from+` WHERE `+cond+` ORDER BY `+order+` LIMIT ? OFFSET ?`, listArgs...)
	if err != nil {
		return page, fmt.Errorf("sqlite: search: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return page, err
		}
		page.Messages = append(page.Messages, m)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Messages) > limit {
		page.Messages = page.Messages[:limit]
		page.NextCursor = page.Messages[limit-1].Seq
	}
	return page, nil
}

// AddTrace appends a trace line.
func (s *Store) AddTrace(ctx context.Context, seq int64, direction, line string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO trace(message_seq, direction, logged_at, line) VALUES (?, ?, ?, ?)`, seq, direction, time.Now().UnixMilli(), line)
	return err
}

// Trace returns a message's trace lines in order.
func (s *Store) Trace(ctx context.Context, seq int64) ([]store.TraceLine, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT direction, logged_at, line FROM trace WHERE message_seq = ? ORDER BY id`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanTraceLine)
}

// AddAction appends an action log entry.
func (s *Store) AddAction(ctx context.Context, seq int64, a store.Action) error {
	props, _ := json.Marshal(a.Properties)
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	var completed any
	if !a.CompletedAt.IsZero() {
		completed = sqlcommon.MS(a.CompletedAt)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO action_log(message_seq, operation, status, requested_by, properties, created_at, completed_at) VALUES (?,?,?,?,?,?,?)`,
		seq, a.Operation, a.Status, a.RequestedBy, string(props), sqlcommon.MS(a.CreatedAt), completed)
	return err
}

// Actions returns a message's action log.
func (s *Store) Actions(ctx context.Context, seq int64) ([]store.Action, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, operation, status, requested_by, properties, created_at, coalesce(completed_at, 0) FROM action_log WHERE message_seq = ? ORDER BY id`, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanAction)
}

// Audit records a state change.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_log(account_id, actor, action, target, detail, created_at) VALUES (?,?,?,?,?,?)`,
		e.AccountID, e.Actor, e.Action, e.Target, e.Detail, time.Now().UnixMilli())
	return err
}

// AuditLog returns the newest audit entries of an account.
func (s *Store) AuditLog(ctx context.Context, accountID int64, limit int) ([]store.AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, account_id, actor, action, target, detail, created_at FROM audit_log WHERE account_id = ? ORDER BY id DESC LIMIT ?`, accountID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanAuditEntry)
}

// QueueDeliveries queues recipients not queued before and lifts the quarantine.
func (s *Store) QueueDeliveries(ctx context.Context, seq int64, recipients []string) ([]string, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := time.Now().UnixMilli()
	var queued []string
	for _, r := range recipients {
		res, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO deliveries(message_seq, recipient, status, next_attempt_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`, seq, r, now, now)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			queued = append(queued, r)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET is_quarantined = 0, delivery_status = CASE WHEN delivery_status = 'delivered' THEN 'delivered' ELSE 'queued' END WHERE seq = ?`, seq); err != nil {
		return nil, err
	}
	return queued, tx.Commit()
}

// DueDeliveries returns pending deliveries whose time has come.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, limit int) ([]store.Delivery, error) {
	return s.deliveries(ctx, `SELECT id, message_seq, recipient, attempts FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`, now.UnixMilli(), limit)
}

// PendingDeliveries returns a message's unfinished deliveries.
func (s *Store) PendingDeliveries(ctx context.Context, seq int64) ([]store.Delivery, error) {
	return s.deliveries(ctx, `SELECT id, message_seq, recipient, attempts FROM deliveries WHERE message_seq = ? AND status = 'pending' ORDER BY id`, seq)
}

// ClaimDueDeliveries implements store.Store.
func (s *Store) ClaimDueDeliveries(ctx context.Context, seq int64, now time.Time, lease time.Duration) ([]store.Delivery, error) {
	ds, err := s.deliveries(ctx, `UPDATE deliveries SET next_attempt_at = ? WHERE message_seq = ? AND status = 'pending' AND next_attempt_at <= ?
RETURNING id, message_seq, recipient, attempts`, now.Add(lease).UnixMilli(), seq, now.UnixMilli())
	slices.SortFunc(ds, func(a, b store.Delivery) int { return cmp.Compare(a.ID, b.ID) })
	return ds, err
}

func (s *Store) deliveries(ctx context.Context, q string, args ...any) ([]store.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlcommon.Collect(rows, sqlcommon.ScanDelivery)
}

// FinishDelivery records the outcome of one attempt.
func (s *Store) FinishDelivery(ctx context.Context, id int64, status, errText string, next time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
		status, errText, sqlcommon.MS(next), time.Now().UnixMilli(), id)
	return err
}

// RefreshDeliveryStatus derives a message's delivery_status from its deliveries.
func (s *Store) RefreshDeliveryStatus(ctx context.Context, seq int64) error {
	var pending, delivered, failed, retried int
	err := s.db.QueryRowContext(ctx, `SELECT
		coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'delivered'), 0), coalesce(sum(status = 'failed'), 0),
		coalesce(sum(status = 'pending' AND attempts > 0), 0) FROM deliveries WHERE message_seq = ?`, seq).Scan(&pending, &delivered, &failed, &retried)
	if err != nil {
		return err
	}
	status := sqlcommon.DeliveryStatus(pending, delivered, failed, retried)
	if status == "" {
		return nil
	}
	_, err = s.db.ExecContext(ctx, `UPDATE messages SET delivery_status = ? WHERE seq = ? AND is_quarantined = 0`, status, seq)
	return err
}

// SenderHistory summarises the account's most recent messages From addr.
func (s *Store) SenderHistory(ctx context.Context, accountID int64, addr string, limit int) (store.SenderHistory, error) {
	var h store.SenderHistory
	var first int64
	err := s.db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN disposition IN ('NONE', 'BULK') THEN 1 ELSE 0 END), 0), coalesce(min(scanned_at), 0),
			EXISTS (SELECT 1 FROM messages WHERE account_id = ?)
		FROM (SELECT disposition, scanned_at FROM messages WHERE account_id = ? AND lower(from_addr) = ? ORDER BY seq DESC LIMIT ?) h`,
		accountID, accountID, strings.ToLower(addr), limit).Scan(&h.Messages, &h.Clean, &first, &h.Kept)
	if err != nil {
		return h, fmt.Errorf("sqlite: sender history: %w", err)
	}
	h.First = sqlcommon.FromMS(first)
	return h, nil
}

// Campaign finds an earlier message of the same campaign.
func (s *Store) Campaign(ctx context.Context, accountID int64, structureHash string, simhash uint64, maxBits int) (string, error) {
	b := sqlcommon.SimBands(simhash)
	rows, err := s.db.QueryContext(ctx, `SELECT campaign_id, simhash, structure_hash FROM (
		SELECT seq, campaign_id, simhash, structure_hash FROM messages WHERE account_id = ? AND (sim_b0 = ? OR sim_b1 = ? OR sim_b2 = ? OR sim_b3 = ?)
		UNION SELECT * FROM (SELECT seq, campaign_id, simhash, structure_hash FROM messages WHERE account_id = ? AND structure_hash = ? ORDER BY seq DESC LIMIT 200)
		) ORDER BY seq DESC LIMIT 400`,
		accountID, b[0], b[1], b[2], b[3], accountID, structureHash)
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
