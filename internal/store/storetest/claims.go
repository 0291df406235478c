package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

// testDeliveryClaims: a claim takes a message's due deliveries away from every
// other claim and from DueDeliveries until its lease runs out or the attempt is
// recorded; finished deliveries are never claimed.
func testDeliveryClaims(t *testing.T, st store.Store) {
	ctx := context.Background()
	a, _ := st.CreateAccount(ctx, "claims")
	m := msg(a.ID, "c1", "s", "x@example.org", []string{"r1@corp.test", "r2@corp.test"}, "NONE", time.Now())
	if err := st.InsertMessage(ctx, m, []byte("x"), nil, m.EnvelopeTo); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	lease := time.Minute
	first, err := st.ClaimDueDeliveries(ctx, m.Seq, now, lease)
	if err != nil || len(first) != 2 || first[0].ID > first[1].ID || first[0].MessageSeq != m.Seq {
		t.Fatalf("first claim: %+v %v", first, err)
	}
	if again, err := st.ClaimDueDeliveries(ctx, m.Seq, now, lease); err != nil || len(again) != 0 {
		t.Errorf("claimed twice: %+v %v", again, err)
	}
	if due, _ := st.DueDeliveries(ctx, now, 10); len(due) != 0 {
		t.Errorf("claimed deliveries are due for the worker: %+v", due)
	}
	if err := st.FinishDelivery(ctx, first[0].ID, "delivered", "", time.Time{}); err != nil {
		t.Fatal(err)
	}
	later, err := st.ClaimDueDeliveries(ctx, m.Seq, now.Add(lease+time.Second), lease)
	if err != nil || len(later) != 1 || later[0].ID != first[1].ID {
		t.Errorf("after the lease: %+v %v (want only %d)", later, err, first[1].ID)
	}
}

// testFirstAccount: callers racing on an empty store create one account between them.
func testFirstAccount(t *testing.T, st store.Store) {
	ctx := context.Background()
	const n = 8
	type res struct {
		a       store.Account
		created bool
		err     error
	}
	out := make(chan res, n)
	for range n {
		go func() {
			a, created, err := st.FirstAccountOrCreate(ctx, "default")
			out <- res{a, created, err}
		}()
	}
	created := 0
	var id int64
	for range n {
		r := <-out
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.created {
			created++
		}
		if id != 0 && r.a.ID != id {
			t.Errorf("accounts %d and %d", id, r.a.ID)
		}
		id = r.a.ID
	}
	if created != 1 {
		t.Errorf("%d callers created the first account, want 1", created)
	}
	if a, created, err := st.FirstAccountOrCreate(ctx, "other"); err != nil || created || a.ID != id || a.Name != "default" {
		t.Errorf("again: %+v %v %v", a, created, err)
	}
}
