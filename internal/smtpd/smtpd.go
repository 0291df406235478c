// Package smtpd is mailwarden's inline MX: an SMTP server (RFC 5321, through
// github.com/emersion/go-smtp) that feeds every message to the pipeline and replies
// 250 only once the message and its verdict are committed to the store.
package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Config of the listener.
type Config struct {
	Addr            string        // listen address, default 127.0.0.1:2525
	Hostname        string        // our name in the greeting
	MaxMessageBytes int64         // larger messages get 552 (default 50 MiB)
	MaxRecipients   int           // per message (default 100)
	MaxLineLength   int           // per line (default 1 MiB: RFC 5321 says 1000, but real mail exceeds it and refusing it loses mail)
	Timeout         time.Duration // read and write timeout (default 5 minutes)
}

// AccountFor picks the account that receives mail for these recipients.
type AccountFor func(ctx context.Context, rcpts []string) (store.Account, error)

// Server is the SMTP listener.
type Server struct {
	srv      *smtp.Server
	pipe     *pipeline.Pipeline
	accounts AccountFor
	log      *slog.Logger
	aliases  AliasHandler // may be nil (aliases.go)
}

// New builds a server; call Serve with a listener.
func New(cfg Config, p *pipeline.Pipeline, accounts AccountFor, log *slog.Logger) *Server {
	if cfg.MaxMessageBytes == 0 {
		cfg.MaxMessageBytes = 50 << 20
	}
	if cfg.MaxRecipients == 0 {
		cfg.MaxRecipients = 100
	}
	if cfg.MaxLineLength == 0 {
		cfg.MaxLineLength = 1 << 20
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	s := &Server{pipe: p, accounts: accounts, log: log}
	srv := smtp.NewServer(s)
	srv.Addr = cfg.Addr
	srv.Domain = cfg.Hostname
	srv.MaxMessageBytes = cfg.MaxMessageBytes
	srv.MaxRecipients = cfg.MaxRecipients
	srv.MaxLineLength = cfg.MaxLineLength
	srv.ReadTimeout = cfg.Timeout
	srv.WriteTimeout = cfg.Timeout
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogAdapter{log}
	s.srv = srv
	return s
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	err := s.srv.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for sessions to end.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	sess := &session{srv: s, helo: c.Hostname()}
	if addr, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		sess.ip = addr.IP
	}
	return sess, nil
}

type session struct {
	srv   *Server
	ip    net.IP
	helo  string
	from  string
	rcpts []string
}

func (s *session) Reset() {
	s.from = ""
	s.rcpts = nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if _, err := mailAddr(to); err != nil {
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func mailAddr(a string) (string, error) {
	for i := len(a) - 1; i > 0; i-- {
		if a[i] == '@' && i < len(a)-1 {
			return a, nil
		}
	}
	return "", fmt.Errorf("smtpd: no domain in %q", a)
}

var errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Line too long"}

var errTemp = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		// go-smtp's reader reports 552 for an over-size message; pass SMTP errors through.
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, smtp.ErrTooLongLine) {
			return errLineTooLong
		}
		return errTemp
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acct, err := s.srv.accounts(ctx, s.rcpts)
	if err != nil {
		s.srv.log.Error("smtpd: account", "err", err)
		return errTemp
	}
	ours, others, err := s.srv.splitAliases(ctx, s.rcpts)
	if err != nil {
		s.srv.log.Error("smtpd: alias routing", "err", err)
		return errTemp
	}
	if len(ours) > 0 {
		aenv := pipeline.Envelope{ClientIP: s.ip, Helo: s.helo, MailFrom: s.from, Recipients: ours, Mode: pipeline.ModeDirect}
		if err := s.srv.aliases.Take(ctx, acct, aenv, raw); err != nil {
			s.srv.log.Error("smtpd: alias", "err", err, "from", s.from, "ip", s.ip)
			return errTemp
		}
		if len(others) == 0 {
			return nil
		}
	}
	env := pipeline.Envelope{ClientIP: s.ip, Helo: s.helo, MailFrom: s.from, Recipients: others, Mode: pipeline.ModeDirect}
	rec, _, err := s.srv.pipe.Accept(ctx, acct, raw, env)
	if err != nil {
		// The cause stays in our log; the peer is told to retry (maddy's habit).
		s.srv.log.Error("smtpd: accept", "err", err, "from", s.from, "ip", s.ip)
		return errTemp
	}
	s.srv.log.Debug("smtpd: queued", "id", rec.ID)
	return nil
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Println(v ...any)               { a.l.Warn(fmt.Sprint(v...)) }
