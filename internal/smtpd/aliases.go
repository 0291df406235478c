package smtpd

import (
	"context"

	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// AliasHandler takes mail for the gateway's own addresses (the submission
// addresses): it never enters the pipeline and is never relayed.
type AliasHandler interface {
	// Split separates the recipients that are the handler's from the others;
	// an error (the routing table could not be read) refuses the message
	// with a temporary failure rather than relaying what may be a report.
	Split(ctx context.Context, rcpts []string) (ours, others []string, err error)
	// Take handles one message for the recipients that are the handler's;
	// acct is the account the listener files mail under. A nil error means
	// it is durably recorded.
	Take(ctx context.Context, acct store.Account, env pipeline.Envelope, raw []byte) error
}

// HandleAliases routes mail for the handler's addresses to h. Call before Serve.
func (s *Server) HandleAliases(h AliasHandler) { s.aliases = h }

// splitAliases separates recipients for the alias handler from the others.
func (s *Server) splitAliases(ctx context.Context, rcpts []string) (ours, others []string, err error) {
	if s.aliases == nil {
		return nil, rcpts, nil
	}
	return s.aliases.Split(ctx, rcpts)
}
