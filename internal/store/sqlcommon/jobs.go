package sqlcommon

import (
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// JobItemWriter makes the writes of one store.JobItem in a store's open
// transaction, each with the same SQL as the store's own method of that name.
type JobItemWriter interface {
	SetDisposition(seq int64, disposition string, triggers []byte) (changed bool, err error)
	QueueDeliveries(seq int64, recipients []string) error
	Hold(seq int64) (held bool, err error)
	InsertSubmission(sub *store.Submission) error
	AddAction(seq int64, a store.Action) error   // a.CreatedAt is set
	AddTrace(seq int64, t store.TraceLine) error // t.LoggedAt is set
	Audit(e store.AuditEntry) error
}

// ApplyJobItem makes one message's writes of a batch through w, in the order
// and under the conditions store.JobItem documents; now stands in for unset
// action and trace times.
func ApplyJobItem(w JobItemWriter, it *store.JobItem, now time.Time) error {
	seq := it.MessageSeq
	changed := false
	if it.Disposition != "" {
		c, err := w.SetDisposition(seq, it.Disposition, it.Triggers)
		if err != nil {
			return err
		}
		changed = c
	}
	if len(it.Release) > 0 {
		changed = true
		if err := w.QueueDeliveries(seq, it.Release); err != nil {
			return err
		}
	}
	if it.Hold {
		held, err := w.Hold(seq)
		if err != nil {
			return err
		}
		changed = changed || held
	}
	if it.IfChanged && !changed {
		return nil
	}
	if it.Submission != nil {
		if err := w.InsertSubmission(it.Submission); err != nil {
			return err
		}
	}
	for _, a := range it.Actions {
		if a.CreatedAt.IsZero() {
			a.CreatedAt = now
		}
		if err := w.AddAction(seq, a); err != nil {
			return err
		}
	}
	for _, t := range it.Trace {
		if t.LoggedAt.IsZero() {
			t.LoggedAt = now
		}
		if err := w.AddTrace(seq, t); err != nil {
			return err
		}
	}
	for _, e := range it.Audit {
		if err := w.Audit(e); err != nil {
			return err
		}
	}
	return nil
}
