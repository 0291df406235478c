package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Detection thresholds are configuration: --thresholds (and MAILWARDEN_THRESHOLDS)
// change a verdict, and a wrong value is refused with the reason.
func TestThresholdsFlag(t *testing.T) {
	dir := t.TempDir()
	msg := "From: Deals <deals@offers.example.net>\r\nTo: bob@corp.test\r\nSubject: offer\r\nMessage-ID: <t1@offers.example.net>\r\n\r\n" +
		"Act now! This limited time offer is risk free with a money back guarantee.\r\n"
	path := filepath.Join(dir, "offer.eml")
	if err := os.WriteFile(path, []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	scan := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(binary, append([]string{"scan", "--data", filepath.Join(dir, "nodata"), "--dns-zone", os.DevNull}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	disposition := func(out string) string {
		var v struct{ Disposition string }
		if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &v); err != nil {
			t.Fatalf("scan output %q: %v", out, err)
		}
		return v.Disposition
	}
	out, err := scan(nil, path)
	if err != nil || disposition(out) != "SPAM" {
		t.Fatalf("default thresholds: %v %s", err, out)
	}
	out, err = scan(nil, "--thresholds", "spam=6", path)
	if err != nil || disposition(out) != "NONE" {
		t.Fatalf("--thresholds spam=6: %v %s", err, out)
	}
	out, err = scan([]string{"MAILWARDEN_THRESHOLDS=spam=6"}, path)
	if err != nil || disposition(out) != "NONE" {
		t.Fatalf("MAILWARDEN_THRESHOLDS=spam=6: %v %s", err, out)
	}
	out, err = scan(nil, "--thresholds", "spam=6,nonsense=2", path)
	if err == nil || !strings.Contains(out, `unknown threshold "nonsense"`) {
		t.Fatalf("unknown threshold accepted: %v %s", err, out)
	}
}
