package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testSenderHistory: a sender's earlier messages in one account, matched
// without case, counted up to the limit (the most recent), with the clean ones
// following reclassification.
func testSenderHistory(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "a")
	b, _ := st.CreateAccount(ctx, "b")
	c, _ := st.CreateAccount(ctx, "c")
	t0 := time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)
	var seqs []int64
	for i, d := range []string{"NONE", "BULK", "SPAM", "NONE", "MALICIOUS"} {
		from := "Pat@Partner.example.org"
		if i%2 == 1 {
			from = "pat@partner.example.org"
		}
		m := msg(a.ID, "h"+string(rune('a'+i)), "invoice", from, []string{"ap@corp.test"}, d, t0.Add(time.Duration(i)*24*time.Hour))
		if err := st.InsertMessage(ctx, m, []byte("raw"), nil, nil); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, m.Seq)
	}
	other := msg(b.ID, "other-b", "invoice", "pat@partner.example.org", nil, "NONE", t0)
	if err := st.InsertMessage(ctx, other, []byte("raw"), nil, nil); err != nil {
		t.Fatal(err)
	}
	check := func(addr string, limit int, want store.SenderHistory) {
		t.Helper()
		h, err := st.SenderHistory(ctx, a.ID, addr, limit)
		if err != nil {
			t.Fatal(err)
		}
		if h.Messages != want.Messages || h.Clean != want.Clean || !h.First.Equal(want.First) || !h.Kept {
			t.Errorf("history of %s (limit %d) = %+v, want %+v", addr, limit, h, want)
		}
	}
	check("PAT@partner.example.org", 100, store.SenderHistory{Messages: 5, Clean: 3, First: t0})
	check("pat@partner.example.org", 2, store.SenderHistory{Messages: 2, Clean: 1, First: t0.Add(3 * 24 * time.Hour)})
	check("someone@partner.example.org", 100, store.SenderHistory{})
	// An account with no stored mail keeps no history.
	if h, err := st.SenderHistory(ctx, c.ID, "pat@partner.example.org", 100); err != nil || h.Kept || h.Messages != 0 {
		t.Errorf("account without mail: %+v, %v", h, err)
	}
	// A team reclassification of the SPAM one to NONE makes it clean.
	if _, err := st.SetDisposition(ctx, seqs[2], "NONE", []byte("[]")); err != nil {
		t.Fatal(err)
	}
	check("pat@partner.example.org", 100, store.SenderHistory{Messages: 5, Clean: 4, First: t0})
}
