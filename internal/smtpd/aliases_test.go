package smtpd_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/smtpd"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// One message over real SMTP to a submission address of account b, a default
// address of account a (the listener's), and an ordinary recipient: each
// address is filed with its account, the ordinary recipient goes through the
// pipeline, and nothing of the reports is stored as mail to deliver.
func TestSubmissionAddressesOverSMTP(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "smtpd.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pipe := &pipeline.Pipeline{Auth: &auth.Checker{Resolver: dnsx.NewZone(), AuthServID: "mx.test"},
		Detector: detect.New(detect.DefaultConfig(), nil), Store: st, Log: log}
	subs := &submission.Service{Store: st, Pipe: pipe, Hostname: "mx.test", DefaultAccount: a.ID, Log: log}
	if err := subs.SetAddresses(ctx, b.ID, map[string]string{store.AddrReport: "phish@b.test"}); err != nil {
		t.Fatal(err)
	}
	srv := smtpd.New(smtpd.Config{Hostname: "mx.test"}, pipe, func(ctx context.Context, _ []string) (store.Account, error) {
		return st.Account(ctx, a.ID)
	}, log)
	srv.HandleAliases(subs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(ctx) })

	c, err := smtp.Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "From: carol@corp.test\r\nTo: phish@b.test\r\nSubject: odd mail\r\nMessage-ID: <m1@corp.test>\r\n\r\nno original attached\r\n"
	if err := c.SendMail("carol@corp.test", []string{"Phish@b.test", "report@mx.test", "dave@corp.test"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []int64{a.ID, b.ID} {
		subsOf, _, err := st.ListSubmissions(ctx, acct, store.SubmissionQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(subsOf) != 1 || subsOf[0].Type != store.SubmissionInvalid || subsOf[0].Reason != submission.ReasonNoEML {
			t.Errorf("account %d: %+v, want one report without its original", acct, subsOf)
		}
	}
	page, err := st.Search(ctx, a.ID, store.Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 1 || strings.Join(page.Messages[0].EnvelopeTo, ",") != "dave@corp.test" {
		t.Errorf("stored mail: %+v, want one message to dave only", page.Messages)
	}
	if page, _ := st.Search(ctx, b.ID, store.Query{Limit: 10}); len(page.Messages) != 0 {
		t.Errorf("b stored mail: %+v", page.Messages)
	}
}
