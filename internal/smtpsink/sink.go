// Package smtpsink is a real SMTP server (go-smtp) on loopback that keeps what it
// receives, for tests that need a next-hop relay or a mailbox to read.
package smtpsink

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From string
	To   []string
	Data []byte
}

// Sink receives mail.
type Sink struct {
	Addr string
	srv  *smtp.Server
	mu   sync.Mutex
	mail []Mail
	// RejectRcpt, when set, refuses recipients for which it returns an error.
	RejectRcpt func(rcpt string) error
}

// Start listens on 127.0.0.1:0 until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	s := &Sink{}
	s.srv = smtp.NewServer(s)
	s.srv.Domain = "sink.test"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = ln.Addr().String()
	go s.srv.Serve(ln)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// Mail returns what has arrived so far.
func (s *Sink) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

// Wait waits until at least n messages arrived or the timeout passes.
func (s *Sink) Wait(n int, timeout time.Duration) []Mail {
	deadline := time.Now().Add(timeout)
	for {
		m := s.Mail()
		if len(m) >= n || time.Now().After(deadline) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}
func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.RejectRcpt != nil {
		if err := x.s.RejectRcpt(to); err != nil {
			return err
		}
	}
	x.to = append(x.to, to)
	return nil
}
func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	x.s.mail = append(x.s.mail, Mail{From: x.from, To: x.to, Data: b})
	x.s.mu.Unlock()
	return nil
}
