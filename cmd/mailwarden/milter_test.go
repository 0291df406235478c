package main

import (
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
)

// postfix is a private Postfix instance: its own config, queue and data
// directories under one temporary directory, an smtpd on a loopback port, the
// milter and relayhost it is given. It runs as root (Postfix drops to its
// mail_owner); the test skips without the postfix package or without root.
type postfix struct {
	t    *testing.T
	dir  string // config_directory
	smtp string // its smtpd, 127.0.0.1:PORT
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startPostfix(t *testing.T, milterAddr, relay string) *postfix {
	t.Helper()
	bin, err := exec.LookPath("postfix")
	if err != nil {
		bin = "/usr/sbin/postfix"
		if _, err := os.Stat(bin); err != nil {
			t.Skip("postfix is not installed (apt-get install postfix; .ci/run installs it)")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("a private Postfix instance needs root")
	}
	// Not t.TempDir: Postfix's daemons run as its mail_owner and must reach the
	// queue, so every directory on the path must be searchable by them.
	root, err := os.MkdirTemp("", "mailwarden-postfix")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &postfix{t: t, dir: filepath.Join(root, "etc"), smtp: freePort(t)}
	for _, d := range []string{"etc", "queue", "data"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mainCF := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.mailwarden.test
mydomain = mailwarden.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [%[2]s]:%[3]s
smtp_dns_support_level = disabled
smtp_tls_security_level = none
biff = no
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
smtpd_milters = inet:%[4]s
milter_default_action = tempfail
`, root, hostOf(relay), portOf(relay), milterAddr)
	// Every service unchrooted: a chroot would need copies of /etc files.
	masterCF := strings.Join([]string{
		fmt.Sprintf("%s inet n - n - - smtpd", p.smtp),
		"pickup unix n - n 60 1 pickup",
		"cleanup unix n - n - 0 cleanup",
		"qmgr unix n - n 300 1 qmgr",
		"rewrite unix - - n - - trivial-rewrite",
		"bounce unix - - n - 0 bounce",
		"defer unix - - n - 0 bounce",
		"trace unix - - n - 0 bounce",
		"verify unix - - n - 1 verify",
		"flush unix n - n 1000? 0 flush",
		"proxymap unix - - n - - proxymap",
		"smtp unix - - n - - smtp",
		"relay unix - - n - - smtp",
		"showq unix n - n - - showq",
		"error unix - - n - - error",
		"retry unix - - n - - error",
		"discard unix - - n - - discard",
		"local unix - n n - - local",
		"anvil unix - - n - 1 anvil",
		"scache unix - - n - 1 scache",
		"postlog unix-dgram n - n - 1 postlogd",
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(p.dir, "main.cf"), []byte(mainCF), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.dir, "master.cf"), []byte(masterCF), 0o644); err != nil {
		t.Fatal(err)
	}
	// data_directory belongs to the mail_owner.
	pu, err := user.Lookup("postfix")
	if err != nil {
		t.Skipf("no postfix user: %v", err)
	}
	uid, _ := strconv.Atoi(pu.Uid)
	gid, _ := strconv.Atoi(pu.Gid)
	if err := os.Chown(filepath.Join(root, "data"), uid, gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		pidb, _ := os.ReadFile(filepath.Join(root, "queue", "pid", "master.pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(pidb)))
		if out, err := exec.Command(bin, "-c", p.dir, "stop").CombinedOutput(); err != nil {
			t.Errorf("postfix stop: %v\n%s", err, out)
		}
		// This instance's master exits after its children; wait for it before removing the queue.
		for i := 0; pid > 0 && i < 200 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		os.RemoveAll(root)
	})
	p.run(bin, "start") // checks the configuration and creates the queue's subdirectories
	// Ready when its smtpd answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.smtp, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix smtpd on %s did not come up: %v\n%s", p.smtp, err, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func hostOf(addr string) string { h, _, _ := net.SplitHostPort(addr); return h }
func portOf(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

func (p *postfix) run(bin string, args ...string) string {
	p.t.Helper()
	out, err := exec.Command(bin, append([]string{"-c", p.dir}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("postfix %v: %v\n%s\n%s", args, err, out, p.log())
	}
	return string(out)
}

// log is Postfix's own log (maillog_file), for failure messages.
func (p *postfix) log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(p.dir), "maillog"))
	return string(b)
}

// queueEmpty reports whether Postfix has nothing left to deliver.
func (p *postfix) queueEmpty() bool {
	out, _ := exec.Command("postqueue", "-c", p.dir, "-p").CombinedOutput()
	return strings.Contains(string(out), "Mail queue is empty")
}

// Mail through a real Postfix with mailwarden as its milter: the clean message
// reaches Postfix's relayhost with mailwarden's headers; the blocked sender's is
// held in mailwarden's quarantine and discarded by Postfix; both are stored.
func TestMilterPostfixEndToEnd(t *testing.T) {
	sink := smtpsink.Start(t)
	// mailwarden's own relay (for releases) is the same next hop Postfix uses.
	s := startServer(t, t.TempDir(), "--milter", "127.0.0.1:0", "--relay", sink.Addr)
	if s.milterAddr == "" {
		t.Fatalf("no milter address in the serving line:\n%s", s.stderr)
	}
	start := time.Now()
	pf := startPostfix(t, s.milterAddr, sink.Addr)
	t.Logf("postfix up in %v", time.Since(start).Round(time.Millisecond))
	if code, body := s.api("POST", s.base()+"/settings/block_senders", s.token,
		strings.NewReader(`{"pattern":"evil.example","pattern_type":"DOMAIN","is_regex":false,"comments":"test"}`)); code != 200 {
		t.Fatalf("create block_senders: %d %v", code, body)
	}
	held := "From: Boss <boss@evil.example>\r\nTo: bob@corp.test\r\nSubject: urgent wire transfer\r\nMessage-ID: <held1@evil.example>\r\n\r\nPay the invoice today.\r\n"
	clean := "From: Alice <alice@example.org>\r\nTo: bob@corp.test\r\nSubject: lunch on thursday milter\r\nMessage-ID: <milter1@example.org>\r\n" +
		"Authentication-Results: mx.mailwarden.test; spf=pass smtp.mailfrom=example.org; dmarc=pass header.from=example.org\r\n" + // forged with our authserv-id
		"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nShall we meet at noon?\r\n"
	// Postfix calls the milter before it answers DATA: once it says 250, mailwarden has stored the message.
	if err := sendMail(t, pf.smtp, "boss@evil.example", []string{"bob@corp.test"}, held); err != nil {
		t.Fatalf("held message through postfix: %v\n%s\n%s", err, pf.log(), s.stderr)
	}
	if err := sendMail(t, pf.smtp, "alice@example.org", []string{"bob@corp.test"}, clean); err != nil {
		t.Fatalf("clean message through postfix: %v\n%s\n%s", err, pf.log(), s.stderr)
	}

	t.Logf("both sent through postfix after %v", time.Since(start).Round(time.Millisecond))
	got := sink.Wait(1, 15*time.Second)
	t.Logf("clean one at the relayhost after %v", time.Since(start).Round(time.Millisecond))
	if len(got) != 1 {
		t.Fatalf("sink got %d messages, want the clean one\npostfix log:\n%s\nmailwarden:\n%s", len(got), pf.log(), s.stderr)
	}
	waitFor(t, "postfix queue to empty", 10*time.Second, pf.queueEmpty)
	t.Logf("postfix queue empty after %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond) // room for a wrong second copy from mailwarden's relay
	if got = sink.Mail(); len(got) != 1 {
		t.Fatalf("sink has %d messages after postfix finished, want 1 (the held one must not arrive, the clean one once)", len(got))
	}
	m, err := mail.ReadMessage(strings.NewReader(string(got[0].Data)))
	if err != nil {
		t.Fatalf("delivered message: %v\n%s", err, got[0].Data)
	}
	if m.Header.Get("Subject") != "lunch on thursday milter" || got[0].From != "alice@example.org" || strings.Join(got[0].To, ",") != "bob@corp.test" {
		t.Errorf("delivered: subject %q from %q to %v", m.Header.Get("Subject"), got[0].From, got[0].To)
	}
	if d := m.Header.Get("X-Mailwarden-Disposition"); d != "NONE" {
		t.Errorf("X-Mailwarden-Disposition %q, want NONE\n%s", d, got[0].Data)
	}
	ars := m.Header["Authentication-Results"]
	if len(ars) != 1 || !strings.HasPrefix(ars[0], "mx.mailwarden.test;") || strings.Contains(ars[0], "spf=pass") {
		t.Errorf("Authentication-Results: want only mailwarden's own (the forged one removed), got %q", ars)
	}
	// Ours come before the message's own header fields.
	head := string(got[0].Data)
	if i, j := strings.Index(head, "X-Mailwarden-Disposition:"), strings.Index(head, "From: Alice"); i < 0 || i > j {
		t.Errorf("X-Mailwarden-Disposition is not above the message's header:\n%s", head)
	}
	id := m.Header.Get("X-Mailwarden-Id")

	// Both are stored: the clean one as delivered (by Postfix), the held one quarantined.
	_, body := s.api("GET", s.base()+"/investigate?subject=lunch+on+thursday+milter", s.token, nil)
	items := results(t, body)
	if len(items) != 1 || items[0]["id"] != id || items[0]["final_disposition"] != "NONE" || items[0]["is_quarantined"] != false ||
		items[0]["delivery_mode"] != "DIRECT" || fmt.Sprint(items[0]["delivery_status"]) != "[delivered]" || items[0]["smtp_previous_hop_ip"] != "127.0.0.1" {
		t.Errorf("clean message in mailwarden (X-Mailwarden-Id %q): %v", id, items)
	}
	_, body = s.api("GET", s.base()+"/investigate?sender=evil.example", s.token, nil)
	items = results(t, body)
	if len(items) != 1 || items[0]["final_disposition"] != "MALICIOUS" || items[0]["is_quarantined"] != true ||
		!strings.Contains(fmt.Sprint(items[0]["detection_reasons"]), "blocked_sender") {
		t.Errorf("held message in mailwarden: %v", items)
	}
	if lg := pf.log(); !strings.Contains(lg, "milter-discard") {
		t.Errorf("postfix did not log the milter's discard:\n%s", lg)
	}

	// The held one is released from mailwarden's quarantine through its relay.
	heldID, _ := items[0]["id"].(string)
	code, body := s.api("POST", s.base()+"/investigate/release", s.token, strings.NewReader(`["`+heldID+`"]`))
	if code != 200 || len(results(t, body)) != 1 || fmt.Sprint(results(t, body)[0]["delivered"]) != "[bob@corp.test]" {
		t.Fatalf("release: %d %v", code, body)
	}
	if got = sink.Wait(2, 10*time.Second); len(got) != 2 || !strings.Contains(string(got[1].Data), "Subject: urgent wire transfer") ||
		!strings.Contains(string(got[1].Data), "X-Mailwarden-Disposition: MALICIOUS") {
		t.Errorf("released message at the next hop: %d messages; last:\n%s", len(got), got[len(got)-1].Data)
	}
}
