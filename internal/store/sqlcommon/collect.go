package sqlcommon

import (
	"encoding/json"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Rows is a result set being read: *sql.Rows or pgx.Rows. The caller closes it.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// Collect reads every row of rows with scan: (nil, err) when a row does not
// scan, else what was read and rows.Err().
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	out, _, err := collect(rows, scan)
	return out, err
}

// CollectTotal is Collect for a page of a listing of total entries: (nil, 0,
// err) when a row does not scan, else what was read, total and rows.Err().
func CollectTotal[T any](rows Rows, scan func(Scanner) (T, error), total int) ([]T, int, error) {
	out, scanned, err := collect(rows, scan)
	if !scanned {
		return nil, 0, err
	}
	return out, total, err
}

func collect[T any](rows Rows, scan func(Scanner) (T, error)) (out []T, scanned bool, err error) {
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, false, err
		}
		out = append(out, v)
	}
	return out, true, rows.Err()
}

// ScanCount reads a (key, n) row.
func ScanCount(row Scanner) (store.Count, error) {
	var c store.Count
	err := row.Scan(&c.Key, &c.N)
	return c, err
}

// ScanDayCount reads a (day number, key, n) row.
func ScanDayCount(row Scanner) (store.Count, error) {
	var d int64
	var c store.Count
	if err := row.Scan(&d, &c.Key, &c.N); err != nil {
		return c, err
	}
	c.Day = time.UnixMilli(d * 86400000).UTC()
	return c, nil
}

// ScanTokenInfo reads (id, account_id, prefix, role, created_at, last_used_at, revoked_at).
func ScanTokenInfo(row Scanner) (store.TokenInfo, error) {
	var t store.TokenInfo
	var created, used, revoked int64
	if err := row.Scan(&t.ID, &t.AccountID, &t.Prefix, &t.Role, &created, &used, &revoked); err != nil {
		return t, err
	}
	t.CreatedAt, t.LastUsedAt, t.RevokedAt = FromMS(created), FromMS(used), FromMS(revoked)
	return t, nil
}

// ScanTraceLine reads (direction, logged_at, line).
func ScanTraceLine(row Scanner) (store.TraceLine, error) {
	var t store.TraceLine
	var at int64
	if err := row.Scan(&t.Direction, &at, &t.Line); err != nil {
		return t, err
	}
	t.LoggedAt = FromMS(at)
	return t, nil
}

// ScanAction reads (id, operation, status, requested_by, properties, created_at, completed_at).
func ScanAction(row Scanner) (store.Action, error) {
	var a store.Action
	var props string
	var created, completed int64
	if err := row.Scan(&a.ID, &a.Operation, &a.Status, &a.RequestedBy, &props, &created, &completed); err != nil {
		return a, err
	}
	json.Unmarshal([]byte(props), &a.Properties)
	a.CreatedAt, a.CompletedAt = FromMS(created), FromMS(completed)
	return a, nil
}

// ScanAuditEntry reads (id, account_id, actor, action, target, detail, created_at).
func ScanAuditEntry(row Scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	var at int64
	if err := row.Scan(&e.ID, &e.AccountID, &e.Actor, &e.Action, &e.Target, &e.Detail, &at); err != nil {
		return e, err
	}
	e.CreatedAt = FromMS(at)
	return e, nil
}

// ScanDelivery reads (id, message_seq, recipient, attempts).
func ScanDelivery(row Scanner) (store.Delivery, error) {
	var d store.Delivery
	err := row.Scan(&d.ID, &d.MessageSeq, &d.Recipient, &d.Attempts)
	return d, err
}

// ScanReportAddress reads (account_id, role, address, updated_at).
func ScanReportAddress(row Scanner) (store.ReportAddress, error) {
	var a store.ReportAddress
	var at int64
	if err := row.Scan(&a.AccountID, &a.Role, &a.Address, &at); err != nil {
		return a, err
	}
	a.UpdatedAt = FromMS(at)
	return a, nil
}

// ScanJobMessage reads (message_seq, message_id, status, error, updated_at).
func ScanJobMessage(row Scanner) (store.JobMessage, error) {
	var m store.JobMessage
	var at int64
	if err := row.Scan(&m.MessageSeq, &m.MessageID, &m.Status, &m.Error, &at); err != nil {
		return m, err
	}
	m.UpdatedAt = FromMS(at)
	return m, nil
}
