package submission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/smtpsink"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

type env struct {
	st      *sqlite.Store
	svc     *Service
	acct    store.Account
	sink    *smtpsink.Sink
	release []string
}

// mailer sends through a real SMTP sink.
type sinkMailer struct{ s *smtpsink.Sink }

func (m sinkMailer) SendMail(ctx context.Context, from string, to []string, data []byte) error {
	c, err := smtp.Dial(m.s.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.SendMail(from, to, bytes.NewReader(data))
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, _ := st.CreateAccount(ctx, "a")
	models := bayes.NewModels(st, bayes.DefaultConfig())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pipe := &pipeline.Pipeline{
		Auth:     &auth.Checker{Resolver: dnsx.NewZone(), AuthServID: "mx.test"},
		Detector: detect.New(detect.DefaultConfig(), models),
		Store:    st,
		Log:      log,
	}
	e := &env{st: st, acct: acct, sink: smtpsink.Start(t)}
	e.svc = &Service{Store: st, Pipe: pipe, Models: models, Mailer: sinkMailer{e.sink}, Hostname: "mx.test", Log: log,
		Release: func(ctx context.Context, p store.Principal, m store.Message) error {
			e.release = append(e.release, m.ID)
			_, err := st.QueueDeliveries(ctx, m.Seq, m.EnvelopeTo)
			return err
		}}
	return e
}

func (e *env) accept(t *testing.T, raw string, to ...string) *store.Message {
	t.Helper()
	rec, _, err := e.svc.Pipe.Accept(context.Background(), e.acct, []byte(raw), pipeline.Envelope{MailFrom: "x@sender.test", Recipients: to, Mode: pipeline.ModeDirect})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (e *env) run() { e.svc.RunOnce(context.Background(), "test") }

const campaign = "From: Deals <deals@sender.test>\r\nTo: %s\r\nSubject: big offer\r\nMessage-ID: <%s@sender.test>\r\n\r\nA big offer for you today, only today, with a large discount on everything in the shop.\r\n"

func TestTeamSubmissionLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m1 := e.accept(t, fmt.Sprintf(campaign, "bob@corp.test", "a1"), "bob@corp.test")
	m2 := e.accept(t, fmt.Sprintf(campaign, "dave@corp.test", "a2"), "dave@corp.test")
	if m1.CampaignID != m2.CampaignID || m1.Disposition != "NONE" {
		t.Fatalf("setup: campaign %s %s, disposition %s", m1.CampaignID, m2.CampaignID, m1.Disposition)
	}
	e.st.SetSubmissionContact(ctx, e.acct.ID, "token:mw_ana", store.RoleAnalyst, "ana@corp.test")

	res, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: "token:mw_ana",
		MessageID: m1.ID, Disposition: detect.Spam, Policy: &PolicyRequest{Type: PolicyBlockSender, PatternType: store.PatternDomain, ExpiresAt: time.Now().Add(time.Hour)}})
	if err != nil || !res.Created || res.Submission.NotifyAddr != "ana@corp.test" {
		t.Fatalf("submit: %+v %v", res, err)
	}
	dup, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: "token:mw_ana", MessageID: m1.ID, Disposition: detect.Spam})
	if err != nil || dup.Created || dup.Submission.ID != res.Submission.ID {
		t.Errorf("duplicate: %+v %v", dup, err)
	}
	e.run()
	sub, _ := e.st.GetSubmission(ctx, e.acct.ID, res.Submission.ID)
	if sub.Status != store.SubCompleted || sub.OutcomeCode != OutcomeReclassified || sub.CampaignChanged != 1 || sub.State != store.QueueDone ||
		sub.NotifyState != "sent" || !strings.HasPrefix(sub.PolicyEntry, "block_senders/") {
		t.Fatalf("after processing: %+v", sub)
	}
	for _, m := range []*store.Message{m1, m2} {
		got, _ := e.st.GetMessage(ctx, e.acct.ID, m.ID)
		// SPAM is held: both were queued for delivery, so both are held now.
		if got.Disposition != "SPAM" || !got.IsQuarantined {
			t.Errorf("%s: %s held %v", m.ID, got.Disposition, got.IsQuarantined)
		}
	}
	blocks, _, _ := e.st.BlockSenders(ctx, e.acct.ID, store.SettingsQuery{})
	if len(blocks) != 1 || blocks[0].Pattern != "sender.test" || blocks[0].ExpiresAt.IsZero() {
		t.Errorf("block entry: %+v", blocks)
	}
	model, _ := e.svc.Models.Get(ctx, e.acct.ID)
	counts := model.Messages()
	if counts.Spam != 1 {
		t.Errorf("model: %+v", counts)
	}
	if mail := e.sink.Wait(1, 5*time.Second); len(mail) != 1 || mail[0].To[0] != "ana@corp.test" {
		t.Errorf("outcome mail: %v", mail)
	}

	// At-least-once: processing the same submission again changes nothing.
	actions := func(seq int64) int { a, _ := e.st.Actions(ctx, seq); return len(a) }
	n1, n2 := actions(m1.Seq), actions(m2.Seq)
	sub.State, sub.NextAttempt = store.QueueQueued, time.Now()
	sub.PolicyEntry = ""
	e.st.SaveSubmission(ctx, &sub)
	e.run()
	if model.Messages() != counts {
		t.Errorf("retrained on reprocessing: %+v", model.Messages())
	}
	if actions(m1.Seq) != n1 || actions(m2.Seq) != n2 {
		t.Errorf("action log grew on reprocessing")
	}
	if blocks, _, _ := e.st.BlockSenders(ctx, e.acct.ID, store.SettingsQuery{}); len(blocks) != 1 {
		t.Errorf("block entries: %d", len(blocks))
	}
	again, _ := e.st.GetSubmission(ctx, e.acct.ID, sub.ID)
	if again.OutcomeCode != OutcomeReclassified || again.PolicyEntry != sub.PolicyEntry && again.PolicyEntry == "" {
		t.Errorf("reprocessed: %+v", again)
	}

	// Back to clean: released through the release path.
	res2, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: "token:mw_ana", MessageID: m2.ID, Disposition: detect.None})
	if err != nil {
		t.Fatal(err)
	}
	// The block entry would make the campaign MALICIOUS on a re-score: drop it.
	e.st.DeleteBlockSender(ctx, e.acct.ID, blocks[0].ID)
	e.run()
	if len(e.release) != 2 {
		t.Errorf("released %v", e.release)
	}
	s2, _ := e.st.GetSubmission(ctx, e.acct.ID, res2.Submission.ID)
	if s2.OutcomeCode != OutcomeReclassified || s2.CampaignChanged != 1 {
		t.Errorf("second: %+v", s2)
	}
}

func TestMaliciousSiblingKept(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m1 := e.accept(t, fmt.Sprintf(campaign, "bob@corp.test", "b1"), "bob@corp.test")
	m2 := e.accept(t, fmt.Sprintf(campaign, "dave@corp.test", "b2"), "dave@corp.test")
	e.st.SetDisposition(ctx, m1.Seq, "SPAM", nil)
	// A block entry makes every re-score MALICIOUS: the team's NONE for one
	// message must not release its sibling.
	e.st.CreateBlockSender(ctx, &store.BlockSender{SettingBase: store.SettingBase{AccountID: e.acct.ID}, Pattern: "sender.test", PatternType: store.PatternDomain})
	e.svc.Pipe.Policies = staticPolicy{&detect.Policy{BlockSenders: []detect.BlockSender{{Pattern: "sender.test", PatternType: "DOMAIN"}}}}
	e.st.SetDisposition(ctx, m2.Seq, "SPAM", nil)
	res, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: "a", MessageID: m1.ID, Disposition: detect.None})
	if err != nil {
		t.Fatal(err)
	}
	e.run()
	got, _ := e.st.GetMessage(ctx, e.acct.ID, m2.ID)
	if got.Disposition != "SPAM" {
		t.Errorf("sibling changed to %s", got.Disposition)
	}
	sub, _ := e.st.GetSubmission(ctx, e.acct.ID, res.Submission.ID)
	if sub.CampaignChanged != 0 || sub.OutcomeCode != OutcomeReclassified {
		t.Errorf("submission: %+v", sub)
	}
}

type staticPolicy struct{ p *detect.Policy }

func (s staticPolicy) Policy(context.Context, int64) (*detect.Policy, error) { return s.p, nil }

func (s staticPolicy) Holds(_ context.Context, _ int64, _ []string, d string) (bool, error) {
	return d != string(detect.None) && d != string(detect.Bulk), nil
}

func TestLimits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.Limits = Limits{Rate: 2, Window: time.Hour, MaxUpload: 300}
	m := e.accept(t, fmt.Sprintf(campaign, "bob@corp.test", "l1"), "bob@corp.test")
	for i, d := range []detect.Disposition{detect.Spam, detect.Bulk} {
		if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, MessageID: m.ID, Disposition: d}); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, MessageID: m.ID, Disposition: detect.Malicious}); !errors.Is(err, ErrRateLimited) {
		t.Errorf("third: %v", err)
	}
	e.svc.Limits.Rate = 100
	big := fmt.Sprintf(campaign, "bob@corp.test", "big") + strings.Repeat("x", 400)
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, EML: []byte(big), Disposition: detect.Spam}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("large upload: %v", err)
	}
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, EML: []byte("\x00\x01binary"), Disposition: detect.Spam}); !errors.Is(err, ErrUnparseable) {
		t.Errorf("binary upload: %v", err)
	}
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, MessageID: "nope", Disposition: detect.Spam}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown message: %v", err)
	}
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, MessageID: m.ID, Disposition: detect.Spam,
		Policy: &PolicyRequest{Type: "allow_all", PatternType: "EMAIL"}}); !errors.Is(err, ErrBadPolicy) {
		t.Errorf("bad policy: %v", err)
	}
}

func TestUploadRefersToStoredMessage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	raw := fmt.Sprintf(campaign, "bob@corp.test", "u1")
	m := e.accept(t, raw, "bob@corp.test")
	// The delivered copy carries our headers; an upload of it names the stored message.
	delivered := "X-Mailwarden-Disposition: NONE\r\nX-Mailwarden-Id: " + m.ID + "\r\n" + raw
	res, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelUpload, EML: []byte(delivered), Disposition: detect.Spam})
	if err != nil || res.Submission.MessageID != m.ID {
		t.Errorf("upload of a delivered copy: %+v %v", res.Submission, err)
	}
	// The same bytes again: the stored message.
	res, err = e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionUser, Channel: store.ChannelUpload, EML: []byte(raw), Disposition: detect.Spam})
	if err != nil || res.Submission.MessageID != m.ID {
		t.Errorf("upload of the same bytes: %+v %v", res.Submission, err)
	}
	// Never seen: scanned and stored, delivered to no one.
	res, err = e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelUpload, EML: []byte(fmt.Sprintf(campaign, "x@corp.test", "new")), Disposition: detect.Spam})
	if err != nil || res.Submission.MessageID == m.ID || res.Submission.MessageID == "" {
		t.Fatalf("upload of a new message: %+v %v", res.Submission, err)
	}
	stored, err := e.st.GetMessage(ctx, e.acct.ID, res.Submission.MessageID)
	if err != nil || stored.DeliveryMode != pipeline.ModeAPI || len(stored.EnvelopeTo) != 0 {
		t.Errorf("stored upload: %+v %v", stored, err)
	}
}

func TestUserTriage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m := e.accept(t, fmt.Sprintf(campaign, "bob@corp.test", "t1"), "bob@corp.test")
	user, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionUser, Channel: store.ChannelMail, RequestedBy: "bob@corp.test", NotifyAddr: "bob@corp.test", MessageID: m.ID, Disposition: detect.Malicious})
	if err != nil || user.Submission.CustomerStatus != store.CustomerUnreviewed {
		t.Fatalf("user: %+v %v", user, err)
	}
	e.run()
	if got, _ := e.st.GetMessage(ctx, e.acct.ID, m.ID); got.Disposition != "NONE" {
		t.Errorf("a user submission changed the message: %s", got.Disposition)
	}
	p := store.Principal{AccountID: e.acct.ID, Role: store.RoleAnalyst, Name: "ana@corp.test"}
	rev, err := e.svc.Review(ctx, p, user.Submission.ID)
	if err != nil || rev.CustomerStatus != store.CustomerReviewed || rev.OutcomeCode != OutcomeRejectedByReview {
		t.Fatalf("review: %+v %v", rev, err)
	}
	if _, err := e.svc.Review(ctx, p, user.Submission.ID); !errors.Is(err, ErrAlreadyTriage) {
		t.Errorf("reviewed twice: %v", err)
	}
	e.run()
	if mail := e.sink.Wait(1, 5*time.Second); len(mail) != 1 || !strings.Contains(string(mail[0].Data), "rejected_by_review") {
		t.Errorf("review mail: %v", mail)
	}
	// Escalation makes a linked team submission.
	user2, _ := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionUser, RequestedBy: "carol@corp.test", MessageID: m.ID, Disposition: detect.Spam})
	u, team, err := e.svc.Escalate(ctx, e.acct, p, user2.Submission.ID, "", nil)
	if err != nil || u.CustomerStatus != store.CustomerEscalated || u.EscalatedSubmissionID != team.Submission.ID || team.Submission.EscalatedFrom != u.ID ||
		team.Submission.RequestedDisposition != "SPAM" || team.Submission.Type != store.SubmissionTeam {
		t.Fatalf("escalate: %+v %+v %v", u, team, err)
	}
	e.run()
	if got, _ := e.st.GetMessage(ctx, e.acct.ID, m.ID); got.Disposition != "SPAM" {
		t.Errorf("escalated: %s", got.Disposition)
	}
	if u, _ := e.st.GetSubmission(ctx, e.acct.ID, u.ID); u.Status != store.SubCompleted || u.OutcomeDisposition != "SPAM" {
		t.Errorf("user submission after the team's: %+v", u)
	}
}

func TestFindOriginal(t *testing.T) {
	part := func(ct, name, body string) string {
		return "--b\r\nContent-Type: " + ct + "\r\nContent-Disposition: attachment; filename=\"" + name + "\"\r\n\r\n" + body + "\r\n"
	}
	report := func(parts ...string) *message.Message {
		raw := "From: u@corp.test\r\nTo: report@mx.test\r\nSubject: r\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n" +
			"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" + strings.Join(parts, "") + "--b--\r\n"
		return message.Parse([]byte(raw), message.DefaultLimits)
	}
	orig := "From: a@b.test\r\nSubject: x\r\nMessage-ID: <x@b.test>\r\n\r\nhello\r\n"
	cases := []struct {
		name   string
		m      *message.Message
		reason string
	}{
		{"rfc822", report(part("message/rfc822", "x.eml", orig)), ""},
		{"eml as octets", report(part("application/pdf", "doc.pdf", "%PDF-1.4"), part("application/octet-stream", "orig.EML", orig)), ""},
		{"no attachment", message.Parse([]byte("From: u@corp.test\r\nSubject: r\r\n\r\nspam!\r\n"), message.DefaultLimits), ReasonNoEML},
		{"wrong type", report(part("application/pdf", "doc.pdf", "%PDF-1.4")), ReasonWrongType},
		{"unparseable", report(part("application/octet-stream", "x.eml", "just some words")), ReasonUnparseable},
	}
	for _, c := range cases {
		eml, reason := FindOriginal(c.m, message.DefaultLimits)
		if reason != c.reason {
			t.Errorf("%s: reason %q, want %q", c.name, reason, c.reason)
		}
		if c.reason == "" && !strings.Contains(string(eml), "Message-ID: <x@b.test>") {
			t.Errorf("%s: original %q", c.name, eml)
		}
	}
}

func TestAlias(t *testing.T) {
	cases := map[string]string{"report": "USER/MALICIOUS", "team-spam": "TEAM/SPAM", "Team-Clean": "TEAM/NONE", "team-malicious": "TEAM/MALICIOUS",
		"team-bulk": "TEAM/BULK", "team-spoof": "TEAM/SPOOF", "team-suspicious": "TEAM/SUSPICIOUS", "team-none": "", "postmaster": "", "team-": ""}
	for local, want := range cases {
		typ, d, ok := Alias(local)
		got := ""
		if ok {
			got = typ + "/" + string(d)
		}
		if got != want {
			t.Errorf("%s: %q, want %q", local, got, want)
		}
	}
}

func TestTakeMail(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.st.SetSubmissionContact(ctx, e.acct.ID, "token:mw_ana", store.RoleAnalyst, "ana@corp.test")
	orig := fmt.Sprintf(campaign, "bob@corp.test", "tm1")
	m := e.accept(t, orig, "bob@corp.test")
	withOrig := "From: %s\r\nTo: x\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\n" + orig + "\r\n--b--\r\n"
	take := func(from, rcpt, raw string) {
		t.Helper()
		if err := e.svc.Take(ctx, e.acct, pipeline.Envelope{MailFrom: from, Recipients: []string{rcpt}}, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	take("ana@corp.test", "team-spam@mx.test", fmt.Sprintf(withOrig, "ana@corp.test"))
	take("mallory@evil.test", "team-clean@mx.test", fmt.Sprintf(withOrig, "mallory@evil.test"))
	take("bob@corp.test", "nobody@mx.test", fmt.Sprintf(withOrig, "bob@corp.test"))
	take("", "report@mx.test", "From: daemon@corp.test\r\nSubject: bounce\r\n\r\nno\r\n")
	subs, _, _ := e.st.ListSubmissions(ctx, e.acct.ID, store.SubmissionQuery{})
	got := map[string]store.Submission{}
	for _, s := range subs {
		got[s.Type+"/"+s.Reason] = s
	}
	if s, ok := got["TEAM/"]; !ok || s.MessageID != m.ID || s.RequestedBy != "token:mw_ana" || s.RequestedDisposition != "SPAM" {
		t.Errorf("team mail: %+v", s)
	}
	if s, ok := got["INVALID/"+ReasonNotTeam]; !ok || s.NotifyAddr != "mallory@evil.test" {
		t.Errorf("outsider to a team alias: %+v", got)
	}
	if _, ok := got["INVALID/"+ReasonUnknownAlias]; !ok {
		t.Errorf("unknown alias: %+v", got)
	}
	if s, ok := got["INVALID/"+ReasonNoEML]; !ok || s.NotifyAddr != "" {
		t.Errorf("bounce to report@: %+v (a null sender is never answered)", s)
	}
	ours := func(rcpt string) bool {
		ok, err := e.svc.Ours(ctx, rcpt)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !ours("report@MX.test") || ours("bob@corp.test") {
		t.Errorf("Ours")
	}
}

func TestBulkAction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.Limits = Limits{Rate: 1, Window: time.Hour}
	e.st.SetSubmissionContact(ctx, e.acct.ID, "token:mw_ana", store.RoleAnalyst, "ana@corp.test")
	m1 := e.accept(t, fmt.Sprintf(campaign, "bob@corp.test", "k1"), "bob@corp.test")
	m2 := e.accept(t, fmt.Sprintf(campaign, "dave@corp.test", "k2"), "dave@corp.test")
	job := store.Job{ID: "job1", AccountID: e.acct.ID, Action: "RECLASSIFY", ExpectedDisposition: "BULK", RequestedBy: "token:mw_ana"}
	for _, m := range []*store.Message{m1, m2, m1} {
		if err := e.svc.BulkAction(ctx, job, *m); err != nil {
			t.Fatalf("bulk action: %v", err)
		}
	}
	e.run()
	subs, _, _ := e.st.ListSubmissions(ctx, e.acct.ID, store.SubmissionQuery{})
	if len(subs) != 2 {
		t.Fatalf("%d submissions, want 2 (one per message)", len(subs))
	}
	for _, s := range subs {
		if s.OutcomeCode != OutcomeReclassified || s.NotifyAddr != "" || s.CampaignChanged != 0 || s.Channel != store.ChannelBulk {
			t.Errorf("bulk submission: %+v", s)
		}
	}
	// Bulk rows do not count against the rate limit.
	if _, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, MessageID: m1.ID, Disposition: detect.Spam}); err != nil {
		t.Errorf("after a bulk job: %v", err)
	}
}

func TestTakeRateLimited(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.svc.Limits = Limits{Rate: 2, Window: time.Hour}
	report := "From: x@corp.test\r\nSubject: spam\r\n\r\nno attachment\r\n"
	for i := 0; i < 3; i++ {
		err := e.svc.Take(ctx, e.acct, pipeline.Envelope{MailFrom: "x@corp.test", Recipients: []string{"report@mx.test"}}, []byte(report))
		if i < 2 && err != nil || i == 2 && !errors.Is(err, ErrRateLimited) {
			t.Errorf("report %d: %v", i, err)
		}
	}
	if n, _ := e.st.CountSubmissionsSince(ctx, e.acct.ID, time.Now().Add(-time.Hour)); n != 2 {
		t.Errorf("%d invalid submissions recorded, want 2", n)
	}
}
