package sqlcommon

import (
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/store"
)

func TestToken(t *testing.T) {
	if got := HashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken = %s", got)
	}
	tok, prefix, err := NewToken()
	if err != nil || !strings.HasPrefix(tok, "mw_") || len(tok) != 35 || prefix != tok[:9] {
		t.Fatalf("NewToken = %q, %q, %v", tok, prefix, err)
	}
	if err := CheckRole("root"); err == nil || err.Error() != `unknown role "root"` {
		t.Fatalf("CheckRole = %v", err)
	}
}

func TestPrepareUser(t *testing.T) {
	u := store.User{Email: "  Bob@Corp.TEST ", Role: store.RoleAdmin}
	if err := PrepareUser(&u); err != nil || u.Email != "bob@corp.test" || u.CreatedAt.IsZero() {
		t.Fatalf("PrepareUser = %+v, %v", u, err)
	}
}

func TestCheckQuery(t *testing.T) {
	for _, c := range []struct {
		q    store.SettingsQuery
		want string
	}{
		{store.SettingsQuery{}, ""},
		{store.SettingsQuery{Order: "pattern", Flags: map[string]bool{"is_regex": true}}, ""},
		{store.SettingsQuery{Flags: map[string]bool{"is_trusted_sender": true}}, `block_senders has no boolean "is_trusted_sender"`},
		{store.SettingsQuery{Provenance: "x"}, "block_senders has no provenance"},
		{store.SettingsQuery{Domains: []string{"a.test"}}, "block_senders has no domain"},
		{store.SettingsQuery{Order: "name"}, `block_senders cannot be ordered by "name"`},
	} {
		got := ""
		if err := BlockSenders.CheckQuery(c.q); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v: %q, want %q", c.q, got, c.want)
		}
	}
}

func TestDeliveryStatus(t *testing.T) {
	for _, c := range []struct {
		p, d, f, r int
		want       string
	}{
		{0, 0, 0, 0, ""}, {1, 0, 0, 1, store.StatusDeferred}, {1, 1, 0, 0, store.StatusQueued},
		{0, 0, 1, 0, store.StatusBounced}, {0, 1, 1, 0, store.StatusDelivered},
	} {
		if got := DeliveryStatus(c.p, c.d, c.f, c.r); got != c.want {
			t.Errorf("%v: %q, want %q", c, got, c.want)
		}
	}
}

type fakeWriter struct{ calls []string }

func (w *fakeWriter) SetDisposition(int64, string, []byte) (bool, error) {
	w.calls = append(w.calls, "disposition")
	return false, nil
}
func (w *fakeWriter) QueueDeliveries(int64, []string) error {
	w.calls = append(w.calls, "queue")
	return nil
}
func (w *fakeWriter) Hold(int64) (bool, error) { w.calls = append(w.calls, "hold"); return false, nil }
func (w *fakeWriter) InsertSubmission(*store.Submission) error {
	w.calls = append(w.calls, "submission")
	return nil
}
func (w *fakeWriter) AddAction(_ int64, a store.Action) error {
	w.calls = append(w.calls, "action@"+a.CreatedAt.Format("15"))
	return nil
}
func (w *fakeWriter) AddTrace(_ int64, l store.TraceLine) error {
	w.calls = append(w.calls, "trace@"+l.LoggedAt.Format("15"))
	return nil
}
func (w *fakeWriter) Audit(store.AuditEntry) error { w.calls = append(w.calls, "audit"); return nil }

func TestApplyJobItem(t *testing.T) {
	now := time.Date(2026, 1, 2, 7, 0, 0, 0, time.UTC)
	it := store.JobItem{Disposition: "SPAM", Hold: true, IfChanged: true, Submission: &store.Submission{},
		Actions: []store.Action{{}}, Trace: []store.TraceLine{{}}, Audit: []store.AuditEntry{{}}}
	w := &fakeWriter{}
	if err := ApplyJobItem(w, &it, now); err != nil || strings.Join(w.calls, " ") != "disposition hold" {
		t.Fatalf("unchanged item: %v, %v", w.calls, err)
	}
	it.IfChanged = false
	w = &fakeWriter{}
	if err := ApplyJobItem(w, &it, now); err != nil || strings.Join(w.calls, " ") != "disposition hold submission action@07 trace@07 audit" {
		t.Fatalf("item: %v, %v", w.calls, err)
	}
}
