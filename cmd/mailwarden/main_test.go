package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mailwarden-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "mailwarden")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running mailwarden binary.
type server struct {
	t          *testing.T
	cmd        *exec.Cmd
	data       string
	smtpAddr   string
	httpAddr   string
	milterAddr string // when serve runs with --milter
	accountID  string
	token      string
	stderr     *bytes.Buffer
	exited     chan error
}

var (
	servingRe = regexp.MustCompile(`msg="mailwarden serving" smtp=(\S+) http=(\S+) milter=(\S+)`)
	accountRe = regexp.MustCompile(`account_id: (\d+)`)
	tokenRe   = regexp.MustCompile(`token:\s+(\S+)`)
)

// startServer runs `mailwarden serve` on ephemeral ports with data in dir.
func startServer(t *testing.T, dir string, extra ...string) *server {
	t.Helper()
	args := append([]string{"serve", "--data", dir, "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--hostname", "mx.mailwarden.test"}, extra...)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "MAILWARDEN_DNS_TIMEOUT=200ms")
	stdout, _ := cmd.StdoutPipe()
	stderrR, _ := cmd.StderrPipe()
	s := &server{t: t, cmd: cmd, data: dir, stderr: &bytes.Buffer{}, exited: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if m := accountRe.FindStringSubmatch(line); m != nil {
				s.accountID = m[1]
			}
			if m := tokenRe.FindStringSubmatch(line); m != nil {
				s.token = m[1]
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stderrR)
		once := false
		for sc.Scan() {
			line := sc.Text()
			s.stderr.WriteString(line + "\n")
			if m := servingRe.FindStringSubmatch(line); m != nil && !once {
				s.smtpAddr, s.httpAddr = m[1], m[2]
				if m[3] != `""` {
					s.milterAddr = m[3]
				}
				once = true
				close(ready)
			}
		}
	}()
	go func() { s.exited <- cmd.Wait() }()
	select {
	case <-ready:
	case err := <-s.exited:
		t.Fatalf("server exited: %v\n%s", err, s.stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server did not start:\n%s", s.stderr)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

func (s *server) stop(sig os.Signal) error {
	s.cmd.Process.Signal(sig)
	select {
	case err := <-s.exited:
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		return fmt.Errorf("did not stop after %v", sig)
	}
}

func (s *server) api(method, path, token string, body io.Reader) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.httpAddr+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.t.Errorf("%s %s: content type %q", method, path, ct)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func (s *server) base() string { return "/client/v4/accounts/" + s.accountID + "/email-security" }

func sendMail(t *testing.T, addr, from string, to []string, msg string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example.org"); err != nil {
		return err
	}
	return c.SendMail(from, to, strings.NewReader(msg))
}

const cleanMsg = "From: Alice <alice@example.org>\r\nTo: bob@corp.test\r\nSubject: lunch on thursday %s\r\nMessage-ID: <%s@example.org>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nShall we meet at noon?\r\n"

func results(t *testing.T, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["result"].([]any)
	if !ok {
		t.Fatalf("result is not a list: %v", body)
	}
	var out []map[string]any
	for _, r := range raw {
		out = append(out, r.(map[string]any))
	}
	return out
}

func TestServeEndToEnd(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	s := startServer(t, dir, "--relay", sink.Addr, "--max-size", "20000")
	if s.token == "" || s.accountID == "" {
		t.Fatalf("first start printed no account/token")
	}
	if _, err := os.Stat(filepath.Join(dir, "mailwarden.db")); err != nil {
		t.Fatalf("database not created: %v", err)
	}

	// A clean message is accepted, stored, searchable within a second, and delivered
	// to the relay with our headers.
	sent := time.Now()
	if err := sendMail(t, s.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, fmt.Sprintf(cleanMsg, "one", "m1")); err != nil {
		t.Fatalf("send: %v", err)
	}
	var items []map[string]any
	for time.Since(sent) < time.Second {
		_, body := s.api("GET", s.base()+"/investigate?query=lunch", s.token, nil)
		if items = results(t, body); len(items) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(items) != 1 {
		t.Fatalf("message not searchable within a second: %v", items)
	}
	id := items[0]["id"].(string)
	if items[0]["subject"] != "lunch on thursday one" || items[0]["from"] != "alice@example.org" || items[0]["message_id"] != "m1@example.org" {
		t.Errorf("item fields: %v", items[0])
	}
	got := sink.Wait(1, 10*time.Second)
	if len(got) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(got))
	}
	data := string(got[0].Data)
	for _, h := range []string{"Authentication-Results: mx.mailwarden.test", "X-Mailwarden-Disposition: NONE"} {
		if !strings.Contains(data, h) {
			t.Errorf("delivered message lacks %q:\n%s", h, data)
		}
	}
	if got[0].To[0] != "bob@corp.test" {
		t.Errorf("delivered to %v", got[0].To)
	}

	// Metrics count what happened (the relay records its attempt just after the sink has the mail).
	var metricsText []byte
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + s.httpAddr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		metricsText, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(metricsText), "mailwarden_deliveries_total") {
			break
		}
	}
	for _, want := range []string{`mailwarden_messages_total{disposition="NONE",mode="DIRECT"} 1`, `mailwarden_deliveries_total{result="delivered"} 1`} {
		if !strings.Contains(string(metricsText), want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// Detail by id.
	code, body := s.api("GET", s.base()+"/investigate/"+id, s.token, nil)
	if code != 200 {
		t.Fatalf("get: %d %v", code, body)
	}
	item := body["result"].(map[string]any)
	for _, f := range []string{"id", "postfix_id", "message_id", "from", "to", "subject", "envelope_from", "envelope_to", "final_disposition", "detection_reasons", "validation", "is_quarantined", "scanned_at", "ts", "action_log"} {
		if _, ok := item[f]; !ok {
			t.Errorf("item lacks %q", f)
		}
	}
	if item["final_disposition"] != "NONE" || item["envelope_from"] != "alice@example.org" {
		t.Errorf("item: %v", item)
	}

	// Auth: no token 401, a wrong token 401, another account 403.
	if code, _ := s.api("GET", s.base()+"/investigate", "", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code, _ := s.api("GET", s.base()+"/investigate", "mw_wrong", nil); code != 401 {
		t.Errorf("bad token: %d", code)
	}
	if code, _ := s.api("GET", "/client/v4/accounts/999/email-security/investigate", s.token, nil); code != 403 {
		t.Errorf("other account: %d", code)
	}
	if code, body := s.api("GET", s.base()+"/investigate?final_disposition=EVIL", s.token, nil); code != 400 || !strings.Contains(fmt.Sprint(body["errors"]), "final_disposition") {
		t.Errorf("bad filter: %d %v", code, body)
	}

	// Over the size limit: 552 and nothing stored.
	big := fmt.Sprintf(cleanMsg, "big", "m2") + strings.Repeat(strings.Repeat("x", 70)+"\r\n", 400)
	err := sendMail(t, s.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, big)
	var se *smtp.SMTPError
	if err == nil || !asSMTP(err, &se) || se.Code != 552 {
		t.Errorf("oversize message: %v, want 552", err)
	}
	_, body = s.api("GET", s.base()+"/investigate?per_page=100", s.token, nil)
	if n := len(results(t, body)); n != 1 {
		t.Errorf("after oversize: %d messages stored, want 1", n)
	}

	// A message acknowledged with 250 survives a crash (SIGKILL right after).
	if err := sendMail(t, s.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, fmt.Sprintf(cleanMsg, "durable", "m3")); err != nil {
		t.Fatal(err)
	}
	s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s2 := startServer(t, dir, "--relay", sink.Addr)
	s2.accountID, s2.token = s.accountID, s.token
	_, body = s2.api("GET", s2.base()+"/investigate?subject=durable", s2.token, nil)
	if n := len(results(t, body)); n != 1 {
		t.Errorf("after crash: %d durable messages, want 1", n)
	}
	if err := s2.stop(syscall.SIGTERM); err != nil {
		t.Errorf("graceful shutdown: %v\n%s", err, s2.stderr)
	}
}

func asSMTP(err error, se **smtp.SMTPError) bool {
	e, ok := err.(*smtp.SMTPError)
	if ok {
		*se = e
	}
	return ok
}

// A message failing DMARC p=reject for a domain that is not ours is a SPOOF, held;
// releasing it delivers once, and releasing again does not deliver twice.
func TestQuarantineAndRelease(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	zone := filepath.Join(dir, "test.zone")
	os.WriteFile(zone, []byte(`$ORIGIN bank.test.
$TTL 300
@        IN TXT "v=spf1 ip4:192.0.2.10 -all"
_dmarc   IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
`), 0o644)
	s := startServer(t, dir, "--relay", sink.Addr, "--dns-zone", zone)
	msg := "From: Bank <security@bank.test>\r\nTo: bob@corp.test\r\nSubject: verify your account\r\nMessage-ID: <spoof1@bank.test>\r\n\r\nPlease verify.\r\n"
	if err := sendMail(t, s.smtpAddr, "security@bank.test", []string{"bob@corp.test"}, msg); err != nil {
		t.Fatal(err)
	}
	_, body := s.api("GET", s.base()+"/investigate?final_disposition=SPOOF", s.token, nil)
	items := results(t, body)
	if len(items) != 1 {
		t.Fatalf("want one SPOOF message, got %v", body)
	}
	if items[0]["is_quarantined"] != true {
		t.Errorf("SPOOF not held: %v", items[0])
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(sink.Mail()); n != 0 {
		t.Fatalf("held message reached the relay (%d)", n)
	}
	id := items[0]["id"].(string)
	for round := 0; round < 2; round++ {
		code, body := s.api("POST", s.base()+"/investigate/release", s.token, strings.NewReader(`["`+id+`"]`))
		if code != 200 {
			t.Fatalf("release: %d %v", code, body)
		}
		r := results(t, body)[0]
		want := 1
		if round == 1 {
			want = 0
		}
		if n := len(r["delivered"].([]any)); n != want {
			t.Errorf("release round %d delivered %v", round, r)
		}
	}
	if n := len(sink.Wait(2, time.Second)); n != 1 {
		t.Errorf("relay received %d copies, want 1", n)
	}
	_, body = s.api("GET", s.base()+"/investigate/"+id+"/action_log", s.token, nil)
	if log := fmt.Sprint(body["result"]); !strings.Contains(log, "RELEASE") {
		t.Errorf("action log: %s", log)
	}
	_, body = s.api("GET", s.base()+"/audit_log", s.token, nil)
	if log := fmt.Sprint(body["result"]); !strings.Contains(log, "message.release") {
		t.Errorf("audit log: %s", log)
	}
}

func TestScanCLI(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.eml"), []byte(fmt.Sprintf(cleanMsg, "a", "a")), 0o644)
	os.WriteFile(filepath.Join(dir, "b.mbox"), []byte("From someone@example.org Mon Nov  2 10:00:00 2026\n"+strings.ReplaceAll(fmt.Sprintf(cleanMsg, "b", "b"), "\r\n", "\n")), 0o644)
	os.WriteFile(filepath.Join(dir, "c.eml"), []byte("Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nunterminated"), 0o644)
	out, err := exec.Command(binary, "scan", "--data", filepath.Join(dir, "nodata"), dir, filepath.Join(dir, "missing.eml")).Output()
	if err == nil {
		t.Errorf("scan with a missing file should exit non-zero")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 {
		t.Fatalf("want 4 lines, got %d:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if i < 3 {
			if v["disposition"] == nil || v["validation"] == nil {
				t.Errorf("line %d lacks a verdict: %s", i, l)
			}
		} else if v["error"] == nil {
			t.Errorf("missing file has no error: %s", l)
		}
	}
	if !strings.Contains(lines[1], `"file":"`+filepath.Join(dir, "b.mbox")) || !strings.Contains(lines[1], `"disposition"`) {
		t.Errorf("mbox-style file not scanned: %s", lines[1])
	}
	if _, err := os.Stat(filepath.Join(dir, "nodata")); err == nil {
		t.Errorf("scan created a data directory")
	}
}

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "token", "create", "--data", dir, "--role", "viewer").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		AccountID int64  `json:"account_id"`
		Token     string `json:"token"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.AccountID == 0 || !strings.HasPrefix(v.Token, "mw_") {
		t.Fatalf("token create printed %q (%v)", out, err)
	}
	if err := exec.Command(binary, "token", "create", "--data", dir, "--role", "root").Run(); err == nil {
		t.Errorf("unknown role accepted")
	}
	// A viewer may read but not release.
	s := startServer(t, dir)
	s.accountID = fmt.Sprint(v.AccountID)
	if code, _ := s.api("GET", s.base()+"/investigate", v.Token, nil); code != 200 {
		t.Errorf("viewer read: %d", code)
	}
	if code, _ := s.api("POST", s.base()+"/investigate/release", v.Token, strings.NewReader(`["x"]`)); code != 403 {
		t.Errorf("viewer release: %d", code)
	}
}

// swaks, a client nobody here wrote, delivers to the running server.
func TestSwaks(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed (apt-get install swaks; .ci/run does)")
	}
	s := startServer(t, t.TempDir(), "--max-size", "100000")
	host, port, _ := strings.Cut(s.smtpAddr, ":")
	out, err := exec.Command(swaks, "--server", host, "--port", port, "--from", "carol@example.net", "--to", "dave@corp.test",
		"--header", "Subject: swaks check", "--body", "hello from swaks").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, body := s.api("GET", s.base()+"/investigate?subject=swaks", s.token, nil)
		if len(results(t, body)) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("swaks message not in investigate within a second")
		}
		time.Sleep(20 * time.Millisecond)
	}
	bigFile := filepath.Join(t.TempDir(), "big.txt")
	os.WriteFile(bigFile, []byte(strings.Repeat(strings.Repeat("y", 70)+"\n", 3000)), 0o644)
	out, err = exec.Command(swaks, "--server", host, "--port", port, "--from", "carol@example.net", "--to", "dave@corp.test",
		"--header", "Subject: swaks big", "--body", bigFile).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "552") {
		t.Errorf("swaks over the size limit: want a 552 refusal, got %v\n%s", err, lastLines(string(out), 5))
	}
	_, body := s.api("GET", s.base()+"/investigate?subject=swaks", s.token, nil)
	if n := len(results(t, body)); n != 1 {
		t.Errorf("after the refused message %d messages are stored, want 1", n)
	}
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// import stores an mbox's messages as journaled mail: scanned, searchable, never delivered.
func TestImportMbox(t *testing.T) {
	dir := t.TempDir()
	var mbox strings.Builder
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&mbox, "From sender@example.org Mon Nov  2 10:00:0%d 2026\n", i)
		mbox.WriteString(strings.ReplaceAll(fmt.Sprintf(cleanMsg, fmt.Sprint("imported ", i), fmt.Sprint("imp", i)), "\r\n", "\n"))
		mbox.WriteString(">From the body, quoted\n\n")
	}
	path := filepath.Join(dir, "archive.mbox")
	os.WriteFile(path, []byte(mbox.String()), 0o644)
	out, err := exec.Command(binary, "import", "--data", dir, "--dns-zone", "/dev/null", path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "imported 3 message(s)") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	tok, err := exec.Command(binary, "token", "create", "--data", dir, "--role", "viewer").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		AccountID int64  `json:"account_id"`
		Token     string `json:"token"`
	}
	json.Unmarshal(tok, &v)
	s := startServer(t, dir)
	s.accountID, s.token = fmt.Sprint(v.AccountID), v.Token
	_, body := s.api("GET", s.base()+"/investigate?query=imported", s.token, nil)
	items := results(t, body)
	if len(items) != 3 {
		t.Fatalf("imported messages found: %d", len(items))
	}
	for _, it := range items {
		if it["delivery_mode"] != "JOURNAL" || len(it["delivery_status"].([]any)) != 0 {
			t.Errorf("imported item: mode %v status %v", it["delivery_mode"], it["delivery_status"])
		}
	}
	_, body = s.api("GET", s.base()+"/investigate/"+items[0]["id"].(string)+"/raw", s.token, nil)
	raw := body["result"].(map[string]any)["raw"].(string)
	if !strings.Contains(raw, "\nFrom the body, quoted") || strings.HasPrefix(raw, "From ") {
		t.Errorf("mbox unquoting: %q", raw)
	}
}
