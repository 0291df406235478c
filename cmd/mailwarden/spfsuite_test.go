package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/mailwarden/mailwarden/internal/spf/spftest"
)

// The RFC 7208 suite through the command line: every case's zone as a master file,
// `mailwarden scan --dns-zone Z --client-ip IP --helo H --mail-from A` on a message,
// and the suite's expected result in validation.spf.
func TestScanRFC7208Suite(t *testing.T) {
	path := filepath.Join("..", "..", "..", "shared", "suites", "spf-rfc7208", "rfc7208-tests.yml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("RFC 7208 suite not found at %s (it lives in ../shared): %v", path, err)
	}
	scenarios, err := spftest.SuiteScenarios(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msg := filepath.Join(dir, "msg.eml")
	os.WriteFile(msg, []byte("From: someone@example.net\r\nSubject: spf\r\n\r\nbody\r\n"), 0o644)
	passed, total := 0, 0
	for i, sc := range scenarios {
		zone := filepath.Join(dir, "zone"+strconv.Itoa(i))
		if err := os.WriteFile(zone, []byte(sc.ZoneFile()), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range sc.Cases {
			total++
			args := []string{"scan", "--data", filepath.Join(dir, "none"), "--dns-zone", zone, "--client-ip", c.Host, "--helo", c.Helo}
			if c.MailFrom != "" {
				args = append(args, "--mail-from", c.MailFrom)
			}
			out, err := exec.Command(binary, append(args, msg)...).Output()
			if err != nil {
				t.Errorf("%s: scan: %v", c.Name, err)
				continue
			}
			var line struct {
				Validation struct{ SPF string } `json:"validation"`
			}
			if err := json.Unmarshal(out, &line); err != nil {
				t.Errorf("%s: %v: %s", c.Name, err, out)
				continue
			}
			if !slices.Contains(c.Results, line.Validation.SPF) {
				t.Errorf("%s (%s): validation.spf = %q, want one of %v", c.Name, c.Spec, line.Validation.SPF, c.Results)
				continue
			}
			passed++
		}
	}
	t.Logf("RFC 7208 suite through `mailwarden scan`: %d/%d passed", passed, total)
}
