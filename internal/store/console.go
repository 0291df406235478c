package store

import (
	"context"
	"encoding/json"
	"time"
)

// Console is what the console needs of a store beyond messages and settings
// (issue 7): the Overview's aggregates, API token management, the account's
// quarantine policy and a message's submissions.
type Console interface {
	ConsoleStats

	// ListTokens lists the account's API tokens, newest first, revoked ones
	// included; never their secret.
	ListTokens(ctx context.Context, accountID int64) ([]TokenInfo, error)
	// RevokeToken revokes one of the account's tokens: Authenticate refuses it
	// from then on. ErrNotFound when the account has no such token (or it is
	// revoked already).
	RevokeToken(ctx context.Context, accountID, id int64) error
	// SetHoldDispositions replaces the dispositions the account holds in
	// quarantine by default (Account.HoldDispositions); a protected domain's
	// DropDispositions still override it for mail to that domain.
	SetHoldDispositions(ctx context.Context, accountID int64, dispositions []string) error
	// MessageSubmissions lists the account's submissions of one message (by
	// its id, Submission.MessageID), newest first, at most limit.
	MessageSubmissions(ctx context.Context, accountID int64, messageID string, limit int) ([]Submission, error)
}

// TokenInfo is an API token as it may be shown: never its secret.
type TokenInfo struct {
	ID         int64
	AccountID  int64
	Prefix     string // the first characters of the token, to recognise it
	Role       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used (updated at most once a minute)
	RevokedAt  time.Time // zero while the token is valid
}

// TokenLastUsedEvery is how stale a token's LastUsedAt may get: Authenticate
// writes it only when older, so API traffic does not cost a write per request.
const TokenLastUsedEvery = time.Minute

// Count is one bucket of a console statistic.
type Count struct {
	Key string    // disposition, trigger name or recipient
	Day time.Time // start of the UTC day, for counts over time
	N   int
}

// ConsoleStats are the aggregates of the console's Overview page. They read a
// per-day rollup the store keeps up to date in the transactions that insert a
// message or change its disposition (see Rollup), so they cost O(days ×
// keys), not O(messages). since is rounded down to its UTC day.
type ConsoleStats interface {
	// DispositionsByDay counts the account's messages scanned since, per UTC day and disposition.
	DispositionsByDay(ctx context.Context, accountID int64, since time.Time) ([]Count, error)
	// TopTriggers counts detections (not NONE) scanned since per trigger name
	// with a positive score, each message once per name.
	TopTriggers(ctx context.Context, accountID int64, since time.Time, limit int) ([]Count, error)
	// TopRecipients counts detections (not NONE) scanned since per envelope
	// recipient (ASCII-lowercased), each message once per recipient.
	TopRecipients(ctx context.Context, accountID int64, since time.Time, limit int) ([]Count, error)
}

// RollupKeys is what one message contributes to the Overview rollup: one
// count for its (day, disposition), and for a detection one count per distinct
// scoring trigger name and per distinct recipient. Every implementation uses
// it, so the rollup means the same everywhere.
type RollupKeys struct {
	AccountID   int64
	Day         int64 // UTC day number: ScannedAt in Unix milliseconds / 86,400,000
	Disposition string
	Triggers    []string
	Recipients  []string
}

// Rollup gives the rollup keys of a message from its stored fields.
func Rollup(accountID int64, scannedAt time.Time, disposition string, triggers []byte, envelopeTo []string) RollupKeys {
	k := RollupKeys{AccountID: accountID, Disposition: disposition}
	if !scannedAt.IsZero() {
		k.Day = scannedAt.UnixMilli() / 86400000
	}
	if disposition == "NONE" {
		return k
	}
	var ts []struct {
		Name  string  `json:"name"`
		Score float64 `json:"score"`
	}
	json.Unmarshal(triggers, &ts)
	seen := map[string]bool{}
	for _, t := range ts {
		if t.Score > 0 && t.Name != "" && !seen[t.Name] {
			seen[t.Name] = true
			k.Triggers = append(k.Triggers, t.Name)
		}
	}
	seen = map[string]bool{}
	for _, r := range envelopeTo {
		r = asciiLower(r)
		if r != "" && !seen[r] {
			seen[r] = true
			k.Recipients = append(k.Recipients, r)
		}
	}
	return k
}

// asciiLower lowercases A-Z only, as SQL's lower() does in SQLite, so a
// rollup backfilled in SQL and one kept in Go agree.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
