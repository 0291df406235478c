package relay

import (
	"context"
	"errors"
	"fmt"
)

// ErrNoRelay is returned by SendMail when no next hop is configured.
var ErrNoRelay = errors.New("relay: no next hop configured")

// SendMail sends one message of the gateway's own (a submission's outcome
// notice) to the next hop in one attempt; the caller keeps it and retries. A
// recipient refused for good is an error too.
func (w *Worker) SendMail(ctx context.Context, from string, to []string, data []byte) error {
	if w.Addr == "" {
		return ErrNoRelay
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	per, err := w.send(from, to, data)
	if err != nil {
		return fmt.Errorf("relay: send: %w", err)
	}
	for i, e := range per {
		if e != nil {
			return fmt.Errorf("relay: recipient %s: %w", to[i], e)
		}
	}
	return nil
}
