package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
	"github.com/mailwarden/mailwarden/internal/store/postgres/pgtest"
)

// TestServePostgres runs two `mailwarden serve` nodes against one PostgreSQL
// database (a fresh schema): mail taken in by one is found by full-text search
// and released through the other, and the relay gets one copy. Skipped when
// MAILWARDEN_TEST_POSTGRES is unset.
func TestServePostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	sink := smtpsink.Start(t)
	dir1, dir2 := t.TempDir(), t.TempDir()
	zone := filepath.Join(dir1, "test.zone")
	os.WriteFile(zone, []byte(`$ORIGIN bank.test.
$TTL 300
@        IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc   IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
`), 0o644)
	s1 := startServer(t, dir1, "--db", dsn, "--relay", sink.Addr, "--dns-zone", zone)
	if s1.token == "" || s1.accountID == "" {
		t.Fatalf("first node printed no account or token:\n%s", s1.stderr)
	}
	// A second node on the same database shares the account, token and mail.
	s2 := startServer(t, dir2, "--db", dsn, "--relay", sink.Addr, "--dns-zone", zone)
	s2.accountID, s2.token = s1.accountID, s1.token

	spoof := "From: Bank <security@bank.test>\r\nTo: bob@corp.test\r\nSubject: verify your account\r\nMessage-ID: <pgspoof@bank.test>\r\n\r\nPlease verify.\r\n"
	if err := sendMail(t, s1.smtpAddr, "security@bank.test", []string{"bob@corp.test"}, spoof); err != nil {
		t.Fatal(err)
	}
	if err := sendMail(t, s2.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, fmt.Sprintf(cleanMsg, "pg", "pgclean")); err != nil {
		t.Fatal(err)
	}
	// Full text (the tsvector index) and a field filter, each through the other node.
	_, body := s2.api("GET", s2.base()+"/investigate?query=verify", s2.token, nil)
	items := results(t, body)
	if len(items) != 1 || items[0]["is_quarantined"] != true || items[0]["final_disposition"] != "SPOOF" {
		t.Fatalf("full-text search for the held message: %v", body)
	}
	id := items[0]["id"].(string)
	_, body = s1.api("GET", s1.base()+"/investigate?subject=lunch", s1.token, nil)
	if items := results(t, body); len(items) != 1 || items[0]["is_quarantined"] == true {
		t.Fatalf("subject search for the clean message: %v", body)
	}
	if n := len(sink.Wait(1, 10*time.Second)); n != 1 {
		t.Fatalf("relay received %d messages, want the clean one", n)
	}
	for round, want := range []int{1, 0} {
		s := []*server{s2, s1}[round]
		code, body := s.api("POST", s.base()+"/investigate/release", s.token, strings.NewReader(`["`+id+`"]`))
		if code != 200 {
			t.Fatalf("release through node %d: %d %v", 2-round, code, body)
		}
		if n := len(results(t, body)[0]["delivered"].([]any)); n != want {
			t.Errorf("release round %d delivered %v", round, body)
		}
	}
	if n := len(sink.Wait(2, 2*time.Second)); n != 2 {
		t.Errorf("relay received %d messages, want 2 (the clean one, the released one once)", n)
	}
	_, body = s1.api("GET", s1.base()+"/investigate/"+id+"/action_log", s1.token, nil)
	if log := fmt.Sprint(body["result"]); !strings.Contains(log, "RELEASE") {
		t.Errorf("action log: %s", log)
	}
	// The CLI works on the same database: a token it makes is good on a node.
	var v struct {
		AccountID int64  `json:"account_id"`
		Token     string `json:"token"`
	}
	if err := json.Unmarshal([]byte(cli(t, "token", "create", "--db", dsn, "--role", "viewer")), &v); err != nil {
		t.Fatal(err)
	}
	if code, body := s2.api("GET", s2.base()+"/investigate?query=lunch", v.Token, nil); code != 200 || len(results(t, body)) != 1 {
		t.Errorf("search with a CLI-made token: %d %v", code, body)
	}
	// No SQLite database was made in either data directory.
	for _, d := range []string{dir1, dir2} {
		if _, err := os.Stat(filepath.Join(d, "mailwarden.db")); err == nil {
			t.Errorf("%s holds a SQLite database", d)
		}
	}
}

func TestRedactDSN(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://mw:s3cret@db.example:5432/mailwarden", "postgres://mw:xxxxx@db.example:5432/mailwarden"},
		{"postgresql://db.example/mw?password=s3cret&sslmode=require", "postgresql://db.example/mw?password=xxxxx&sslmode=require"},
		{"postgres:///mw?host=/var/run/postgresql", "postgres:///mw?host=/var/run/postgresql"},
		{"/var/lib/mailwarden/mailwarden.db", "/var/lib/mailwarden/mailwarden.db"},
	} {
		if got := redact(c.in); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
