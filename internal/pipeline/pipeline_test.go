package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

func emptyZone(t testing.TB) *dnsx.Zone {
	z, err := dnsx.ParseZone(strings.NewReader(""), ".")
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func newPipeline(t *testing.T) (*Pipeline, *sqlite.Store, store.Account) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acct, _ := st.CreateAccount(context.Background(), "a")
	return &Pipeline{
		Auth:     &auth.Checker{Resolver: emptyZone(t), AuthServID: "mx.test"},
		Detector: detect.New(detect.DefaultConfig(), nil),
		Store:    st,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, st, acct
}

const newsletter = "From: Shop <news@shop.example>\r\nTo: %s\r\nSubject: Weekly deals for %s\r\nMessage-ID: <%s@shop.example>\r\n" +
	"Content-Type: text/plain\r\n\r\nHello %s, this week we have great deals on garden furniture, barbecue sets and outdoor lighting.\r\n" +
	"Visit https://shop.example/deals to see all the offers before Sunday. Free delivery on orders over fifty pounds.\r\n"

func TestAcceptRoutesAndGroupsCampaigns(t *testing.T) {
	p, st, acct := newPipeline(t)
	ctx := context.Background()
	queued := 0
	p.Delivered = func() { queued++ }
	env := Envelope{Helo: "mail.shop.example", MailFrom: "news@shop.example", Recipients: []string{"bob@corp.test"}, Mode: ModeDirect}
	a, _, err := p.Accept(ctx, acct, []byte(fmt.Sprintf(newsletter, "bob@corp.test", "Bob", "n1", "Bob")), env)
	if err != nil {
		t.Fatal(err)
	}
	env.Recipients = []string{"carol@corp.test"}
	b, _, err := p.Accept(ctx, acct, []byte(fmt.Sprintf(newsletter, "carol@corp.test", "Carol", "n2", "Carol")), env)
	if err != nil {
		t.Fatal(err)
	}
	if a.CampaignID == "" || b.CampaignID != a.CampaignID {
		t.Errorf("two copies of one newsletter: campaigns %q and %q", a.CampaignID, b.CampaignID)
	}
	other := "From: Alice <alice@example.org>\r\nTo: bob@corp.test\r\nSubject: minutes\r\n\r\nThe minutes of yesterday's architecture review are attached; please correct anything I got wrong about the database migration plan.\r\n"
	c, _, err := p.Accept(ctx, acct, []byte(other), env)
	if err != nil {
		t.Fatal(err)
	}
	if c.CampaignID == a.CampaignID {
		t.Errorf("an unrelated message joined the newsletter's campaign")
	}
	if c.Disposition != "NONE" || c.DeliveryStatus != store.StatusQueued || c.IsQuarantined || queued != 3 {
		t.Errorf("clean message: %s %s quarantined=%v queued=%d", c.Disposition, c.DeliveryStatus, c.IsQuarantined, queued)
	}
	if due, _ := st.PendingDeliveries(ctx, c.Seq); len(due) != 1 || due[0].Recipient != "carol@corp.test" {
		t.Errorf("deliveries: %+v", due)
	}
	if tr, _ := st.Trace(ctx, c.Seq); len(tr) < 3 || !strings.Contains(tr[2].Line, "disposition NONE") {
		t.Errorf("trace: %+v", tr)
	}
	// Journaled mail is stored and scanned, never delivered.
	j, _, err := p.Accept(ctx, acct, []byte(other), Envelope{Mode: ModeJournal, FromHeaders: true})
	if err != nil || j.DeliveryStatus != store.StatusJournaled {
		t.Fatalf("journal: %+v %v", j, err)
	}
	if due, _ := st.PendingDeliveries(ctx, j.Seq); len(due) != 0 {
		t.Errorf("journaled message queued for delivery")
	}
}

// Malformed input is still stored and scanned, with a trigger saying what was wrong.
func TestAcceptMalformed(t *testing.T) {
	p, st, acct := newPipeline(t)
	raw := []byte("Content-Type: multipart/mixed; boundary=\"b\"\r\nSubject: =?utf-8?B?broken\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>\xff\xfe unterminated")
	rec, an, err := p.Accept(context.Background(), acct, raw, Envelope{Mode: ModeAPI, Recipients: []string{"x@corp.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(an.Message.Problems) == 0 {
		t.Fatalf("no problems recorded for malformed input")
	}
	found := false
	for _, tr := range an.Verdict.Triggers {
		for _, pr := range an.Message.Problems {
			if tr.Name == pr.Code {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no trigger names a problem: %+v / %+v", an.Verdict.Triggers, an.Message.Problems)
	}
	got, _ := st.Raw(context.Background(), rec.Seq)
	if string(got) != string(raw) {
		t.Errorf("raw bytes not kept")
	}
}

// BenchmarkAnalyze measures the scan path (parse, authenticate with no DNS,
// detect with a trained model) on corpus messages; it reports allocations.
// MAILWARDEN_CORPUS points at ../shared/corpus (default), skipped when absent.
func BenchmarkAnalyze(b *testing.B) {
	dir := os.Getenv("MAILWARDEN_CORPUS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "corpus")
	}
	labels, err := os.ReadFile(filepath.Join(dir, "labels.tsv"))
	if err != nil {
		b.Skipf("corpus not found at %s: %v", dir, err)
	}
	var raws [][]byte
	var classes []bayes.Class
	for i, line := range strings.Split(strings.TrimSpace(string(labels)), "\n")[1:] {
		if i%4 != 0 {
			continue
		}
		cls, path, _ := strings.Cut(line, "\t")
		raw, err := os.ReadFile(filepath.Join(dir, path))
		if err != nil {
			b.Fatal(err)
		}
		if strings.HasPrefix(string(raw), "From ") {
			raw = raw[strings.IndexByte(string(raw), '\n')+1:]
		}
		raws = append(raws, raw)
		classes = append(classes, map[string]bayes.Class{"ham": bayes.Ham, "spam": bayes.Spam, "phish": bayes.Phish}[cls])
	}
	ctx := context.Background()
	models := bayes.NewModels(bayes.NewMemStore(), bayes.DefaultConfig())
	model, _ := models.Get(ctx, 1)
	for i, raw := range raws {
		if i%2 == 0 {
			model.Train(ctx, message.Parse(raw, message.Limits{}), classes[i])
		}
	}
	p := &Pipeline{Auth: &auth.Checker{Resolver: emptyZone(b), AuthServID: "mx.test"}, Detector: detect.New(detect.DefaultConfig(), models)}
	pol := &detect.Policy{AccountID: 1}
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for i := 0; i < b.N; i++ {
		raw := raws[i%len(raws)]
		bytes += int64(len(raw))
		p.Analyze(ctx, raw, Envelope{FromHeaders: true}, pol)
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// Clean mail is autolearnt as ham once; mail with a scoring trigger is not.
func TestAutoLearn(t *testing.T) {
	p, st, acct := newPipeline(t)
	ctx := context.Background()
	models := bayes.NewModels(st, bayes.DefaultConfig())
	p.Learn = models
	env := Envelope{Mode: ModeDirect, Recipients: []string{"bob@corp.test"}}
	clean := []byte(fmt.Sprintf(newsletter, "bob@corp.test", "Bob", "al1", "Bob"))
	for i := 0; i < 2; i++ { // the same message twice: trained once
		if _, _, err := p.Accept(ctx, acct, clean, env); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := models.Get(ctx, acct.ID)
	if c := m.Messages(); c.Ham != 1 || c.Spam != 0 || c.Phish != 0 {
		t.Errorf("after a clean message: %+v", c)
	}
	// A message with a scoring trigger (a link whose text names another domain) is not learnt.
	bad := []byte("From: Bank <x@bank.example>\r\nTo: bob@corp.test\r\nSubject: verify\r\nContent-Type: text/html\r\n\r\n" +
		"<p>Sign in at <a href=\"http://198.51.100.7/login\">https://www.bank.example/login</a></p>\r\n")
	_, an, err := p.Accept(ctx, acct, bad, env)
	if err != nil {
		t.Fatal(err)
	}
	if AutoLearn(an.Verdict) {
		t.Fatalf("a message with triggers %+v would be autolearnt", an.Verdict.Triggers)
	}
	if c := m.Messages(); c.Ham != 1 {
		t.Errorf("after a suspicious message: %+v", c)
	}
}

// A message whose MTA delivers it (milter) is recorded as delivered and never
// queued for the relay; a held one is quarantined as always.
func TestAcceptMTADelivers(t *testing.T) {
	p, st, acct := newPipeline(t)
	ctx := context.Background()
	p.Delivered = func() { t.Error("relay woken for mail the MTA delivers") }
	env := Envelope{Helo: "mail.example.org", MailFrom: "alice@example.org", Recipients: []string{"bob@corp.test"}, Mode: ModeDirect, MTADelivers: true}
	msg := "From: Alice <alice@example.org>\r\nTo: bob@corp.test\r\nSubject: minutes\r\n\r\nThe minutes of yesterday's review are attached.\r\n"
	rec, _, err := p.Accept(ctx, acct, []byte(msg), env)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Disposition != "NONE" || rec.DeliveryStatus != store.StatusDelivered || rec.IsQuarantined {
		t.Errorf("clean, MTA delivers: %s %s quarantined=%v", rec.Disposition, rec.DeliveryStatus, rec.IsQuarantined)
	}
	if due, _ := st.PendingDeliveries(ctx, rec.Seq); len(due) != 0 {
		t.Errorf("queued for the relay: %+v", due)
	}
	trace, _ := st.Trace(ctx, rec.Seq)
	if !strings.Contains(fmt.Sprint(trace), "handed back to the MTA") {
		t.Errorf("trace: %v", trace)
	}
	acct.HoldDispositions = []string{"NONE"}
	held, _, err := p.Accept(ctx, acct, []byte(msg), env)
	if err != nil {
		t.Fatal(err)
	}
	if held.DeliveryStatus != store.StatusQuarantined || !held.IsQuarantined {
		t.Errorf("held, MTA delivers: %s quarantined=%v", held.DeliveryStatus, held.IsQuarantined)
	}
}
