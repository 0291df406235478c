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
