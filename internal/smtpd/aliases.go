package smtpd

import (
	"context"

	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// AliasHandler takes mail for the gateway's own addresses (the submission
// aliases): it never enters the pipeline and is never relayed.
type AliasHandler interface {
	// Ours reports whether mail to rcpt is for the handler.
	Ours(rcpt string) bool
	// Take handles one message for the recipients that are Ours; a nil error
	// means it is durably recorded.
	Take(ctx context.Context, acct store.Account, env pipeline.Envelope, raw []byte) error
}

// HandleAliases routes mail for the handler's addresses to h. Call before Serve.
func (s *Server) HandleAliases(h AliasHandler) { s.aliases = h }

// splitAliases separates recipients for the alias handler from the others.
func (s *Server) splitAliases(rcpts []string) (ours, others []string) {
	if s.aliases == nil {
		return nil, rcpts
	}
	for _, r := range rcpts {
		if s.aliases.Ours(r) {
			ours = append(ours, r)
		} else {
			others = append(others, r)
		}
	}
	return ours, others
}
