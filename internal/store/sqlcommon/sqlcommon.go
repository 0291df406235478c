// Package sqlcommon is the dialect-independent Go code the SQL stores
// (internal/store/sqlite and internal/store/postgres) share: value
// conversions, token and id generation, validation and defaults applied
// before a write, and the column lists and scan targets of rows both read
// alike. Each store keeps only its SQL and driver code; errors here carry no
// store prefix, the caller wraps them.
package sqlcommon

import (
	"encoding/json"
	"math/bits"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// MS is t in Unix milliseconds, 0 for the zero time.
func MS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMS is the UTC time of Unix milliseconds v, the zero time for 0.
func FromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// NullMS is a time stored as NULL when zero, else in Unix milliseconds.
func NullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// NullIfZero is n stored as NULL when 0.
func NullIfZero(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// Day is the UTC day number of t (days since the Unix epoch), 0 for the zero time.
func Day(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli() / 86400000
}

// NonEmpty is b as a string, def when b is empty.
func NonEmpty(b []byte, def string) string {
	if len(b) == 0 {
		return def
	}
	return string(b)
}

// JSONList is v as a JSON array ("[]" for nil), for a TEXT column.
func JSONList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// SimBands are the four 16-bit bands of a simhash, indexed to find near
// duplicates (a hash within 3 bits of another shares at least one band).
func SimBands(h uint64) [4]int64 {
	return [4]int64{int64(h & 0xffff), int64(h >> 16 & 0xffff), int64(h >> 32 & 0xffff), int64(h >> 48 & 0xffff)}
}

// CampaignMatch tells whether an earlier message (simhash h, structure hash
// sh) belongs to the campaign of a message with simhash and structureHash.
func CampaignMatch(h int64, sh string, simhash uint64, structureHash string, maxBits int) bool {
	d := bits.OnesCount64(uint64(h) ^ simhash)
	return d <= maxBits || (structureHash != "" && sh == structureHash && d <= 4*maxBits)
}

// Prefixed qualifies every column of a comma-separated list with p ("m.").
func Prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// LikeEscape makes a LIKE pattern matching s anywhere, with s's wildcards literal.
func LikeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// ParseHold splits an account's comma-separated hold_dispositions column.
func ParseHold(hold string) []string {
	var out []string
	for _, d := range strings.Split(hold, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// DeliveryStatus derives a message's delivery_status from the counts of its
// deliveries; "" when it has none to derive from.
func DeliveryStatus(pending, delivered, failed, retried int) string {
	switch {
	case retried > 0:
		return store.StatusDeferred
	case pending > 0:
		return store.StatusQueued
	case failed > 0 && delivered == 0:
		return store.StatusBounced
	case delivered > 0:
		return store.StatusDelivered
	}
	return ""
}
