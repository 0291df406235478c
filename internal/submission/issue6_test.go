package submission

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// auditCount counts the account's audit entries of an action for a target.
func auditCount(t *testing.T, st store.Store, acct int64, action, target string) int {
	t.Helper()
	entries, err := st.AuditLog(context.Background(), acct, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action && (target == "" || e.Target == target) {
			n++
		}
	}
	return n
}

// A campaign pass that outlives the lease keeps its submission: the worker
// renews the lease while it works, so a second worker polling all along never
// takes the submission over, and every message is released once.
func TestLeaseRenewedDuringLongPass(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const lease = 300 * time.Millisecond
	e.svc.Lease = lease
	var mu sync.Mutex
	released := map[string]int{}
	e.svc.Release = func(ctx context.Context, p store.Principal, m store.Message) error {
		time.Sleep(120 * time.Millisecond) // a slow relay: 8 messages take ~1 s, over three leases
		mu.Lock()
		released[m.ID]++
		mu.Unlock()
		_, err := e.st.QueueDeliveries(ctx, m.Seq, m.EnvelopeTo)
		return err
	}
	var msgs []*store.Message
	for i := range 8 {
		to := fmt.Sprintf("user%d@corp.test", i)
		m := e.accept(t, fmt.Sprintf(campaign, to, fmt.Sprint("lease", i)), to)
		// Held as SPAM (as if scored so before the model knew better).
		e.st.SetDisposition(ctx, m.Seq, "SPAM", nil)
		if held, err := e.st.HoldMessage(ctx, m.Seq); err != nil || !held {
			t.Fatalf("hold %s: %v %v", m.ID, held, err)
		}
		msgs = append(msgs, m)
	}
	res, err := e.svc.Submit(ctx, e.acct, Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: "token:mw_ana",
		MessageID: msgs[0].ID, Disposition: "NONE"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); e.svc.RunOnce(ctx, "w1") }()
	// A second worker (another node, or the process restarted) polls meanwhile.
	time.Sleep(20 * time.Millisecond)
	polls := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			e.svc.RunOnce(ctx, "w2")
			polls++
			time.Sleep(20 * time.Millisecond)
		}
	}
	if el := time.Since(start); el < 2*lease {
		t.Fatalf("the pass took %v, not over the lease (%v): the test shows nothing", el, lease)
	}
	sub, _ := e.st.GetSubmission(ctx, e.acct.ID, res.Submission.ID)
	if sub.Status != store.SubCompleted || sub.CampaignChanged != 7 {
		t.Errorf("submission: %+v", sub)
	}
	if n := auditCount(t, e.st, e.acct.ID, "submission.process", sub.ID); n != 1 {
		t.Errorf("processed %d times, want once (w2 polled %d times)", n, polls)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range msgs {
		if released[m.ID] != 1 {
			t.Errorf("%s released %d times, want 1", m.ID, released[m.ID])
		}
	}
}

// Submission addresses are per account: routed by what each account set,
// defaults for the default account's roles it has not set, one account per
// address, and a change seen by another node (another Service on the store).
func TestAddressRouting(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b, _ := e.st.CreateAccount(ctx, "b")
	e.svc.DefaultAccount = e.acct.ID
	other := &Service{Store: e.st, Pipe: e.svc.Pipe, Hostname: "mx.test", DefaultAccount: e.acct.ID, Log: e.svc.Log}
	split := func(s *Service, rcpts ...string) []string {
		t.Helper()
		ours, _, err := s.Split(ctx, rcpts)
		if err != nil {
			t.Fatal(err)
		}
		return ours
	}
	if got := split(other, "team-spam@mx.test", "spam@b.test", "bob@corp.test"); len(got) != 1 || got[0] != "team-spam@mx.test" {
		t.Errorf("before: %v", got)
	}
	if err := e.svc.SetAddresses(ctx, b.ID, map[string]string{store.AddrTeamSpam: "spam@b.test"}); err != nil {
		t.Fatal(err)
	}
	if got := split(other, "SPAM@b.test", "bob@corp.test"); len(got) != 1 {
		t.Errorf("the other node does not route b's new address: %v", got)
	}
	addrs, defaults, _ := e.svc.Addresses(ctx, b.ID)
	if len(addrs) != 1 || addrs[store.AddrTeamSpam] != "spam@b.test" || len(defaults) != 0 {
		t.Errorf("b's addresses: %v %v (the defaults are the default account's)", addrs, defaults)
	}
	addrs, defaults, _ = e.svc.Addresses(ctx, e.acct.ID)
	if len(addrs) != 7 || addrs[store.AddrTeamClean] != "team-clean@mx.test" || !defaults[store.AddrReport] {
		t.Errorf("a's addresses: %v %v", addrs, defaults)
	}
	for _, c := range []struct {
		acct int64
		set  map[string]string
		want error
	}{
		{e.acct.ID, map[string]string{store.AddrReport: "spam@b.test"}, ErrAddressTaken},       // b's
		{b.ID, map[string]string{store.AddrReport: "report@mx.test"}, ErrAddressTaken},         // a's default
		{e.acct.ID, map[string]string{store.AddrTeamSpam: "team-bulk@mx.test"}, ErrAddressDup}, // a's own default for BULK
		{e.acct.ID, map[string]string{"team_none": "x@corp.test"}, ErrAddressRole},
	} {
		err := e.svc.SetAddresses(ctx, c.acct, c.set)
		var ae *AddressError
		if !errors.Is(err, c.want) || !errors.As(err, &ae) || ae.Role == "" {
			t.Errorf("%d %v: %v, want %v", c.acct, c.set, err, c.want)
		}
	}

	// Mail to b's address is b's submission; b's analyst is on b's team.
	e.st.SetSubmissionContact(ctx, b.ID, "token:mw_bob", store.RoleAnalyst, "ana@b.test")
	orig := fmt.Sprintf(campaign, "carol@b.test", "route1")
	mb := e.accept(t, orig, "carol@b.test") // stored under a: b knows nothing of it, so it is uploaded to b
	withOrig := "From: ana@b.test\r\nTo: x\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee\r\n" +
		"--b\r\nContent-Type: message/rfc822\r\n\r\n" + orig + "\r\n--b--\r\n"
	if err := e.svc.Take(ctx, e.acct, pipeline.Envelope{MailFrom: "ana@b.test", Recipients: []string{"Spam@B.test"}}, []byte(withOrig)); err != nil {
		t.Fatal(err)
	}
	subsB, _, _ := e.st.ListSubmissions(ctx, b.ID, store.SubmissionQuery{})
	if len(subsB) != 1 || subsB[0].Type != store.SubmissionTeam || subsB[0].RequestedDisposition != "SPAM" || subsB[0].MessageID == mb.ID {
		t.Errorf("b's submissions: %+v", subsB)
	}
	if subsA, _, _ := e.st.ListSubmissions(ctx, e.acct.ID, store.SubmissionQuery{}); len(subsA) != 0 {
		t.Errorf("a got b's report: %+v", subsA)
	}

	// a moves its team_spam address: the old default is an unknown address at our host.
	if err := e.svc.SetAddresses(ctx, e.acct.ID, map[string]string{store.AddrTeamSpam: "spam-desk@corp.test"}); err != nil {
		t.Fatal(err)
	}
	if got := split(other, "team-spam@mx.test", "spam-desk@corp.test"); len(got) != 2 {
		t.Errorf("both stay the listener's: %v", got)
	}
	if err := other.Take(ctx, e.acct, pipeline.Envelope{MailFrom: "ana@corp.test", Recipients: []string{"team-spam@mx.test"}}, []byte(withOrig)); err != nil {
		t.Fatal(err)
	}
	subsA, _, _ := e.st.ListSubmissions(ctx, e.acct.ID, store.SubmissionQuery{})
	if len(subsA) != 1 || subsA[0].Reason != ReasonUnknownAlias {
		t.Errorf("mail to the old default: %+v", subsA)
	}
	// "" restores the default.
	if err := e.svc.SetAddresses(ctx, e.acct.ID, map[string]string{store.AddrTeamSpam: ""}); err != nil {
		t.Fatal(err)
	}
	if got := split(other, "spam-desk@corp.test"); len(got) != 0 {
		t.Errorf("a removed address still routes: %v", got)
	}
	if addrs, defaults, _ := other.Addresses(ctx, e.acct.ID); addrs[store.AddrTeamSpam] != "team-spam@mx.test" || !defaults[store.AddrTeamSpam] {
		t.Errorf("default not restored: %v %v", addrs, defaults)
	}
}

// A bulk RECLASSIFY batch: messages reclassified, retrained once, the held
// ones released (queued), each with a completed bulk submission.
func TestBulkBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var msgs []store.Message
	for i := range 3 {
		to := fmt.Sprintf("u%d@corp.test", i)
		m := e.accept(t, fmt.Sprintf(campaign, to, fmt.Sprint("bb", i)), to)
		e.st.SetDisposition(ctx, m.Seq, "SPAM", nil)
		e.st.HoldMessage(ctx, m.Seq)
		got, _ := e.st.GetMessageBySeq(ctx, m.Seq)
		msgs = append(msgs, got)
	}
	j := store.Job{ID: "bjob", AccountID: e.acct.ID, Action: "RECLASSIFY", ExpectedDisposition: "NONE", RequestedBy: "token:mw_ana", SearchParams: []byte(`{}`)}
	e.st.CreateJob(ctx, &j)
	e.st.AddJobMessages(ctx, j.ID, []int64{msgs[0].Seq, msgs[1].Seq, msgs[2].Seq}, -1)
	items := e.svc.BulkBatch(ctx, j, msgs)
	if len(items) != 3 {
		t.Fatalf("%d items", len(items))
	}
	for _, it := range items {
		if it.Error != "" || it.Disposition != "NONE" || len(it.Release) != 1 || it.Submission == nil || it.Submission.OutcomeCode != OutcomeReclassified {
			t.Errorf("item: %+v", it)
		}
	}
	if err := e.st.FinishJobBatch(ctx, j.ID, items); err != nil {
		t.Fatal(err)
	}
	model, _ := e.svc.Models.Get(ctx, e.acct.ID)
	counts := model.Messages()
	if counts.Ham != 3 {
		t.Errorf("model: %+v", counts)
	}
	// Computed again (a restart before the commit was known): no second training, no second write.
	again := e.svc.BulkBatch(ctx, j, msgs)
	e.st.FinishJobBatch(ctx, j.ID, again)
	if model.Messages() != counts {
		t.Errorf("retrained: %+v -> %+v", counts, model.Messages())
	}
	for _, m := range msgs {
		got, _ := e.st.GetMessageBySeq(ctx, m.Seq)
		if got.Disposition != "NONE" || got.IsQuarantined {
			t.Errorf("%s: %s held %v", m.ID, got.Disposition, got.IsQuarantined)
		}
	}
	subs, _, _ := e.st.ListSubmissions(ctx, e.acct.ID, store.SubmissionQuery{})
	if len(subs) != 3 || subs[0].Channel != store.ChannelBulk || subs[0].Status != store.SubCompleted {
		t.Errorf("submissions: %d %+v", len(subs), subs)
	}
	if n := auditCount(t, e.st, e.acct.ID, "message.release", ""); n != 3 {
		t.Errorf("%d release audit entries, want 3", n)
	}
}
