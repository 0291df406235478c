package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testSearchWords pins what a word is to full-text search, so the stores
// agree: runs of letters and digits, compared without case or diacritics;
// free-text terms match whole words, field filters a prefix of their last word.
func testSearchWords(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, m := range []*store.Message{
		{ID: "w1", Subject: "Café invoice 2026-11", FromAddr: "Bob.Smith@corp.test", FromName: "Bob Smith", EnvelopeTo: []string{"ann@corp.test"}},
		{ID: "w2", Subject: "Re: invoices", FromAddr: "carol@other.test", EnvelopeTo: []string{"bob.smithers@corp.test"}},
	} {
		m.AccountID, m.ScannedAt, m.Disposition, m.DeliveryMode, m.DeliveryStatus = a.ID, t0, "NONE", "DIRECT", store.StatusQueued
		if err := st.InsertMessage(ctx, m, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		q    store.Query
		want []string
	}{
		{"diacritics and case", store.Query{Text: "CAFE"}, []string{"w1"}},
		{"diacritics in the query", store.Query{Text: "invoice café"}, []string{"w1"}},
		{"whole words in free text", store.Query{Text: "invoice"}, []string{"w1"}},
		{"no prefix in free text", store.Query{Text: "invo"}, nil},
		{"punctuation splits words", store.Query{Text: "2026-11"}, []string{"w1"}},
		{"a phrase keeps its order", store.Query{Text: "smith.bob@corp.test"}, nil},
		{"only terms without words", store.Query{Text: "% -"}, nil},
		{"a term without words is left out", store.Query{Text: "% invoices"}, []string{"w2"}},
		{"sender prefix", store.Query{Sender: "bob.smi"}, []string{"w1"}},
		{"sender by display name", store.Query{Sender: "smith"}, []string{"w1"}},
		{"recipient prefix", store.Query{Recipient: "bob.smith"}, []string{"w2"}},
		{"subject prefix of the last word", store.Query{Subject: "invoic"}, []string{"w2", "w1"}},
		{"a field filter stays in its field", store.Query{Subject: "corp"}, nil},
	} {
		p, err := st.Search(ctx, a.ID, c.q)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := ids(p); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// testHostileText stores mail whose header fields carry NUL bytes and invalid
// UTF-8, as hostile mail does: every store takes it (SQLite keeps the bytes;
// PostgreSQL, whose text refuses them, keeps U+FFFD in their place), finds it,
// and searches with such bytes in the filters without an error.
func testHostileText(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	m := &store.Message{ID: "h1", AccountID: a.ID, Subject: "pay\x00now \xff\xfeinvoice", FromName: "Bad\x00Name", MessageID: "<x\x00y@evil.test>",
		FromAddr: "evil@evil.test", EnvelopeTo: []string{"bob\x00@corp.test"}, ScannedAt: time.Now(), Disposition: "SPAM",
		DeliveryMode: "DIRECT", DeliveryStatus: store.StatusQueued}
	if err := st.InsertMessage(ctx, m, []byte("raw\x00bytes\xff"), []string{"line with \x00"}, []string{"bob\x00@corp.test"}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	got, err := st.GetMessage(ctx, a.ID, "h1")
	if err != nil || !strings.HasPrefix(got.Subject, "pay") || !strings.HasSuffix(got.Subject, "invoice") {
		t.Fatalf("get: %q %v", got.Subject, err)
	}
	if raw, err := st.Raw(ctx, m.Seq); err != nil || string(raw) != "raw\x00bytes\xff" {
		t.Errorf("raw bytes are kept as they are: %q %v", raw, err)
	}
	for _, q := range []store.Query{{Text: "invoice"}, {Subject: "pay"}, {Sender: "evil"}} {
		if p, err := st.Search(ctx, a.ID, q); err != nil || len(p.Messages) != 1 {
			t.Errorf("search %+v: %d %v", q, len(p.Messages), err)
		}
	}
	for _, q := range []store.Query{{MessageID: "x\x00y"}, {Domain: "\xff"}, {Subject: "\x00pay"}, {Text: "pay\x00"}, {Text: "\x00"}, {Text: "in\xffvoice\x01"}} {
		if _, err := st.Search(ctx, a.ID, q); err != nil {
			t.Errorf("search with hostile bytes %+v: %v", q, err)
		}
	}
	if err := st.AddTrace(ctx, m.Seq, "outbound", "bad \xff\x00 reply"); err != nil {
		t.Errorf("trace: %v", err)
	}
}
