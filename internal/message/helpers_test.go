package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// checkInvariants asserts what must hold for any input.
func checkInvariants(t testing.TB, name string, raw []byte, m *Message) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: Parse returned nil", name)
	}
	if !bytes.Equal(m.Raw, raw) {
		t.Errorf("%s: Raw differs from the input", name)
	}
	for i, a := range m.Attachments {
		sum := sha256.Sum256(a.Data)
		if a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: attachment %d (%q) SHA256 does not match its Data", name, i, a.Name)
		}
		if a.Size != int64(len(a.Data)) {
			t.Errorf("%s: attachment %d size %d, data %d", name, i, a.Size, len(a.Data))
		}
	}
	if len(m.Links) > maxLinks {
		t.Errorf("%s: %d links", name, len(m.Links))
	}
}
