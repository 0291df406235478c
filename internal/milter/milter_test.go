package milter

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	gomilter "github.com/d--j/go-milter"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

// blockPolicy blocks one sender domain and holds what the account holds.
type blockPolicy struct{ acct store.Account }

func (b blockPolicy) Policy(context.Context, int64) (*detect.Policy, error) {
	return &detect.Policy{BlockSenders: []detect.BlockSender{{Pattern: "evil.example", PatternType: detect.PatternDomain}}}, nil
}

func (b blockPolicy) Holds(_ context.Context, _ int64, _ []string, d string) (bool, error) {
	return b.acct.Holds(d), nil
}

type fixture struct {
	srv  *Server
	st   *sqlite.Store
	acct store.Account
}

func start(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, err := st.CreateAccount(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if !acct.Holds("MALICIOUS") {
		t.Fatalf("a new account does not hold MALICIOUS: %v", acct.HoldDispositions)
	}
	zone, err := dnsx.ParseZone(strings.NewReader(""), ".")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &pipeline.Pipeline{
		Auth:     &auth.Checker{Resolver: zone, AuthServID: "mx.mailwarden.test"},
		Detector: detect.New(detect.DefaultConfig(), nil),
		Store:    st,
		Policies: blockPolicy{acct},
		Log:      log,
		Delivered: func() {
			t.Error("a milter message was queued for the relay")
		},
	}
	srv, err := Listen(Config{Addr: "127.0.0.1:0"}, p, func(ctx context.Context, _ []string) (store.Account, error) {
		return st.Account(ctx, acct.ID)
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return &fixture{srv: srv, st: st, acct: acct}
}

// send runs one SMTP transaction through the filter as an MTA would.
func (f *fixture) send(t *testing.T, from, to string, hdr [][2]string, body string) ([]gomilter.ModifyAction, *gomilter.Action) {
	t.Helper()
	c := gomilter.NewClient("tcp", f.srv.Addr().String(), gomilter.WithAction(gomilter.AllClientSupportedActionMasks))
	s, err := c.Session(gomilter.NewMacroBag())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	step := func(what string, act *gomilter.Action, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if act.Type != gomilter.ActionContinue {
			t.Fatalf("%s: %v", what, act)
		}
	}
	act, err := s.Conn("client.example.org", gomilter.FamilyInet, 4711, "192.0.2.7")
	step("conn", act, err)
	act, err = s.Helo("client.example.org")
	step("helo", act, err)
	act, err = s.Mail(from, "")
	step("mail", act, err)
	act, err = s.Rcpt(to, "")
	step("rcpt", act, err)
	act, err = s.DataStart()
	step("data", act, err)
	for _, kv := range hdr {
		act, err = s.HeaderField(kv[0], " "+kv[1], nil) // as Postfix sends them to a filter that asks for the leading space
		step("header "+kv[0], act, err)
	}
	act, err = s.HeaderEnd()
	step("eoh", act, err)
	mods, act, err := s.BodyReadFrom(strings.NewReader(body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return mods, act
}

func TestMilterCleanAcceptedWithHeadersAndStored(t *testing.T) {
	f := start(t)
	hdr := [][2]string{
		{"Authentication-Results", "mx.mailwarden.test; spf=pass smtp.mailfrom=example.org"}, // forged: our authserv-id
		{"Authentication-Results", "other.example; dkim=pass"},
		{"From", "Alice <alice@example.org>"},
		{"To", "bob@corp.test"},
		{"Subject", "lunch on thursday"},
		{"Message-ID", "<lunch1@example.org>"},
	}
	mods, act := f.send(t, "alice@example.org", "bob@corp.test", hdr, "Shall we meet at noon?\r\n")
	if act.Type != gomilter.ActionAccept {
		t.Fatalf("clean mail: %v, want accept", act)
	}
	inserted := map[string]string{}
	deleted := 0
	for _, m := range mods {
		switch {
		case m.Type == gomilter.ActionInsertHeader && m.HeaderIndex <= 1: // go-milter inserts at the top with index 1 (after the MTA's own Received)
			inserted[m.HeaderName] = m.HeaderValue
		case m.Type == gomilter.ActionChangeHeader && m.HeaderValue == "":
			if m.HeaderName != "Authentication-Results" || m.HeaderIndex != 1 {
				t.Errorf("deleted the wrong header: %v", m)
			}
			deleted++
		default:
			t.Errorf("unexpected modification %v", m)
		}
	}
	if deleted != 1 {
		t.Errorf("forged Authentication-Results: %d deletions, want 1 (%v)", deleted, mods)
	}
	if d := inserted["X-Mailwarden-Disposition"]; strings.TrimSpace(d) != "NONE" {
		t.Errorf("X-Mailwarden-Disposition %q, want NONE (%v)", d, mods)
	}
	if ar := inserted["Authentication-Results"]; !strings.Contains(ar, "mx.mailwarden.test") || !strings.Contains(ar, "spf=") {
		t.Errorf("Authentication-Results %q", ar)
	}
	id := strings.TrimSpace(inserted["X-Mailwarden-Id"])
	m, err := f.st.GetMessage(context.Background(), f.acct.ID, id)
	if err != nil {
		t.Fatalf("X-Mailwarden-Id %q not stored: %v", id, err)
	}
	if m.DeliveryStatus != store.StatusDelivered || m.IsQuarantined || m.ClientIP != "192.0.2.7" || m.Helo != "client.example.org" ||
		m.EnvelopeFrom != "alice@example.org" || strings.Join(m.EnvelopeTo, ",") != "bob@corp.test" || m.Subject != "lunch on thursday" {
		t.Errorf("stored: status %s quarantined %v ip %s helo %s from %s to %v subject %q",
			m.DeliveryStatus, m.IsQuarantined, m.ClientIP, m.Helo, m.EnvelopeFrom, m.EnvelopeTo, m.Subject)
	}
	if due, _ := f.st.PendingDeliveries(context.Background(), m.Seq); len(due) != 0 {
		t.Errorf("the relay would deliver a message Postfix delivers: %v", due)
	}
	raw, err := f.st.Raw(context.Background(), m.Seq)
	if err != nil || !strings.Contains(string(raw), "Subject: lunch on thursday") || !strings.Contains(string(raw), "Shall we meet at noon?") {
		t.Errorf("raw: %v %q", err, raw)
	}
}

func TestMilterHeldDiscardedButStored(t *testing.T) {
	f := start(t)
	hdr := [][2]string{{"From", "Boss <boss@evil.example>"}, {"To", "bob@corp.test"}, {"Subject", "wire transfer"}}
	mods, act := f.send(t, "boss@evil.example", "bob@corp.test", hdr, "Pay now.\r\n")
	if act.Type != gomilter.ActionDiscard {
		t.Fatalf("blocked sender: %v (mods %v), want discard", act, mods)
	}
	page, err := f.st.Search(context.Background(), f.acct.ID, store.Query{Sender: "evil.example"})
	if err != nil || len(page.Messages) != 1 {
		t.Fatalf("held message stored: %v %d", err, len(page.Messages))
	}
	if m := page.Messages[0]; !m.IsQuarantined || m.DeliveryStatus != store.StatusQuarantined || m.Disposition != "MALICIOUS" {
		t.Errorf("held: %s %s quarantined=%v", m.Disposition, m.DeliveryStatus, m.IsQuarantined)
	}
}

func TestMilterStoreFailureTempfails(t *testing.T) {
	f := start(t)
	f.st.Close()
	_, act := f.send(t, "alice@example.org", "bob@corp.test", [][2]string{{"From", "alice@example.org"}, {"Subject", "x"}}, "hi\r\n")
	if act.Type != gomilter.ActionTempFail && !(act.Type == gomilter.ActionRejectWithCode && act.SMTPCode/100 == 4) {
		t.Fatalf("store down: %v, want a 4xx", act)
	}
}
