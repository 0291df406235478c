package relay

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

// A delivery list read before another delivery of the same message finished
// (the worker's pass racing a release) sends nothing a second time.
func TestStaleDeliveriesNotSentTwice(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.CreateAccount(ctx, "relay")
	if err != nil {
		t.Fatal(err)
	}
	m := &store.Message{ID: "r1", AccountID: acct.ID, EnvelopeFrom: "a@example.org", EnvelopeTo: []string{"b@corp.test"},
		FromAddr: "a@example.org", Subject: "hello", ScannedAt: time.Now(), Disposition: "NONE"}
	raw := []byte("From: a@example.org\r\nTo: b@corp.test\r\nSubject: hello\r\n\r\nhi\r\n")
	if err := st.InsertMessage(ctx, m, raw, nil, []string{"b@corp.test"}); err != nil {
		t.Fatal(err)
	}
	stale, err := st.PendingDeliveries(ctx, m.Seq)
	if err != nil || len(stale) != 1 {
		t.Fatalf("pending: %v %v", stale, err)
	}
	sink := smtpsink.Start(t)
	w := &Worker{Store: st, Addr: sink.Addr, Hostname: "mx.test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Headers: func(_ store.Message, raw []byte) ([]byte, []byte) { return nil, raw }}
	if r, err := w.DeliverNow(ctx, m.Seq); err != nil || len(r.Delivered) != 1 {
		t.Fatalf("deliver now: %+v %v", r, err)
	}
	if r := w.deliver(ctx, m.Seq, stale); len(r.Delivered)+len(r.Failed)+len(r.Undelivered) != 0 {
		t.Errorf("stale list delivered again: %+v", r)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.Mail()); n != 1 {
		t.Errorf("sink got %d messages, want 1", n)
	}
}
