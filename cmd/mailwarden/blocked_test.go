package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
)

// Issue 5's end-to-end path: a blocked sender's mail arrives over SMTP and is held
// as MALICIOUS with the trigger blocked_sender; a bulk RELEASE job releases it; it
// arrives once at a real SMTP sink; the action log and audit log say so.
func TestBlockedSenderHeldThenBulkReleased(t *testing.T) {
	sink := smtpsink.Start(t)
	s := startServer(t, t.TempDir(), "--relay", sink.Addr)
	code, body := s.api("POST", s.base()+"/settings/block_senders", s.token,
		strings.NewReader(`{"pattern":"evil.example","pattern_type":"DOMAIN","is_regex":false,"comments":"test"}`))
	if code != 200 {
		t.Fatalf("create block_senders: %d %v", code, body)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("From: Evil <boss@evil.example>\r\nTo: bob@corp.test\r\nSubject: blocked %d\r\nMessage-ID: <b%d@evil.example>\r\n\r\nhello\r\n", i, i)
		if err := sendMail(t, s.smtpAddr, "boss@evil.example", []string{"bob@corp.test"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	_, body = s.api("GET", s.base()+"/investigate?sender=evil.example", s.token, nil)
	items := results(t, body)
	if len(items) != 3 {
		t.Fatalf("want 3 messages, got %d", len(items))
	}
	for _, it := range items {
		if it["final_disposition"] != "MALICIOUS" || it["is_quarantined"] != true || !strings.Contains(fmt.Sprint(it["detection_reasons"]), "blocked_sender") {
			t.Errorf("blocked sender's mail: %v", it)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(sink.Mail()); n != 0 {
		t.Fatalf("held mail reached the relay: %d", n)
	}
	// Bad bulk input is refused naming the field.
	code, body = s.api("POST", s.base()+"/investigate/bulk", s.token, strings.NewReader(`{"action":"RELEASE","search_params":{"final_disposition":"EVIL"}}`))
	if code != 400 || !strings.Contains(fmt.Sprint(body["errors"]), "search_params.final_disposition") {
		t.Errorf("bad search_params: %d %v", code, body)
	}
	code, body = s.api("POST", s.base()+"/investigate/bulk", s.token, strings.NewReader(`{"action":"RELEASE","search_params":{"sender":"evil.example","final_disposition":"MALICIOUS"}}`))
	if code != 200 {
		t.Fatalf("bulk: %d %v", code, body)
	}
	jobID := body["result"].(map[string]any)["job_id"].(string)
	var job map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, body = s.api("GET", s.base()+"/investigate/bulk/"+jobID, s.token, nil)
		job = body["result"].(map[string]any)
		if job["status"] == "COMPLETED" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if job["status"] != "COMPLETED" || job["total_messages_discovered"] != 3.0 || job["messages_successful"] != 3.0 || job["messages_pending"] != 0.0 {
		t.Fatalf("job: %v", job)
	}
	if got := sink.Wait(3, 10*time.Second); len(got) != 3 {
		t.Fatalf("sink got %d, want 3", len(got))
	}
	// Releasing again delivers nothing more.
	_, body = s.api("POST", s.base()+"/investigate/release", s.token, strings.NewReader(`["`+items[0]["id"].(string)+`"]`))
	if d := results(t, body)[0]["delivered"].([]any); len(d) != 0 {
		t.Errorf("second release delivered %v", d)
	}
	if n := len(sink.Wait(4, 500*time.Millisecond)); n != 3 {
		t.Errorf("sink has %d after a second release, want 3", n)
	}
	_, body = s.api("GET", s.base()+"/investigate/bulk/"+jobID+"/messages", s.token, nil)
	if ms := results(t, body); len(ms) != 3 || ms[0]["status"] != "success" {
		t.Errorf("job messages: %v", ms)
	}
	_, body = s.api("GET", s.base()+"/investigate/"+items[0]["id"].(string)+"/action_log", s.token, nil)
	if !strings.Contains(fmt.Sprint(body["result"]), "RELEASE") {
		t.Errorf("action log: %v", body["result"])
	}
	_, body = s.api("GET", s.base()+"/audit_log", s.token, nil)
	audit := fmt.Sprint(body["result"])
	for _, want := range []string{"settings.block_senders.create", "bulk.create", "message.release", "bulk.RELEASE.completed"} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if code, _ := s.api("DELETE", s.base()+"/investigate/bulk/"+jobID, s.token, nil); code != 200 {
		t.Errorf("delete finished job: %d", code)
	}
}
