package bayes

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/mailwarden/mailwarden/internal/message"
)

func msg(subject, body string) *message.Message {
	raw := "Subject: " + subject + "\r\n\r\n" + body
	return &message.Message{
		Raw:     []byte(raw),
		Subject: subject,
		From:    message.Address{Name: "Sender Name", Addr: "someone@mail.example.com"},
		Text:    body,
	}
}

func TestTokenize(t *testing.T) {
	m := msg("Cheap Meds NOW", "Buy 1000 pills at http://shop.example.net/buy/cheap-pills today!! Price $4999. a "+strings.Repeat("x", 40))
	m.Links = []message.Link{{Href: "https://Click.Tracker.example.org/x", Host: "click.tracker.example.org"}}
	toks := Tokenize(m, 0)
	for _, want := range []string{
		"s:cheap", "s:meds", "s:cheap meds", "s:meds now", // subject words and bigrams, lowercased
		"fn:sender", "fd:mail.example.com", "fr:example.com", // From name and domain
		"buy", "pills", "buy pills", "$#", "price $#", // digit runs collapsed, lone numbers dropped
		"uh:shop.example.net", "ur:example.net", "up:buy", "up:cheap-pills", // URL in text
		"uh:click.tracker.example.org", "ur:example.org", // link host
		"skip:x 4", "meta:text",
	} {
		if !slices.Contains(toks, want) {
			t.Errorf("token %q missing from %q", want, toks)
		}
	}
	for _, not := range []string{"a", "#", "buy #", "http", "today!!"} {
		if slices.Contains(toks, not) {
			t.Errorf("unexpected token %q", not)
		}
	}
	// Structure tokens: Message-ID against From, subject and link shape.
	m.MessageID = "20020926.1234@mail.example.com"
	m.Links = append(m.Links, message.Link{Href: "http://192.0.2.1:8080/a/b/c?x=1"})
	toks = Tokenize(m, 0)
	for _, want := range []string{"mid:same-org", "mids:9.9", "bl:bangs", "uf:port", "uf:depth-many", "uf:query", "ul:no-own-site", "rcpt:none"} {
		if !slices.Contains(toks, want) {
			t.Errorf("structure token %q missing from %q", want, toks)
		}
	}
	// HTML: a phishing kit's form and password field are tokens; a newsletter's
	// hidden preheader and tiny footer are not (they only say "recent HTML").
	m.HTML = `<div style="display:none">Preview text</div><p style="font-size:1px">x</p>` +
		`<form action="https://collect.example/p"><input type="password" name="pw"></form>`
	toks = Tokenize(m, 0)
	for _, want := range []string{"hs:form", "hs:password-input"} {
		if !slices.Contains(toks, want) {
			t.Errorf("HTML token %q missing from %q", want, toks)
		}
	}
	for _, not := range []string{"hs:style-hidden", "hs:style-tiny-font"} {
		if slices.Contains(toks, not) {
			t.Errorf("unexpected HTML token %q", not)
		}
	}
	// Unique and capped.
	seen := map[string]bool{}
	for _, tok := range toks {
		if seen[tok] {
			t.Errorf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
	long := msg("x", strings.Repeat("word ", 10)+randomWords(5000))
	if n := len(Tokenize(long, 100)); n != 100 {
		t.Errorf("cap: got %d tokens, want 100", n)
	}
	// Unicode words are lowercased whole.
	if toks := Tokenize(msg("", "Überweisung ПРИВЕТ"), 0); !slices.Contains(toks, "überweisung") || !slices.Contains(toks, "привет") {
		t.Errorf("unicode tokens: %q", toks)
	}
}

func randomWords(n int) string {
	r := rand.New(rand.NewSource(1))
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "w%c%c%c ", 'a'+r.Intn(26), 'a'+r.Intn(26), 'a'+r.Intn(26))
	}
	return b.String()
}

// corpus makes n distinguishable messages of a class.
func corpus(class string, n int) []*message.Message {
	vocab := map[string][]string{
		"ham":   {"meeting", "patch", "kernel", "review", "thanks", "tomorrow", "lunch", "project", "release", "build"},
		"spam":  {"cheap", "pills", "offer", "discount", "viagra", "casino", "winner", "free", "lottery", "deal"},
		"phish": {"verify", "account", "suspended", "password", "login", "bank", "confirm", "security", "urgent", "identity"},
	}[class]
	r := rand.New(rand.NewSource(int64(len(class))))
	var out []*message.Message
	for i := 0; i < n; i++ {
		var words []string
		for j := 0; j < 30; j++ {
			words = append(words, vocab[r.Intn(len(vocab))])
		}
		words = append(words, fmt.Sprintf("msg%c%c%c", 'a'+i%26, 'a'+i/26%26, 'a'+i/676%26))
		out = append(out, msg(class+" "+vocab[i%len(vocab)], strings.Join(words, " ")))
	}
	return out
}

func trainAll(t *testing.T, m *Model, msgs []*message.Message, c Class) {
	t.Helper()
	for _, x := range msgs {
		if _, err := m.Train(context.Background(), x, c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestScoreMinimumEvidence(t *testing.T) {
	ctx := context.Background()
	m, err := Load(ctx, NewMemStore(), 1, Config{})
	if err != nil {
		t.Fatal(err)
	}
	probe := corpus("spam", 1)[0]
	if s := m.Score(probe); s.Spam != -1 || s.Phish != -1 {
		t.Fatalf("fresh model: %+v, want no opinion", s)
	}
	trainAll(t, m, corpus("ham", 49), Ham)
	trainAll(t, m, corpus("spam", 60), Spam)
	if s := m.Score(probe); s.Spam != -1 {
		t.Fatalf("49 ham: %+v, want no opinion", s)
	}
	trainAll(t, m, corpus("ham", 60)[49:], Ham)
	if s := m.Score(probe); s.Spam < 0.9 {
		t.Fatalf("trained: spam %v, want >= 0.9", s.Spam)
	}
	if s := m.Score(msg("hello", "zzz qqq")); s.Spam != -1 {
		t.Fatalf("unknown tokens: %+v, want no opinion", s)
	}
	if s := m.Score(probe); s.Phish != -1 {
		t.Fatalf("no phish trained: phish %v, want -1", s.Phish)
	}
}

func TestScoreClasses(t *testing.T) {
	ctx := context.Background()
	m, _ := Load(ctx, NewMemStore(), 1, Config{})
	ham, spam, phish := corpus("ham", 80), corpus("spam", 80), corpus("phish", 80)
	trainAll(t, m, ham[:60], Ham)
	trainAll(t, m, spam[:60], Spam)
	trainAll(t, m, phish[:60], Phish)
	for _, tc := range []struct {
		name      string
		msgs      []*message.Message
		bad, fish bool
	}{
		{"ham", ham[60:], false, false},
		{"spam", spam[60:], true, false},
		{"phish", phish[60:], true, true},
	} {
		for _, x := range tc.msgs {
			s := m.Score(x)
			if (s.Spam >= 0.9) != tc.bad || (tc.bad && (s.Phish >= 0.9) != tc.fish) || (!tc.bad && s.Spam > 0.1) {
				t.Errorf("%s: %+v", tc.name, s)
			}
			if len(s.Clues) == 0 {
				t.Errorf("%s: no clues", tc.name)
			}
		}
	}
}

func TestTrainIdempotent(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	m, _ := Load(ctx, st, 7, Config{})
	x := corpus("spam", 1)[0]
	changed, err := m.Train(ctx, x, Spam)
	if err != nil || !changed {
		t.Fatalf("first train: %v %v", changed, err)
	}
	snapshot := func() (Counts, map[string]Counts) {
		toks := map[string]Counts{}
		msgs, err := st.LoadBayes(ctx, 7, func(tok string, c Counts) { toks[tok] = c })
		if err != nil {
			t.Fatal(err)
		}
		return msgs, toks
	}
	msgs1, toks1 := snapshot()
	if changed, _ := m.Train(ctx, x, Spam); changed {
		t.Fatal("second train as spam changed the model")
	}
	msgs2, toks2 := snapshot()
	if msgs1 != msgs2 || len(toks1) != len(toks2) {
		t.Fatalf("second train changed counts: %v %v", msgs1, msgs2)
	}
	// Reclassify: untrain spam, train ham, once.
	for i := 0; i < 2; i++ {
		if changed, err := m.Train(ctx, x, Ham); err != nil || changed != (i == 0) {
			t.Fatalf("reclassify #%d: %v %v", i, changed, err)
		}
	}
	msgs3, toks3 := snapshot()
	if msgs3 != (Counts{Ham: 1}) {
		t.Fatalf("after reclassify: %+v", msgs3)
	}
	for tok, c := range toks3 {
		if c != (Counts{Ham: 1}) {
			t.Fatalf("token %q: %+v", tok, c)
		}
	}
	if c, _ := m.TrainedAs(ctx, x); c != Ham {
		t.Fatalf("trained as %q", c)
	}
	if m.Messages() != msgs3 {
		t.Fatalf("memory %+v, store %+v", m.Messages(), msgs3)
	}
	if changed, err := m.Untrain(ctx, x); err != nil || !changed {
		t.Fatalf("untrain: %v %v", changed, err)
	}
	if changed, _ := m.Untrain(ctx, x); changed {
		t.Fatal("second untrain changed the model")
	}
	msgs4, toks4 := snapshot()
	if msgs4 != (Counts{}) || len(toks4) != 0 || m.tokens.Len() != 0 {
		t.Fatalf("after untrain: %+v %d tokens, %d in memory", msgs4, len(toks4), m.tokens.Len())
	}
	if _, err := m.Train(ctx, x, "bulk"); !errors.Is(err, ErrClass) {
		t.Fatalf("bad class: %v", err)
	}
	// Accounts are separate.
	other, _ := Load(ctx, st, 8, Config{})
	if other.Messages() != (Counts{}) {
		t.Fatal("account 8 sees account 7")
	}
}

// TestTrainConflict: another node trained the message between our read and
// write; the model reloads and retries instead of double counting.
func TestTrainConflict(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore()
	a, _ := Load(ctx, st, 1, Config{})
	b, _ := Load(ctx, st, 1, Config{})
	x := corpus("ham", 1)[0]
	if _, err := a.Train(ctx, x, Spam); err != nil {
		t.Fatal(err)
	}
	cs := &conflictStore{Store: st, once: true}
	b.store = cs
	if _, err := b.Train(ctx, x, Ham); err != nil {
		t.Fatal(err)
	}
	if got := b.Messages(); got != (Counts{Ham: 1}) {
		t.Fatalf("b: %+v", got)
	}
}

// conflictStore reports a stale read once, as if another node wrote meanwhile.
type conflictStore struct {
	Store
	once bool
}

func (c *conflictStore) BayesTrainedAs(ctx context.Context, account int64, key string) (Class, error) {
	if c.once {
		c.once = false
		return Untrained, nil
	}
	return c.Store.BayesTrainedAs(ctx, account, key)
}

func TestChi2(t *testing.T) {
	if got := chi2Combine(nil); got != 0.5 {
		t.Errorf("no clues: %v", got)
	}
	strong := []clue{{prob: 0.99}, {prob: 0.98}, {prob: 0.97}}
	if got := chi2Combine(strong); got < 0.95 {
		t.Errorf("spammy clues: %v", got)
	}
	weak := []clue{{prob: 0.01}, {prob: 0.02}}
	if got := chi2Combine(weak); got > 0.05 {
		t.Errorf("hammy clues: %v", got)
	}
	mixed := []clue{{prob: 0.99}, {prob: 0.01}}
	if got := chi2Combine(mixed); got < 0.4 || got > 0.6 {
		t.Errorf("mixed clues: %v", got)
	}
	if q := chi2Q(0, 4); q != 1 {
		t.Errorf("chi2Q(0) = %v", q)
	}
}

func TestModelsRegistry(t *testing.T) {
	ctx := context.Background()
	ms := NewModels(NewMemStore(), Config{})
	if s := ms.Score(ctx, 3, corpus("ham", 1)[0]); s.Spam != -1 {
		t.Fatalf("fresh: %+v", s)
	}
	if _, err := ms.Train(ctx, 3, corpus("ham", 1)[0], Ham); err != nil {
		t.Fatal(err)
	}
	m, _ := ms.Get(ctx, 3)
	if m.Messages().Ham != 1 {
		t.Fatal("registry did not keep the model")
	}
}

var benchBody = strings.Repeat("Dear customer, your account statement for invoice 4432 is ready. Please review the attached document and contact support@example.com with any questions. ", 25)

func benchMessage() *message.Message {
	m := msg("Your monthly statement is ready", benchBody)
	m.HTML = "<html><body><table><tr><td><p>" + benchBody + "</p><a href=\"https://example.com/x\">here</a><img src=x></td></tr></table></body></html>"
	for i := 0; i < 15; i++ {
		m.Links = append(m.Links, message.Link{Href: fmt.Sprintf("https://links%d.example.com/track/abc%d?u=1", i%4, i), Host: fmt.Sprintf("links%d.example.com", i%4)})
	}
	m.Headers = []message.Header{{Name: "Content-Type", Value: "multipart/alternative; boundary=x"}, {Name: "X-Mailer", Value: "Mailer 2.1"}}
	return m
}

// BenchmarkScore is tokenise + score of a ~4 KB message against a trained model.
func BenchmarkScore(b *testing.B) {
	ctx := context.Background()
	m, _ := Load(ctx, NewMemStore(), 1, Config{})
	for _, c := range []struct {
		name  string
		class Class
	}{{"ham", Ham}, {"spam", Spam}, {"phish", Phish}} {
		for _, x := range corpus(c.name, 100) {
			m.Train(ctx, x, c.class)
		}
	}
	x := benchMessage()
	x.Text += " meeting patch cheap offer verify account"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Score(x)
	}
}

func BenchmarkTokenize(b *testing.B) {
	x := benchMessage()
	b.ReportAllocs()
	for b.Loop() {
		t := getTokens(1500)
		t.message(x)
		t.release()
	}
}

// strongest selects then sorts: the same clues in the same order as a full sort.
func TestStrongestSameAsSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.Intn(40)
		c := make([]clue, rng.Intn(200))
		for i := range c {
			c[i] = clue{idx: int32(i), prob: rng.Float64(), dist: float64(rng.Intn(20)) / 40}
		}
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		want := slices.Clone(c)
		slices.SortFunc(want, func(a, b clue) int {
			switch {
			case a.dist > b.dist:
				return -1
			case a.dist < b.dist:
				return 1
			}
			return int(a.idx - b.idx)
		})
		want = want[:min(n, len(want))]
		if got := strongest(c, n); !slices.Equal(got, want) {
			t.Fatalf("trial %d: got %v, want %v", trial, got, want)
		}
	}
}

func BenchmarkStrongest(b *testing.B) {
	rng := rand.New(rand.NewSource(1))
	src := make([]clue, 800)
	for i := range src {
		src[i] = clue{idx: int32(i), prob: rng.Float64(), dist: 0.1 + rng.Float64()*0.4}
	}
	c := make([]clue, len(src))
	for b.Loop() {
		copy(c, src)
		strongest(c, 150)
	}
}

func TestLowerIs(t *testing.T) {
	for _, s := range []string{"", "X-Mailer", "x-mailer", "X-MAILER", "x-mailer ", "User-Agent", "uſer-agent", "Content-Type", "\u212a-mailer", "x-mai\u0130er", "content-typ"} {
		for _, lit := range []string{"x-mailer", "user-agent", "content-type", "k-mailer"} {
			if got, want := lowerIs(s, lit), strings.ToLower(s) == lit; got != want {
				t.Errorf("lowerIs(%q, %q) = %v, want %v", s, lit, got, want)
			}
		}
	}
}
