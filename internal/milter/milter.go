// Package milter is mailwarden behind Postfix: a mail filter speaking the milter
// protocol (Sendmail's libmilter protocol, version 6, through
// github.com/d--j/go-milter) that feeds every message to the same pipeline as
// the inline SMTP listener (internal/smtpd) and tells the MTA what to do with it.
//
// Per message it collects the envelope (client IP, HELO, MAIL FROM, RCPT TO) and
// the message as Postfix hands it over, runs the pipeline (parse, authenticate,
// detect, store), and only once the message and its verdict are committed
// answers at the end of the message:
//
//   - delivered (not held by the account's quarantine policy): accept, with
//     Authentication-Results, X-Mailwarden-Disposition and X-Mailwarden-Id
//     prepended and any Authentication-Results carrying our authserv-id removed
//     (RFC 8601 section 5), the headers the relay adds to mail it delivers. The
//     message is recorded as delivered; Postfix delivers it, the relay never does.
//   - held: discard. Postfix tells its client 250 and drops the message; it is in
//     mailwarden's quarantine, the one place held mail lives, and a release sends
//     it on through the relay (serve --relay) like mail held by the inline MX.
//     Postfix's own quarantine (the hold queue, milter "quarantine") is not used:
//     a message there would need releasing twice, in Postfix and in mailwarden,
//     and releasing it in one place alone would lose it or deliver it twice.
//   - anything failing before the message is stored: tempfail (451 4.3.0), so
//     Postfix's client retries. Nothing is accepted that was not stored.
package milter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	gomilter "github.com/d--j/go-milter"
	"github.com/d--j/go-milter/mailfilter"
	"github.com/d--j/go-milter/mailfilter/header"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/relay"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Config of the filter.
type Config struct {
	Network string // "tcp" (default) or "unix"
	Addr    string // listen address, e.g. 127.0.0.1:8891, or a socket path
	// MaxMessageBytes: a larger body is refused with 552 (default 50 MiB).
	MaxMessageBytes int64
	// MaxHeaders: more header fields than this are refused with 552 (default 10000).
	MaxHeaders uint32
	// Timeout bounds the pipeline for one message (default 2 minutes).
	Timeout time.Duration
}

// AccountFor picks the account that receives mail for these recipients.
type AccountFor func(ctx context.Context, rcpts []string) (store.Account, error)

// Server is a running mail filter.
type Server struct {
	filter   *mailfilter.MailFilter
	pipe     *pipeline.Pipeline
	accounts AccountFor
	log      *slog.Logger
	timeout  time.Duration
}

// tempFail is what the MTA's client is told when the message could not be
// stored; the cause goes to our log.
var tempFail = mailfilter.CustomErrorResponse(451, "4.3.0 Temporary local problem, try again later")

// Listen starts a filter on cfg.Addr. p.Auth must be set: it names our
// authserv-id and writes Authentication-Results.
func Listen(cfg Config, p *pipeline.Pipeline, accounts AccountFor, log *slog.Logger) (*Server, error) {
	if p.Auth == nil {
		return nil, errors.New("milter: pipeline has no authentication checker")
	}
	if cfg.Network == "" {
		cfg.Network = "tcp"
	}
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = 50 << 20
	}
	if cfg.MaxHeaders == 0 {
		cfg.MaxHeaders = 10000
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	s := &Server{pipe: p, accounts: accounts, log: log, timeout: cfg.Timeout}
	f, err := mailfilter.New(cfg.Network, cfg.Addr, s.decide,
		mailfilter.WithDecisionAt(mailfilter.DecisionAtEndOfMessage),
		mailfilter.WithBody(1<<20, cfg.MaxMessageBytes, mailfilter.RejectMessageWhenTooBig),
		mailfilter.WithHeader(cfg.MaxHeaders, mailfilter.RejectMessageWhenTooBig),
		mailfilter.WithErrorHandling(mailfilter.TempFailWhenError),
	)
	if err != nil {
		return nil, fmt.Errorf("milter: listen: %w", err)
	}
	s.filter = f
	return s, nil
}

// Addr is the address the filter listens on.
func (s *Server) Addr() net.Addr { return s.filter.Addr() }

// Shutdown stops accepting connections and waits for open ones to end.
func (s *Server) Shutdown(ctx context.Context) error { return s.filter.Shutdown(ctx) }

// Envelope is what the MTA told the filter about the message.
func Envelope(trx mailfilter.Trx) pipeline.Envelope {
	env := pipeline.Envelope{Mode: pipeline.ModeDirect, MTADelivers: true}
	if c := trx.Connect(); c != nil && (c.Family == "tcp4" || c.Family == "tcp6") {
		env.ClientIP = net.ParseIP(strings.TrimPrefix(strings.Trim(c.Addr, "[]"), "IPv6:"))
	}
	if h := trx.Helo(); h != nil {
		env.Helo = h.Name
	}
	if mf := trx.MailFrom(); mf != nil {
		env.MailFrom = gomilter.RemoveAngle(mf.Addr)
	}
	for _, r := range trx.RcptTos() {
		env.Recipients = append(env.Recipients, gomilter.RemoveAngle(r.Addr))
	}
	return env
}

// decide runs the pipeline for one message at its end (mailfilter.DecisionModificationFunc).
func (s *Server) decide(ctx context.Context, trx mailfilter.Trx) (mailfilter.Decision, error) {
	env := Envelope(trx)
	raw, err := io.ReadAll(trx.Data())
	if err != nil {
		s.log.Error("milter: read message", "err", err, "queue_id", trx.QueueId())
		return tempFail, nil
	}
	// The MTA going away must not cut a store transaction short; the timeout bounds it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	defer cancel()
	acct, err := s.accounts(ctx, env.Recipients)
	if err != nil {
		s.log.Error("milter: account", "err", err, "queue_id", trx.QueueId())
		return tempFail, nil
	}
	rec, an, err := s.pipe.Accept(ctx, acct, raw, env)
	if err != nil {
		s.log.Error("milter: accept", "err", err, "from", env.MailFrom, "ip", env.ClientIP, "queue_id", trx.QueueId())
		return tempFail, nil
	}
	if rec.IsQuarantined {
		s.log.Info("milter: held, discarded at the MTA", "id", rec.ID, "disposition", rec.Disposition, "queue_id", trx.QueueId())
		return mailfilter.Discard, nil
	}
	DeliveryHeaders(trx.Headers(), s.pipe.Auth, rec, an.Auth)
	s.log.Debug("milter: accepted", "id", rec.ID, "disposition", rec.Disposition, "queue_id", trx.QueueId())
	return mailfilter.Accept, nil
}

// DeliveryHeaders removes Authentication-Results fields that carry our
// authserv-id (forged, or left by an earlier pass) and prepends ours,
// X-Mailwarden-Disposition and X-Mailwarden-Id (relay.DeliveryFields, as the
// relay adds them to the mail it delivers).
func DeliveryHeaders(h header.Header, c *auth.Checker, rec *store.Message, a auth.Result) {
	add := relay.DeliveryFields(c.Header(a), *rec)
	f := h.Fields()
	first := true
	for f.Next() {
		if first {
			for _, kv := range add {
				f.InsertBefore(kv[0], kv[1])
			}
			first = false
		}
		if !f.IsDeleted() && f.CanonicalKey() == "Authentication-Results" && auth.IsOwnAuthResults(f.UnfoldedValue(), c.AuthServID) {
			f.Del()
		}
	}
	if first { // no header fields at all
		for _, kv := range add {
			h.Add(kv[0], kv[1])
		}
	}
}
