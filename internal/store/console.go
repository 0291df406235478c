package store

import (
	"context"
	"time"
)

// Count is one bucket of a console statistic.
type Count struct {
	Key string    // disposition, trigger name or recipient
	Day time.Time // start of the UTC day, for counts over time
	N   int
}

// ConsoleStats are the aggregates of the console's Overview page. A store
// that lacks them shows an Overview without charts.
type ConsoleStats interface {
	// DispositionsByDay counts the account's messages scanned since, per UTC day and disposition.
	DispositionsByDay(ctx context.Context, accountID int64, since time.Time) ([]Count, error)
	// TopTriggers counts trigger names with a positive score on messages scanned since.
	TopTriggers(ctx context.Context, accountID int64, since time.Time, limit int) ([]Count, error)
	// TopRecipients counts envelope recipients of detections (not NONE) scanned since.
	TopRecipients(ctx context.Context, accountID int64, since time.Time, limit int) ([]Count, error)
}
