package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/email_security"
	"github.com/cloudflare/cloudflare-go/v6/option"

	"github.com/mailwarden/mailwarden/internal/bayes"
	"github.com/mailwarden/mailwarden/internal/smtpsink"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
)

var (
	spamWords = strings.Fields("casino jackpot winner lottery prize claim bonus cheap pills pharmacy discount replica watches " +
		"bitcoin crypto investment guaranteed income viagra weightloss miracle exclusive offer deal unbelievable cash reward credit")
	hamWords = strings.Fields("meeting agenda quarterly review project deadline budget lunch thursday team notes draft proposal " +
		"schedule minutes design deploy release customer roadmap planning sprint retrospective onboarding architecture")
	fillWords = strings.Fields("the and you for with this that our your will have from are please")
)

// writeCorpus writes n generated messages made of words to dir.
func writeCorpus(t *testing.T, dir, kind string, words []string, n int, rng *rand.Rand) {
	t.Helper()
	os.MkdirAll(dir, 0o755)
	pick := func(k int) string {
		var out []string
		for i := 0; i < k; i++ {
			if i%3 == 2 {
				out = append(out, fillWords[rng.IntN(len(fillWords))])
			} else {
				out = append(out, words[rng.IntN(len(words))])
			}
		}
		return strings.Join(out, " ")
	}
	for i := 0; i < n; i++ {
		msg := fmt.Sprintf("From: %s%d <%s%d@%s%d.example.net>\r\nTo: bob@corp.test\r\nSubject: %s\r\nMessage-ID: <%s%d@example.net>\r\n\r\n%s\r\n",
			kind, i, kind, i, kind, i%7, pick(4), kind, i, pick(60))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%03d.eml", kind, i)), []byte(msg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// cli runs the binary and returns its standard output.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary, args...).Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("mailwarden %v: %v\n%s%s", args, err, out, stderr)
	}
	return string(out)
}

func newToken(t *testing.T, dir, role, email string) (token, account string) {
	t.Helper()
	args := []string{"token", "create", "--data", dir, "--role", role}
	if email != "" {
		args = append(args, "--email", email)
	}
	var v struct {
		AccountID int64  `json:"account_id"`
		Token     string `json:"token"`
	}
	if err := json.Unmarshal([]byte(cli(t, args...)), &v); err != nil {
		t.Fatal(err)
	}
	return v.Token, strconv.FormatInt(v.AccountID, 10)
}

// modelCounts reads the content model's trained message counts from the database.
func modelCounts(t *testing.T, dir string, account string) bayes.Counts {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "mailwarden.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	id, _ := strconv.ParseInt(account, 10, 64)
	c, err := st.LoadBayes(context.Background(), id, func(string, bayes.Counts) {})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mailTo(mail []smtpsink.Mail, rcpt, contains string) *smtpsink.Mail {
	for i, m := range mail {
		if len(m.To) > 0 && m.To[0] == rcpt && strings.Contains(string(m.Data), contains) {
			return &mail[i]
		}
	}
	return nil
}

func (s *server) get(path, token string) map[string]any {
	s.t.Helper()
	code, body := s.api("GET", s.base()+path, token, nil)
	if code != 200 {
		s.t.Fatalf("GET %s: %d %v", path, code, body)
	}
	return body
}

func (s *server) post(path, token, body string) map[string]any {
	s.t.Helper()
	code, out := s.api("POST", s.base()+path, token, strings.NewReader(body))
	if code != 200 {
		s.t.Fatalf("POST %s: %d %v", path, code, out)
	}
	return out
}

func (s *server) submission(id, token string) map[string]any {
	s.t.Helper()
	items := results(s.t, s.get("/submissions?submission_id="+id, token))
	if len(items) != 1 {
		s.t.Fatalf("submission %s: %v", id, items)
	}
	return items[0]
}

const campaignMsg = "From: Mega Deals <deals@promo.example.net>\r\nTo: %s\r\nSubject: jackpot winner bonus claim\r\nMessage-ID: <%s@promo.example.net>\r\n\r\n" +
	"casino jackpot winner lottery prize claim bonus cheap pills pharmacy discount replica watches bitcoin crypto investment guaranteed income " +
	"exclusive offer deal unbelievable cash reward credit miracle weightloss the and you for your\r\n"

// The feedback loop through the real binary: held SPAM, reclassified NONE by an
// analyst, released with its campaign, the model retrained once, the analyst told.
// Then user reports by mail: one escalated, one invalid.
func TestSubmissionsEndToEnd(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	writeCorpus(t, filepath.Join(dir, "spam"), "spam", spamWords, 60, rng)
	writeCorpus(t, filepath.Join(dir, "ham"), "ham", hamWords, 60, rng)
	cli(t, "learn", "--data", dir, "--disposition", "SPAM", filepath.Join(dir, "spam"))
	cli(t, "learn", "--data", dir, "--disposition", "NONE", filepath.Join(dir, "ham"))
	admin, account := newToken(t, dir, "admin", "")
	analyst, _ := newToken(t, dir, "analyst", "analyst@corp.test")
	zone := filepath.Join(dir, "test.zone")
	os.WriteFile(zone, []byte("$ORIGIN example.net.\n$TTL 300\n@ IN TXT \"v=spf1 -all\"\n"), 0o644)
	s := startServer(t, dir, "--relay", sink.Addr, "--dns-zone", zone, "--autolearn=false") // model counts change only by submissions here
	s.accountID = account
	before := modelCounts(t, dir, account)
	if before.Ham != 60 || before.Spam != 60 {
		t.Fatalf("model before: %+v", before)
	}

	// Two messages of one campaign arrive and are held as SPAM.
	for i, to := range []string{"bob@corp.test", "dave@corp.test"} {
		if err := sendMail(t, s.smtpAddr, "deals@promo.example.net", []string{to}, fmt.Sprintf(campaignMsg, to, fmt.Sprint("c", i))); err != nil {
			t.Fatal(err)
		}
	}
	items := results(t, s.get("/investigate?query=jackpot", admin))
	if len(items) != 2 {
		t.Fatalf("campaign messages: %v", items)
	}
	second, first := items[0], items[1] // newest first
	for _, it := range items {
		if it["final_disposition"] != "SPAM" || it["is_quarantined"] != true {
			t.Fatalf("not held as SPAM: %v %v %v", it["final_disposition"], it["is_quarantined"], it["detection_reasons"])
		}
	}
	if first["edf_hash"] != second["edf_hash"] {
		t.Fatalf("not one campaign: %v %v", first["edf_hash"], second["edf_hash"])
	}
	id1, id2 := first["id"].(string), second["id"].(string)

	// A reporter may not reclassify nor read submissions.
	reporter, _ := newToken(t, dir, "reporter", "")
	if code, _ := s.api("POST", s.base()+"/investigate/"+id1+"/reclassify", reporter, strings.NewReader(`{"expected_disposition":"NONE"}`)); code != 403 {
		t.Errorf("reporter reclassified: %d", code)
	}
	if code, _ := s.api("GET", s.base()+"/submissions", reporter, nil); code != 403 {
		t.Errorf("reporter listed submissions: %d", code)
	}

	// The analyst says the first is clean; asking twice gives one submission.
	res := s.post("/investigate/"+id1+"/reclassify", analyst, `{"expected_disposition":"NONE"}`)["result"].(map[string]any)
	subID := res["submission_id"].(string)
	if res["duplicate"] != false || res["original_postfix_id"] != id1 || res["type"] != "Team" {
		t.Errorf("reclassify answer: %v", res)
	}
	again := s.post("/investigate/"+id1+"/reclassify", analyst, `{"expected_disposition":"NONE"}`)["result"].(map[string]any)
	if again["submission_id"] != subID || again["duplicate"] != true {
		t.Errorf("second request: %v", again)
	}

	// Both messages are released and arrive; the analyst gets the outcome.
	waitFor(t, "the release and the outcome mail", 20*time.Second, func() bool {
		m := sink.Mail()
		return mailTo(m, "bob@corp.test", "jackpot") != nil && mailTo(m, "dave@corp.test", "jackpot") != nil &&
			mailTo(m, "analyst@corp.test", "X-Mailwarden-Outcome: reclassified") != nil
	})
	notice := mailTo(sink.Mail(), "analyst@corp.test", subID)
	if notice == nil || notice.From != "" || !strings.Contains(string(notice.Data), "Auto-Submitted: auto-replied") {
		t.Errorf("outcome mail: %+v", notice)
	}
	if n := len(sink.Mail()); n != 3 {
		t.Errorf("sink got %d messages, want 3", n)
	}

	sub := s.submission(subID, admin)
	if sub["outcome_code"] != "reclassified" || sub["status"] != "completed" || sub["original_disposition"] != "SPAM" ||
		sub["requested_disposition"] != "NONE" || sub["outcome_disposition"] != "NONE" || sub["campaign_reclassified"] != 1.0 ||
		sub["requested_by"] == nil || sub["requested_ts"] == nil {
		t.Errorf("submission: %v", sub)
	}
	if l := results(t, s.get("/submissions?type=TEAM&requested_disposition=NONE", admin)); len(l) != 1 || l[0]["submission_id"] != subID {
		t.Errorf("TEAM list: %v", l)
	}
	if l := results(t, s.get("/submissions?type=USER", admin)); len(l) != 0 {
		t.Errorf("USER list: %v", l)
	}
	if l := results(t, s.get("/submissions?page=2&per_page=20", admin)); len(l) != 0 {
		t.Errorf("past the end: %v", l)
	}
	for _, id := range []string{id1, id2} {
		it := s.get("/investigate/"+id, admin)["result"].(map[string]any)
		if it["final_disposition"] != "NONE" || it["is_quarantined"] != false {
			t.Errorf("%s after reclassification: %v %v", id, it["final_disposition"], it["is_quarantined"])
		}
	}
	log1 := fmt.Sprint(s.get("/investigate/"+id1+"/action_log", admin)["result"])
	for _, w := range []string{"SUBMISSION", "RECLASSIFY", "outcome_code:reclassified", "RELEASE"} {
		if !strings.Contains(log1, w) {
			t.Errorf("action log of the message lacks %s: %s", w, log1)
		}
	}
	log2 := fmt.Sprint(s.get("/investigate/"+id2+"/action_log", admin)["result"])
	for _, w := range []string{"RECLASSIFY", "outcome_code:campaign_reclassified", "RELEASE"} {
		if !strings.Contains(log2, w) {
			t.Errorf("action log of the campaign message lacks %s: %s", w, log2)
		}
	}
	audit := fmt.Sprint(s.get("/audit_log", admin)["result"])
	for _, w := range []string{"submission.create", "submission.process", "message.release", subID} {
		if !strings.Contains(audit, w) {
			t.Errorf("audit log lacks %s: %s", w, audit)
		}
	}
	after := modelCounts(t, dir, account)
	if after.Ham != before.Ham+1 || after.Spam != before.Spam || after.Phish != before.Phish {
		t.Errorf("model counts %+v -> %+v, want exactly one more ham", before, after)
	}

	// A user reports a delivered message by mail, attached: a USER submission,
	// unreviewed, that changes nothing until the team escalates it.
	clean := "From: Eve <eve@partner.example.net>\r\nTo: carol@corp.test\r\nSubject: project roadmap draft\r\nMessage-ID: <rm1@partner.example.net>\r\n\r\n" +
		"meeting agenda quarterly review project deadline budget roadmap planning the and you\r\n"
	if err := sendMail(t, s.smtpAddr, "eve@partner.example.net", []string{"carol@corp.test"}, clean); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the clean message", 10*time.Second, func() bool { return mailTo(sink.Mail(), "carol@corp.test", "roadmap") != nil })
	delivered := mailTo(sink.Mail(), "carol@corp.test", "roadmap").Data
	report := "From: Carol <carol@corp.test>\r\nTo: report@mx.mailwarden.test\r\nSubject: Fwd: project roadmap draft\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThis looks odd.\r\n--b1\r\n" +
		"Content-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"original.eml\"\r\n\r\n" + string(delivered) + "\r\n--b1--\r\n"
	if err := sendMail(t, s.smtpAddr, "carol@corp.test", []string{"report@mx.mailwarden.test"}, report); err != nil {
		t.Fatal(err)
	}
	users := results(t, s.get("/submissions?type=USER", admin))
	if len(users) != 1 || users[0]["customer_status"] != "unreviewed" || users[0]["type"] != "User" || users[0]["requested_by"] != "carol@corp.test" {
		t.Fatalf("user submission: %v", users)
	}
	userSub := users[0]["submission_id"].(string)
	cleanID := users[0]["original_postfix_id"].(string)
	if it := s.get("/investigate/"+cleanID, admin)["result"].(map[string]any); it["subject"] != "project roadmap draft" || it["final_disposition"] != "NONE" {
		t.Errorf("the report names %v", it)
	}
	if c := modelCounts(t, dir, account); c != after {
		t.Errorf("a user report retrained the model: %+v", c)
	}
	esc := s.post("/submissions/"+userSub+"/escalate", analyst, `{"expected_disposition":"SPAM"}`)["result"].(map[string]any)
	teamSub := esc["team_submission"].(map[string]any)
	teamID := teamSub["submission_id"].(string)
	if teamSub["type"] != "Team" || teamSub["escalated_from_submission_id"] != userSub {
		t.Errorf("escalation: %v", teamSub)
	}
	u := s.submission(userSub, admin)
	if u["customer_status"] != "escalated" || u["escalated_submission_id"] != teamID || u["escalated_as"] != "SPAM" || u["escalated_by"] == nil || u["escalated_at"] == nil {
		t.Errorf("escalated user submission: %v", u)
	}
	if l := results(t, s.get("/submissions?escalated_from_user=true", admin)); len(l) != 1 || l[0]["submission_id"] != teamID {
		t.Errorf("escalated_from_user: %v", l)
	}
	waitFor(t, "the escalated submission", 10*time.Second, func() bool { return s.submission(teamID, admin)["status"] == "completed" })
	if tsub := s.submission(teamID, admin); tsub["outcome_code"] != "reclassified" {
		t.Errorf("escalated team submission: %v", tsub)
	}
	waitFor(t, "the reporter's outcome mail", 10*time.Second, func() bool {
		return mailTo(sink.Mail(), "carol@corp.test", userSub) != nil
	})

	// A report without the original is invalid, and the reporter is told why.
	if err := sendMail(t, s.smtpAddr, "frank@corp.test", []string{"report@mx.mailwarden.test"},
		"From: frank@corp.test\r\nTo: report@mx.mailwarden.test\r\nSubject: spam!!\r\n\r\nI got spam, see below.\r\n"); err != nil {
		t.Fatal(err)
	}
	inv := results(t, s.get("/submissions?type=INVALID", admin))
	if len(inv) != 1 || inv[0]["reason"] != "no_eml_attached" || inv[0]["outcome_code"] != "invalid_no_eml" || inv[0]["type"] != "Invalid" {
		t.Fatalf("invalid submission: %v", inv)
	}
	waitFor(t, "the invalid report notice", 10*time.Second, func() bool {
		return mailTo(sink.Mail(), "frank@corp.test", "no_eml_attached") != nil
	})
	// Alias mail never reaches the relay.
	for _, m := range sink.Mail() {
		if strings.HasSuffix(m.To[0], "@mx.mailwarden.test") {
			t.Errorf("alias mail relayed: %v", m.To)
		}
	}
}

// The official SDK creates a reclassification and lists submissions.
func TestCloudflareSDKSubmissions(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	s := startServer(t, dir, "--relay", sink.Addr)
	if err := sendMail(t, s.smtpAddr, "alice@example.org", []string{"bob@corp.test"}, fmt.Sprintf(cleanMsg, "sdk", "sdk1")); err != nil {
		t.Fatal(err)
	}
	id := results(t, s.get("/investigate", s.token))[0]["id"].(string)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := cloudflare.NewClient(option.WithBaseURL("http://"+s.httpAddr+"/client/v4"), option.WithAPIToken(s.token), option.WithMaxRetries(0))
	acct := cloudflare.F(s.accountID)
	if _, err := client.EmailSecurity.Investigate.Reclassify.New(ctx, id, email_security.InvestigateReclassifyNewParams{
		AccountID: acct, ExpectedDisposition: cloudflare.F(email_security.InvestigateReclassifyNewParamsExpectedDispositionSpam)}); err != nil {
		t.Fatalf("Reclassify.New: %v", err)
	}
	waitFor(t, "processing", 10*time.Second, func() bool {
		return len(results(t, s.get("/submissions?status=completed", s.token))) == 1
	})
	page, err := client.EmailSecurity.Submissions.List(ctx, email_security.SubmissionListParams{AccountID: acct,
		Type: cloudflare.F(email_security.SubmissionListParamsTypeTeam), RequestedDisposition: cloudflare.F(email_security.SubmissionListParamsRequestedDispositionSpam)})
	if err != nil {
		t.Fatalf("Submissions.List: %v", err)
	}
	if len(page.Result) != 1 {
		t.Fatalf("listed %d", len(page.Result))
	}
	r := page.Result[0]
	requireFields(t, "submission", map[string]fieldMeta{"submission_id": r.JSON.SubmissionID, "requested_ts": r.JSON.RequestedTs,
		"requested_at": r.JSON.RequestedAt, "original_postfix_id": r.JSON.OriginalPostfixID, "original_disposition": r.JSON.OriginalDisposition,
		"requested_disposition": r.JSON.RequestedDisposition, "outcome_disposition": r.JSON.OutcomeDisposition, "status": r.JSON.Status,
		"type": r.JSON.Type, "subject": r.JSON.Subject}, "")
	if r.OriginalPostfixID != id || r.Type != "Team" || r.OriginalDisposition != "NONE" || r.OutcomeDisposition != "SPAM" || r.RequestedTs.IsZero() {
		t.Errorf("listed: %+v", r)
	}
	if !r.OriginalDisposition.IsKnown() || !r.OutcomeDisposition.IsKnown() {
		t.Errorf("unknown enum values: %+v", r)
	}
	iter := client.EmailSecurity.Submissions.ListAutoPaging(ctx, email_security.SubmissionListParams{AccountID: acct, PerPage: cloudflare.F(int64(1))})
	n := 0
	for iter.Next() {
		n++
	}
	if err := iter.Err(); err != nil || n != 1 {
		t.Errorf("auto-paging: %d %v", n, err)
	}
}

// Submission addresses are per-account settings: an admin moves the team SPAM
// address through the API, a report to the new address becomes a TEAM
// submission, and the old default is just an unknown address at our host.
// Neither is ever relayed.
func TestReportAddressesEndToEnd(t *testing.T) {
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	zone := filepath.Join(dir, "test.zone")
	os.WriteFile(zone, []byte("$ORIGIN example.net.\n$TTL 300\n@ IN TXT \"v=spf1 -all\"\n"), 0o644)
	s := startServer(t, dir, "--relay", sink.Addr, "--dns-zone", zone)
	analyst, _ := newToken(t, dir, "analyst", "analyst@corp.test")
	viewer, _ := newToken(t, dir, "viewer", "")

	clean := "From: Eve <eve@partner.example.net>\r\nTo: carol@corp.test\r\nSubject: quarterly budget review\r\nMessage-ID: <ra1@partner.example.net>\r\n\r\n" +
		"meeting agenda quarterly review project deadline budget the and you\r\n"
	if err := sendMail(t, s.smtpAddr, "eve@partner.example.net", []string{"carol@corp.test"}, clean); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the clean message", 10*time.Second, func() bool { return mailTo(sink.Mail(), "carol@corp.test", "budget") != nil })
	delivered := string(mailTo(sink.Mail(), "carol@corp.test", "budget").Data)
	origID := results(t, s.get("/investigate?query=budget", s.token))[0]["id"].(string)

	before := s.get("/settings/report_addresses", viewer)["result"].(map[string]any)
	if before["team_spam"] != "team-spam@mx.mailwarden.test" || before["report"] != "report@mx.mailwarden.test" {
		t.Fatalf("default addresses: %v", before)
	}
	if code, body := s.api("PATCH", s.base()+"/settings/report_addresses", analyst, strings.NewReader(`{"team_spam":"spam-desk@corp.test"}`)); code != 403 {
		t.Errorf("an analyst changed the addresses: %d %v", code, body)
	}
	code, body := s.api("PATCH", s.base()+"/settings/report_addresses", s.token, strings.NewReader(`{"team_spam":"Spam-Desk@corp.test"}`))
	if code != 200 || body["result"].(map[string]any)["team_spam"] != "spam-desk@corp.test" {
		t.Fatalf("PATCH: %d %v", code, body)
	}

	report := func(to string) string {
		return "From: analyst@corp.test\r\nTo: " + to + "\r\nSubject: Fwd: quarterly budget review\r\nMIME-Version: 1.0\r\n" +
			"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSpam.\r\n--b1\r\n" +
			"Content-Type: message/rfc822\r\n\r\n" + delivered + "\r\n--b1--\r\n"
	}
	if err := sendMail(t, s.smtpAddr, "analyst@corp.test", []string{"spam-desk@corp.test"}, report("spam-desk@corp.test")); err != nil {
		t.Fatal(err)
	}
	team := results(t, s.get("/submissions?type=TEAM", s.token))
	if len(team) != 1 || team[0]["requested_disposition"] != "SPAM" || team[0]["original_postfix_id"] != origID || team[0]["requested_by"] == nil {
		t.Fatalf("team submission by the new address: %v", team)
	}
	// The old default address no longer routes: what any unknown address at our host becomes.
	if err := sendMail(t, s.smtpAddr, "analyst@corp.test", []string{"team-spam@mx.mailwarden.test"}, report("team-spam@mx.mailwarden.test")); err != nil {
		t.Fatal(err)
	}
	inv := results(t, s.get("/submissions?type=INVALID", s.token))
	if len(inv) != 1 || inv[0]["reason"] != "unknown_alias" {
		t.Fatalf("mail to the old default: %v", inv)
	}
	if team := results(t, s.get("/submissions?type=TEAM", s.token)); len(team) != 1 {
		t.Errorf("the old default made a team submission: %v", team)
	}
	waitFor(t, "the team submission", 10*time.Second, func() bool {
		return s.submission(team[0]["submission_id"].(string), s.token)["status"] == "completed"
	})
	if it := s.get("/investigate/"+origID, s.token)["result"].(map[string]any); it["final_disposition"] != "SPAM" {
		t.Errorf("reported message: %v", it["final_disposition"])
	}
	audit := fmt.Sprint(s.get("/audit_log", s.token)["result"])
	if !strings.Contains(audit, "settings.report_addresses.edit") || !strings.Contains(audit, "spam-desk@corp.test") {
		t.Errorf("audit log lacks the change: %s", audit)
	}
	time.Sleep(200 * time.Millisecond) // outcome mail goes to the analyst; nothing else may reach the relay
	for _, m := range sink.Mail() {
		if m.To[0] == "spam-desk@corp.test" || strings.HasSuffix(m.To[0], "@mx.mailwarden.test") {
			t.Errorf("submission mail relayed to %v", m.To)
		}
	}
}
