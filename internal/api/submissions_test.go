package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/dnsx"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/store/sqlite"
	"github.com/mailwarden/mailwarden/internal/submission"
)

type subEnv struct {
	srv                              *httptest.Server
	st                               *sqlite.Store
	svc                              *submission.Service
	acct                             store.Account
	admin, analyst, viewer, reporter string
	other                            string // admin of another account
	msgID                            string
}

const subMsg = "From: Deals <deals@sender.test>\r\nTo: bob@corp.test\r\nSubject: big offer %s\r\nMessage-ID: <%s@sender.test>\r\n\r\nA big offer.\r\n"

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &subEnv{st: st}
	e.acct, _ = st.CreateAccount(ctx, "one")
	other, _ := st.CreateAccount(ctx, "two")
	tok := func(acct int64, role string) string {
		s, err := st.CreateToken(ctx, acct, role)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	e.admin, e.analyst, e.viewer, e.reporter = tok(e.acct.ID, store.RoleAdmin), tok(e.acct.ID, store.RoleAnalyst), tok(e.acct.ID, store.RoleViewer), tok(e.acct.ID, store.RoleReporter)
	e.other = tok(other.ID, store.RoleAdmin)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pipe := &pipeline.Pipeline{Auth: &auth.Checker{Resolver: dnsx.NewZone(), AuthServID: "mx.test"}, Detector: detect.New(detect.DefaultConfig(), nil), Store: st, Log: log}
	e.svc = &submission.Service{Store: st, Pipe: pipe, Hostname: "mx.test", Log: log, Limits: submission.Limits{Rate: 10, MaxUpload: 4096}}
	rec, _, err := pipe.Accept(ctx, e.acct, []byte(fmt.Sprintf(subMsg, "one", "one")), pipeline.Envelope{MailFrom: "deals@sender.test", Recipients: []string{"bob@corp.test"}, Mode: pipeline.ModeDirect})
	if err != nil {
		t.Fatal(err)
	}
	e.msgID = rec.ID
	mux := http.NewServeMux()
	(&api.Server{Store: st, Log: log, Submissions: e.svc}).SubmissionRoutes(mux)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

type subAnswer struct {
	status  int
	Success bool            `json:"success"`
	Errors  []api.Message   `json:"errors"`
	Result  json.RawMessage `json:"result"`
	Info    *api.ResultInfo `json:"result_info"`
}

func (e *subEnv) call(t *testing.T, tok, method, path, body string) subAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, fmt.Sprintf("%s/client/v4/accounts/%d/email-security/%s", e.srv.URL, e.acct.ID, path), rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a subAnswer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	a.status = resp.StatusCode
	return a
}

func (a subAnswer) item(t *testing.T) api.SubmissionAnswer {
	t.Helper()
	var it api.SubmissionAnswer
	if err := json.Unmarshal(a.Result, &it); err != nil {
		t.Fatalf("%s: %v", a.Result, err)
	}
	return it
}

func (a subAnswer) list(t *testing.T) []api.SubmissionItem {
	t.Helper()
	var l []api.SubmissionItem
	if err := json.Unmarshal(a.Result, &l); err != nil {
		t.Fatalf("%s: %v", a.Result, err)
	}
	return l
}

func TestReclassifyAPI(t *testing.T) {
	e := newSubEnv(t)
	path := "investigate/" + e.msgID + "/reclassify"
	// Roles: analysts and admins; not viewers, not reporters, not another account.
	for tok, want := range map[string]int{e.viewer: 403, e.reporter: 403, e.other: 403} {
		if a := e.call(t, tok, "POST", path, `{"expected_disposition":"SPAM"}`); a.status != want {
			t.Errorf("role: %d, want %d", a.status, want)
		}
	}
	for _, body := range []string{``, `{}`, `{"expected_disposition":"CLEAN"}`, `{"expected_disposition":"spam"}`, `{"expected_disposition":"SPAM","x":1}`,
		`{"expected_disposition":"SPAM","eml_content":"%%%"}`, `{"expected_disposition":"SPAM","policy":{"type":"block_sender","pattern_type":"IP"}}`,
		`{"expected_disposition":"SPAM","policy":{"type":"block_sender","pattern_type":"EMAIL","expires_at":"2001-01-01T00:00:00Z"}}`} {
		if a := e.call(t, e.analyst, "POST", path, body); a.status != 400 || a.Success {
			t.Errorf("%s: %d %v", body, a.status, a.Errors)
		}
	}
	if a := e.call(t, e.analyst, "POST", "investigate/nope/reclassify", `{"expected_disposition":"SPAM"}`); a.status != 404 {
		t.Errorf("unknown message: %d", a.status)
	}
	a := e.call(t, e.analyst, "POST", path, `{"expected_disposition":"SPAM","policy":{"type":"block_sender","pattern_type":"DOMAIN","expires_at":"`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}}`)
	if a.status != 200 {
		t.Fatalf("reclassify: %d %v", a.status, a.Errors)
	}
	it := a.item(t)
	if it.Duplicate || it.PostfixID != e.msgID || *it.Type != "Team" || *it.Status != "pending" || *it.OriginalDisposition != "NONE" || it.RequestedTs == "" {
		t.Errorf("answer: %+v", it)
	}
	if again := e.call(t, e.analyst, "POST", path, `{"expected_disposition":"SPAM"}`).item(t); !again.Duplicate || again.SubmissionID != it.SubmissionID {
		t.Errorf("duplicate: %+v", again)
	}
	// An upload of an original never seen.
	eml := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(subMsg, "two", "two")))
	up := e.call(t, e.analyst, "POST", "investigate/any/reclassify", `{"expected_disposition":"SPAM","eml_content":"`+eml+`"}`)
	if up.status != 200 || up.item(t).PostfixID == e.msgID || up.item(t).Channel != "upload" {
		t.Errorf("upload: %d %s", up.status, up.Result)
	}
	big := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(subMsg, "big", "big") + strings.Repeat("x", 5000)))
	if a := e.call(t, e.analyst, "POST", "investigate/any/reclassify", `{"expected_disposition":"SPAM","eml_content":"`+big+`"}`); a.status != 413 {
		t.Errorf("large upload: %d", a.status)
	}
	if a := e.call(t, e.analyst, "POST", "investigate/any/reclassify", `{"expected_disposition":"SPAM","eml_content":"`+base64.StdEncoding.EncodeToString([]byte("hello"))+`"}`); a.status != 400 {
		t.Errorf("not a message: %d", a.status)
	}

	// Bulk: every id is checked first.
	if a := e.call(t, e.analyst, "POST", "investigate/reclassify", `{"ids":["`+e.msgID+`","nope"],"expected_disposition":"BULK"}`); a.status != 400 {
		t.Errorf("bulk with an unknown id: %d", a.status)
	}
	if l, _, _ := e.st.ListSubmissions(context.Background(), e.acct.ID, store.SubmissionQuery{RequestedDisposition: "BULK"}); len(l) != 0 {
		t.Errorf("bulk with an unknown id submitted %d", len(l))
	}
	b := e.call(t, e.analyst, "POST", "investigate/reclassify", `{"ids":["`+e.msgID+`"],"expected_disposition":"BULK"}`)
	if b.status != 200 || len(b.list(t)) != 1 {
		t.Errorf("bulk: %d %s", b.status, b.Result)
	}

	// Listing and filters.
	if l := e.call(t, e.viewer, "GET", "submissions?type=TEAM&requested_disposition=SPAM", "").list(t); len(l) != 2 {
		t.Errorf("TEAM SPAM: %d", len(l))
	}
	if l := e.call(t, e.viewer, "GET", "submissions?original_disposition=NONE&per_page=1&page=3", "").list(t); len(l) != 1 {
		t.Errorf("page 3: %d", len(l))
	}
	if a := e.call(t, e.viewer, "GET", "submissions?page=9", ""); a.status != 200 || len(a.list(t)) != 0 || string(a.Result) != "[]" {
		t.Errorf("past the end: %d %s", a.status, a.Result)
	}
	for _, q := range []string{"type=ALL", "start=yesterday", "requested_disposition=CLEAN", "customer_status=new", "per_page=0", "bogus=1"} {
		if a := e.call(t, e.viewer, "GET", "submissions?"+q, ""); a.status != 400 {
			t.Errorf("%s: %d", q, a.status)
		}
	}
	if a := e.call(t, e.reporter, "GET", "submissions", ""); a.status != 403 {
		t.Errorf("reporter listed: %d", a.status)
	}
	if a := e.call(t, e.viewer, "GET", "submissions/"+it.SubmissionID, ""); a.status != 200 {
		t.Errorf("get: %d", a.status)
	}
	if a := e.call(t, e.viewer, "GET", "submissions/sub-nope", ""); a.status != 404 {
		t.Errorf("get unknown: %d", a.status)
	}
}

func TestUserSubmissionAPI(t *testing.T) {
	e := newSubEnv(t)
	a := e.call(t, e.reporter, "POST", "submissions", `{"postfix_id":"`+e.msgID+`","requested_disposition":"MALICIOUS"}`)
	if a.status != 200 {
		t.Fatalf("reporter submission: %d %v", a.status, a.Errors)
	}
	user := a.item(t)
	if *user.Type != "User" || *user.CustomerStatus != "unreviewed" {
		t.Errorf("user submission: %+v", user)
	}
	for _, body := range []string{`{"requested_disposition":"SPAM"}`, `{"postfix_id":"nope","requested_disposition":"SPAM"}`, `{"postfix_id":"x","eml_content":"eA==","requested_disposition":"SPAM"}`} {
		if a := e.call(t, e.reporter, "POST", "submissions", body); a.status != 400 {
			t.Errorf("%s: %d", body, a.status)
		}
	}
	if a := e.call(t, e.reporter, "POST", "submissions/"+user.SubmissionID+"/escalate", ""); a.status != 403 {
		t.Errorf("reporter escalated: %d", a.status)
	}
	esc := e.call(t, e.analyst, "POST", "submissions/"+user.SubmissionID+"/escalate", "")
	if esc.status != 200 {
		t.Fatalf("escalate: %d %v", esc.status, esc.Errors)
	}
	var out struct {
		User api.SubmissionItem   `json:"user_submission"`
		Team api.SubmissionAnswer `json:"team_submission"`
	}
	json.Unmarshal(esc.Result, &out)
	if *out.User.CustomerStatus != "escalated" || *out.User.EscalatedSubmissionID != out.Team.SubmissionID || *out.Team.RequestedDisposition != "MALICIOUS" ||
		*out.Team.EscalatedFrom != user.SubmissionID {
		t.Errorf("escalation: %s", esc.Result)
	}
	if a := e.call(t, e.analyst, "POST", "submissions/"+user.SubmissionID+"/review", ""); a.status != 400 {
		t.Errorf("review after escalation: %d", a.status)
	}
	if a := e.call(t, e.analyst, "POST", "submissions/"+out.Team.SubmissionID+"/review", ""); a.status != 400 {
		t.Errorf("review of a team submission: %d", a.status)
	}
	if l := e.call(t, e.viewer, "GET", "submissions?escalated_from_user=true", "").list(t); len(l) != 1 || l[0].SubmissionID != out.Team.SubmissionID {
		t.Errorf("escalated_from_user: %+v", l)
	}
	// Rate limit: 10 per window in this environment.
	var last int
	for i := 0; i < 12; i++ {
		last = e.call(t, e.reporter, "POST", "submissions", fmt.Sprintf(`{"eml_content":"%s","requested_disposition":"SPAM"}`,
			base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(subMsg, fmt.Sprint(i), fmt.Sprint("r", i)))))).status
	}
	if last != 429 {
		t.Errorf("rate limit: %d", last)
	}
}
