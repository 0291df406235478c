// Package relay delivers accepted and released mail to the next-hop SMTP server
// (RFC 5321), one attempt per message for all its due recipients, with retries and
// backoff recorded in the store: a delivery is never dropped, only finished as
// delivered or, after a permanent refusal or the retry window, as failed.
package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailwarden/mailwarden/internal/metrics"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Headers builds the headers prepended to a delivered message and the raw message
// with any forged headers removed (Authentication-Results claiming our authserv-id).
type Headers func(m store.Message, raw []byte) (prefix []byte, body []byte)

// Worker delivers due deliveries.
type Worker struct {
	Store    store.Store
	Addr     string // next hop HOST:PORT; "" holds mail until one is configured
	Hostname string // our EHLO name
	Headers  Headers
	Log      *slog.Logger
	// MaxAge is how long temporary failures are retried before the delivery fails.
	MaxAge time.Duration
	// Timeout bounds one SMTP transaction.
	Timeout time.Duration
	// Metrics, when set, counts delivery attempts.
	Metrics *metrics.Metrics

	wake chan struct{}
	mu   sync.Mutex // one delivery of a message at a time
}

// Result of delivering one message's due recipients.
type Result struct {
	Delivered   []string
	Failed      []string // refused for good
	Undelivered []string // still pending (temporary failure, or no relay)
}

// Wake makes the worker look for due deliveries now.
func (w *Worker) Wake() {
	w.init()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Worker) init() {
	w.mu.Lock()
	if w.wake == nil {
		w.wake = make(chan struct{}, 1)
	}
	w.mu.Unlock()
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	w.init()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		w.runOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-w.wake:
		}
	}
}

func (w *Worker) runOnce(ctx context.Context) {
	if w.Addr == "" {
		return
	}
	for ctx.Err() == nil {
		due, err := w.Store.DueDeliveries(ctx, time.Now(), 200)
		if err != nil {
			w.Log.Error("relay: due deliveries", "err", err)
			return
		}
		if len(due) == 0 {
			return
		}
		bySeq := map[int64][]store.Delivery{}
		var order []int64
		for _, d := range due {
			if _, ok := bySeq[d.MessageSeq]; !ok {
				order = append(order, d.MessageSeq)
			}
			bySeq[d.MessageSeq] = append(bySeq[d.MessageSeq], d)
		}
		for _, seq := range order {
			w.deliver(ctx, seq, bySeq[seq])
		}
	}
}

// DeliverNow attempts the message's due deliveries at once (release answers with
// the outcome). Without a relay everything stays undelivered.
// Deliveries not due (deferred by backoff) or claimed meanwhile by the worker of
// this or another node are left to it and answered as undelivered.
func (w *Worker) DeliverNow(ctx context.Context, seq int64) (Result, error) {
	pending, err := w.Store.PendingDeliveries(ctx, seq)
	if err != nil {
		return Result{}, err
	}
	var mine []store.Delivery
	if w.Addr != "" {
		if mine, err = w.Store.ClaimDueDeliveries(ctx, seq, time.Now(), ClaimLease); err != nil {
			return Result{}, err
		}
	}
	r := w.deliver(ctx, seq, mine)
	for _, d := range pending {
		if !slices.ContainsFunc(mine, func(c store.Delivery) bool { return c.ID == d.ID }) {
			r.Undelivered = append(r.Undelivered, d.Recipient)
		}
	}
	return r, nil
}

// ClaimLease is how long a release's claim on a delivery keeps other workers off
// it; a crash mid-send leaves it to the worker after that.
const ClaimLease = 10 * time.Minute

func (w *Worker) backoff(attempts int) time.Duration {
	d := time.Minute << min(attempts, 6)
	return min(d, time.Hour)
}

func (w *Worker) deliver(ctx context.Context, seq int64, ds []store.Delivery) Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	var res Result
	// ds was read before the lock: a release (DeliverNow) and the worker's own
	// pass can hold the same deliveries, and the first to get here may have
	// finished them. Send only what is still pending now.
	if len(ds) > 0 {
		still, err := w.Store.PendingDeliveries(ctx, seq)
		if err != nil {
			w.Log.Error("relay: pending deliveries", "seq", seq, "err", err)
			return res
		}
		pending := make(map[int64]bool, len(still))
		for _, d := range still {
			pending[d.ID] = true
		}
		ds = slices.DeleteFunc(slices.Clone(ds), func(d store.Delivery) bool { return !pending[d.ID] })
	}
	if len(ds) == 0 {
		return res
	}
	m, err := w.Store.GetMessageBySeq(ctx, seq)
	if err != nil {
		w.Log.Error("relay: message", "seq", seq, "err", err)
		return res
	}
	raw, err := w.Store.Raw(ctx, seq)
	if err != nil {
		w.Log.Error("relay: raw", "seq", seq, "err", err)
		return res
	}
	prefix, body := w.Headers(m, raw)
	data := append(prefix, body...)
	rcpts := make([]string, len(ds))
	for i, d := range ds {
		rcpts[i] = d.Recipient
	}
	perRcpt, txErr := w.send(m.EnvelopeFrom, rcpts, data)
	maxAge := w.MaxAge
	if maxAge == 0 {
		maxAge = 5 * 24 * time.Hour
	}
	for i, d := range ds {
		rerr := perRcpt[i]
		if rerr == nil {
			rerr = txErr
		}
		result := "deferred"
		switch {
		case rerr == nil:
			result = "delivered"
			w.Store.FinishDelivery(ctx, d.ID, "delivered", "", time.Time{})
			w.Store.AddTrace(ctx, seq, "outbound", fmt.Sprintf("delivered to <%s> via %s", d.Recipient, w.Addr))
			res.Delivered = append(res.Delivered, d.Recipient)
		case permanent(rerr) || time.Since(m.ScannedAt) > maxAge:
			result = "failed"
			w.Store.FinishDelivery(ctx, d.ID, "failed", rerr.Error(), time.Time{})
			w.Store.AddTrace(ctx, seq, "outbound", fmt.Sprintf("delivery to <%s> failed for good: %v", d.Recipient, rerr))
			res.Failed = append(res.Failed, d.Recipient)
		default:
			next := time.Now().Add(w.backoff(d.Attempts))
			w.Store.FinishDelivery(ctx, d.ID, "pending", rerr.Error(), next)
			w.Store.AddTrace(ctx, seq, "outbound", fmt.Sprintf("delivery to <%s> deferred until %s: %v", d.Recipient, next.UTC().Format(time.RFC3339), rerr))
			res.Undelivered = append(res.Undelivered, d.Recipient)
		}
		if w.Metrics != nil {
			w.Metrics.Deliveries.WithLabelValues(result).Inc()
		}
	}
	if err := w.Store.RefreshDeliveryStatus(ctx, seq); err != nil {
		w.Log.Error("relay: status", "seq", seq, "err", err)
	}
	return res
}

func permanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// send runs one SMTP transaction; it returns an error per recipient (RCPT refusals)
// and one for the transaction.
func (w *Worker) send(from string, rcpts []string, data []byte) ([]error, error) {
	per := make([]error, len(rcpts))
	timeout := w.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	conn, err := net.DialTimeout("tcp", w.Addr, 30*time.Second)
	if err != nil {
		return per, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello(w.Hostname); err != nil {
		return per, err
	}
	if err := c.Mail(from, nil); err != nil {
		return per, err
	}
	accepted := 0
	for i, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			per[i] = err
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return per, nil
	}
	wc, err := c.Data()
	if err != nil {
		return per, err
	}
	if _, err := wc.Write(data); err != nil {
		return per, err
	}
	if err := wc.Close(); err != nil {
		return per, err
	}
	c.Quit()
	return per, nil
}

// Prepend returns header lines to put in front of a message.
// DeliveryFields are the header fields mailwarden adds to mail it lets through,
// by relay or through an MTA (milter): our Authentication-Results (authResults),
// the disposition and the message id.
func DeliveryFields(authResults string, m store.Message) [][2]string {
	return [][2]string{
		{"Authentication-Results", authResults},
		{"X-Mailwarden-Disposition", m.Disposition},
		{"X-Mailwarden-Id", m.ID},
	}
}

func Prepend(fields ...[2]string) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString(f[0])
		b.WriteString(": ")
		b.WriteString(f[1])
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
