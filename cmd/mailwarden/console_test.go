package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mailwarden/mailwarden/internal/smtpsink"
)

// The console is tested in real Chromium (Debian's chromium, installed by .ci/run)
// against the real binary. Screenshots go to testout/screenshots/.

const chromiumPath = "/usr/bin/chromium"

var screenshotDir = filepath.Join("..", "..", "testout", "screenshots")

func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("console tests need Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.WindowSize(1440, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Skipf("Chromium does not start: %v", err)
	}
	return ctx
}

// run runs chromedp actions and fails the test with step on error.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	start := time.Now()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Logf("%s took %v", step, d)
	}
}

// eval evaluates a JavaScript expression and decodes its value.
func eval[T any](t *testing.T, ctx context.Context, expr string, opts ...chromedp.EvaluateOption) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 gives PNG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// createUser adds a console user with the CLI, password on stdin.
func createUser(t *testing.T, dir, email, role, password string) {
	t.Helper()
	cmd := exec.Command(binary, "user", "create", "--data", dir, "--email", email, "--role", role, "--password-stdin")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil || res["email"] != email || res["password"] != nil {
		t.Fatalf("user create printed %s", out)
	}
}

func cliToken(t *testing.T, dir string) (string, string) {
	t.Helper()
	out, err := exec.Command(binary, "token", "create", "--data", dir, "--role", "admin").Output()
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		AccountID int64  `json:"account_id"`
		Token     string `json:"token"`
	}
	json.Unmarshal(out, &res)
	return fmt.Sprint(res.AccountID), res.Token
}

func logIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	run(t, ctx, "open login", chromedp.Navigate(base+"/investigation"), chromedp.WaitVisible("#login-form"))
	run(t, ctx, "log in",
		chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", password),
		chromedp.Click("#login-button"), chromedp.WaitVisible("#results-title"))
}

// clickNav clicks what loads another page and waits for that page's load.
func clickNav(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// waitJS polls a JavaScript expression until it is true.
func waitJS(t *testing.T, ctx context.Context, step, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		t.Fatalf("%s: waiting for %s: %v", step, expr, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func TestConsole(t *testing.T) {
	ctx := browser(t)
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	const email, password = "analyst.lead@northwind.com", "correct horse battery staple"
	createUser(t, dir, email, "admin", password)
	acctID, token := cliToken(t, dir)
	s := startServer(t, dir, "--relay", sink.Addr, "--demo")
	s.accountID, s.token = acctID, token
	base := "http://" + s.httpAddr

	// Log in (the login page first, for its screenshot).
	run(t, ctx, "open login", chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#login-form"))
	screenshot(t, ctx, "login")
	run(t, ctx, "wrong password", chromedp.SendKeys("#email", email), chromedp.SendKeys("#password", "nope"),
		chromedp.Click("#login-button"), chromedp.WaitVisible(".login-card .error"))
	logIn(t, ctx, base, email, password)
	rows := eval[int](t, ctx, `document.querySelectorAll("#results tbody tr").length`)
	if rows != 50 {
		t.Fatalf("first page has %d rows, want 50", rows)
	}
	screenshot(t, ctx, "investigation")
	// The README shows the first screen of the page.
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(filepath.Join("..", "..", "docs", "investigation.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}

	// Search: free text, then a disposition filter.
	run(t, ctx, "search", chromedp.SetValue("#q", "invoice"))
	clickNav(t, ctx, "#search-button")
	subjects := eval[[]string](t, ctx, `[...document.querySelectorAll("#results td.subject a")].map(a => a.textContent)`)
	if len(subjects) == 0 {
		t.Fatal("searching for invoice found nothing")
	}
	for _, subj := range subjects {
		if !strings.Contains(strings.ToLower(subj), "invoice") {
			t.Errorf("search for invoice shows %q", subj)
		}
	}

	// Open a message.
	clickNav(t, ctx, "#results td.subject a")
	run(t, ctx, "open message", chromedp.WaitVisible("#triggers"))
	if h := text(t, ctx, "#triggers"); !strings.Contains(h, "Trigger") {
		t.Errorf("message page shows no triggers: %q", h)
	}
	for _, sec := range []string{"#authentication", "#envelope", "#links", "#attachments", "#headers", "#raw", "#trace", "#action-log", "#campaign", "iframe.preview"} {
		if n := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll(%q).length`, sec)); n != 1 {
			t.Errorf("message page lacks %s", sec)
		}
	}
	screenshot(t, ctx, "message")

	// Reclassify a Bulk message to Spam from its row's three-dots menu.
	run(t, ctx, "bulk messages", chromedp.Navigate(base+"/investigation?disposition=BULK"), chromedp.WaitVisible("#results"))
	id := eval[string](t, ctx, `document.querySelector("#results tbody tr").dataset.id`)
	row := fmt.Sprintf(`#results tr[data-id=%q]`, id)
	run(t, ctx, "three dots", chromedp.Click(row+" .dots"), chromedp.WaitVisible(row+` [data-action="reclassify"]`),
		chromedp.Click(row+` [data-action="reclassify"]`), chromedp.WaitVisible("#reclassify-dialog"),
		chromedp.Click(`#reclassify-dialog input[value="SPAM"]`), chromedp.Click("#reclassify-save"))
	waitJS(t, ctx, "confirmation", `!document.querySelector("#notice").hidden && document.querySelector("#notice").textContent.includes("reclassification request")`)
	// The new state arrives without a reload: the worker applies it and the row follows.
	waitJS(t, ctx, "row reclassified", fmt.Sprintf(`document.querySelector('%s [data-badge]').textContent === "Spam"`, row))
	if note := text(t, ctx, row+" [data-note]"); !strings.Contains(note, "Reclassified") && !strings.Contains(note, "requested") {
		t.Errorf("row note after reclassification: %q", note)
	}
	screenshot(t, ctx, "reclassify-done")

	// Select the quarantined messages of one page and release them (Select all
	// messages selects every match; the banner narrows it to the page).
	run(t, ctx, "quarantined", chromedp.Navigate(base+"/investigation?status=quarantined&per=10"), chromedp.WaitVisible("#results"))
	before := len(sink.Mail())
	run(t, ctx, "select all", chromedp.Click("#select-all"), chromedp.WaitVisible("#select-page-only"), chromedp.Click("#select-page-only"))
	if c := text(t, ctx, "#selected-count"); c != "10 selected" {
		t.Fatalf("after Select only the 10 on this page: %q", c)
	}
	run(t, ctx, "action release", chromedp.Click("#action-button"), chromedp.WaitVisible(`[data-bulk="release"]`),
		chromedp.Click(`[data-bulk="release"]`), chromedp.WaitVisible("#release-dialog"), chromedp.Click("#release-confirm"))
	waitJS(t, ctx, "released", `!document.querySelector("#notice").hidden && document.querySelector("#notice").textContent.includes("10 messages released")`)
	waitJS(t, ctx, "rows not held", `[...document.querySelectorAll("#results [data-state]")].every(td => td.textContent !== "Quarantined")`)
	if got := sink.Wait(before+10, 10*time.Second); len(got) < before+10 {
		t.Errorf("relay got %d messages after release, want at least %d", len(got), before+10)
	}

	// Upload an EML with a requested disposition, then a file that is no message.
	emlPath := filepath.Join(t.TempDir(), "missed-phish.eml")
	os.WriteFile(emlPath, []byte("From: IT Helpdesk <helpdesk@corp-it-support.example>\r\nTo: jane@northwind.com\r\nSubject: Console upload phish 4711\r\n"+
		"Message-ID: <upload-4711@corp-it-support.example>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nYour password expires today: https://corp-it-support.example/reset\r\n"), 0o644)
	pdfPath := filepath.Join(t.TempDir(), "invoice.pdf")
	os.WriteFile(pdfPath, []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"), 0o644)
	run(t, ctx, "investigation", chromedp.Navigate(base+"/investigation"), chromedp.WaitVisible("#results"))
	run(t, ctx, "upload eml", chromedp.Click("#upload-open"), chromedp.WaitVisible("#upload-dialog"),
		chromedp.SetUploadFiles("#upload-file", []string{emlPath}), chromedp.SetValue("#upload-disposition", "MALICIOUS"),
		chromedp.Click("#upload-submit"))
	waitJS(t, ctx, "upload confirmed", `!document.querySelector("#notice").hidden && document.querySelector("#notice").textContent.includes("Uploaded missed-phish.eml")`)
	run(t, ctx, "upload pdf", chromedp.Click("#upload-open"), chromedp.WaitVisible("#upload-dialog"),
		chromedp.SetUploadFiles("#upload-file", []string{pdfPath}), chromedp.SetValue("#upload-disposition", "MALICIOUS"),
		chromedp.Click("#upload-submit"), chromedp.WaitVisible("#upload-dialog .dialog-error"))
	if e := text(t, ctx, "#upload-dialog .dialog-error"); !strings.Contains(e, "not an email message") {
		t.Errorf("invalid upload error: %q", e)
	}
	screenshot(t, ctx, "upload-refused")
	run(t, ctx, "close", chromedp.Click(`#upload-dialog [data-close]`))

	// Team submissions show the upload with its outcome once the worker is done.
	deadline := time.Now().Add(20 * time.Second)
	for {
		run(t, ctx, "team submissions", chromedp.Navigate(base+"/reclassifications?tab=team&by=upload"), chromedp.WaitVisible("#tab-team"))
		out, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#submissions tbody tr")].filter(r => r.textContent.includes("Console upload phish 4711")).map(r => r.querySelector(".outcome").textContent + "|" + r.querySelector(".status").textContent).join()`))
		if strings.Contains(out, "completed") && strings.Contains(out, "reclassified") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("uploaded submission not completed with an outcome: %q", out)
		}
		time.Sleep(300 * time.Millisecond)
	}
	run(t, ctx, "all team", chromedp.Navigate(base+"/reclassifications?tab=team"), chromedp.WaitVisible("#submissions"))
	screenshot(t, ctx, "reclassifications")
	run(t, ctx, "invalid submissions", chromedp.Navigate(base+"/reclassifications?tab=invalid"), chromedp.WaitVisible("#submissions"))
	if inv := text(t, ctx, "#submissions"); !strings.Contains(inv, "invoice.pdf") || !strings.Contains(inv, "not an email message") {
		t.Errorf("invalid submissions do not list the pdf with its reason:\n%s", inv)
	}
	screenshot(t, ctx, "reclassifications-invalid")
	run(t, ctx, "user submissions", chromedp.Navigate(base+"/reclassifications?tab=user"), chromedp.WaitVisible("#submissions"),
		chromedp.Click(`[data-triage="reviewed"]`))
	waitJS(t, ctx, "reviewed", `document.querySelector("#notice").textContent.includes("reviewed")`)
	screenshot(t, ctx, "reclassifications-user")

	run(t, ctx, "overview", chromedp.Navigate(base+"/overview"), chromedp.WaitVisible("svg.chart"))
	if bars := eval[int](t, ctx, `document.querySelectorAll("svg.chart rect.bar").length`); bars == 0 {
		t.Error("overview chart has no bars")
	}
	screenshot(t, ctx, "overview")
	run(t, ctx, "settings", chromedp.Navigate(base+"/settings"), chromedp.WaitVisible("#block_senders"))
	if st := text(t, ctx, "#domains"); !strings.Contains(st, "northwind.com") {
		t.Errorf("settings lack the demo's protected domain: %q", st)
	}
	screenshot(t, ctx, "settings")

	// Every change made above is in the audit log, by this user.
	_, body := s.api("GET", s.base()+"/audit_log?per_page=1000", s.token, nil)
	seen := map[string]bool{}
	for _, e := range results(t, body) {
		if e["actor"] == "user:"+email {
			seen[e["action"].(string)] = true
		}
	}
	for _, a := range []string{"login", "message.release", "message.reclassify_request", "submission.upload", "submission.triage"} {
		if !seen[a] {
			t.Errorf("audit log lacks %s by %s (has %v)", a, email, seen)
		}
	}

	// A state change without the CSRF token is refused.
	resp, err := http.Post(base+"/console/release", "application/json", strings.NewReader(`{"ids":["x"]}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("release without a session: %d", resp.StatusCode)
		}
	}
	status := eval[int](t, ctx, `fetch("/console/release", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({ids: ["`+id+`"]})}).then(r => r.status)`, chromedp.EvalAwaitPromise)
	if status != http.StatusForbidden {
		t.Errorf("release without the CSRF token answered %d, want 403", status)
	}
}

// TestConsoleHostileMail shows a hostile message and checks, in the browser,
// that no script runs and no request leaves the page.
func TestConsoleHostileMail(t *testing.T) {
	ctx := browser(t)
	var mu sync.Mutex
	var evilHits []string
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		evilHits = append(evilHits, r.URL.String())
		mu.Unlock()
		w.Header().Set("Content-Type", "image/gif")
	}))
	defer evil.Close()
	e := evil.URL // http://127.0.0.1:PORT, a host the console never uses
	dir := t.TempDir()
	const email, password = "viewer@northwind.com", "correct horse battery staple"
	createUser(t, dir, email, "viewer", password)
	s := startServer(t, dir)
	base := "http://" + s.httpAddr
	html := `<html><head><base href="` + e + `/base/"><link rel="stylesheet" href="` + e + `/css"><meta http-equiv="refresh" content="0;url=` + e + `/refresh">
<style>@import url(` + e + `/import); body { background: url(` + e + `/bg) }</style>
<script>parent.postMessage("pwned-script", "*"); fetch("` + e + `/script"); document.title = "PWNED";</script></head>
<body onload="parent.postMessage('pwned-onload', '*')">
<h1>Hostile test mail</h1>
<p style="background:url(` + e + `/inline-css)">CSS exfiltration</p>
<img src="` + e + `/pixel.gif" onerror="parent.postMessage('pwned-onerror', '*')" alt="tracker">
<a href="javascript:parent.postMessage('pwned-link','*')">Click me</a>
<a href="` + e + `/login">https://bank.example/login</a>
<iframe src="` + e + `/frame"></iframe><object data="` + e + `/object"></object>
<form action="` + e + `/post"><input name="password"><button>Go</button></form>
<svg><image href="` + e + `/svg"/></svg><video poster="` + e + `/poster"></video>
<div style="background-image: u\72 l(` + e + `/escaped)">escaped</div>
</body></html>`
	msg := "From: Attacker <attacker@evil.example>\r\nTo: jane@corp.test\r\nSubject: Hostile test mail\r\nMessage-ID: <hostile@evil.example>\r\n" +
		"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n"
	if err := sendMail(t, s.smtpAddr, "attacker@evil.example", []string{"jane@corp.test"}, msg); err != nil {
		t.Fatal(err)
	}

	// Record every request the browser makes and every message a frame posts.
	var reqMu sync.Mutex
	var requests []string
	previewLoaded := make(chan struct{}, 1)
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *network.EventRequestWillBeSent:
			reqMu.Lock()
			requests = append(requests, ev.Request.URL)
			reqMu.Unlock()
		case *network.EventResponseReceived:
			if strings.HasSuffix(ev.Response.URL, "/preview") && ev.Response.Status == 200 {
				select {
				case previewLoaded <- struct{}{}:
				default:
				}
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	logIn(t, ctx, base, email, password)
	run(t, ctx, "find", chromedp.Navigate(base+"/investigation?subject=Hostile"), chromedp.WaitVisible("#results"))
	id := eval[string](t, ctx, `document.querySelector("#results tbody tr").dataset.id`)
	run(t, ctx, "open", chromedp.Navigate(base+"/messages/"+id), chromedp.WaitVisible("iframe.preview"),
		chromedp.Evaluate[chromedp.Void](`window.__pwned = []; window.addEventListener("message", e => window.__pwned.push(String(e.data))); true`))
	select {
	case <-previewLoaded:
	case <-time.After(15 * time.Second):
		t.Fatal("the preview frame never loaded")
	}
	time.Sleep(1500 * time.Millisecond) // room for anything the mail would try
	// The frame is sandboxed and its CSP forbids scripts: nothing could post.
	// Load the preview again now that the listener is in place, to be sure.
	run(t, ctx, "reload frame", chromedp.Evaluate[chromedp.Void](`document.querySelector("iframe.preview").src += "?again"; true`))
	time.Sleep(1500 * time.Millisecond)
	pwned := eval[[]string](t, ctx, `window.__pwned`)
	title := eval[string](t, ctx, `document.title`)
	if len(pwned) > 0 || strings.Contains(title, "PWNED") {
		t.Errorf("hostile script ran: messages %v, title %q", pwned, title)
	}
	mu.Lock()
	hits := append([]string{}, evilHits...)
	mu.Unlock()
	if len(hits) > 0 {
		t.Errorf("the hostile server was reached: %v", hits)
	}
	reqMu.Lock()
	defer reqMu.Unlock()
	sawPreview := false
	for _, u := range requests {
		if strings.HasPrefix(u, e) || !(strings.HasPrefix(u, base) || strings.HasPrefix(u, "data:")) {
			t.Errorf("a request left the page: %s", u)
		}
		if strings.Contains(u, "/preview") {
			sawPreview = true
		}
	}
	if !sawPreview {
		t.Error("the preview was never requested")
	}
	// What the analyst sees: the text, a placeholder for the image, the link defanged.
	resp := previewText(t, base, ctx, id)
	for _, want := range []string{"Hostile test mail", "CSS exfiltration", "image “tracker”, blocked: hxxp://127[.]0[.]0[.]1", "script or data link removed"} {
		if !strings.Contains(resp, want) {
			t.Errorf("preview lacks %q:\n%s", want, resp)
		}
	}
	screenshot(t, ctx, "message-hostile")
}

// previewText fetches the preview with the browser's session cookie.
func previewText(t *testing.T, base string, ctx context.Context, id string) string {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", base+"/messages/"+id+"/preview", nil)
	for _, c := range res.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "sandbox") {
		t.Errorf("preview CSP: %q", csp)
	}
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// TestFirstConsoleUser: the first start prints a console admin and its password
// once; they log in; the pages carry the strict headers.
func TestFirstConsoleUser(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "serve", "--data", dir, "--smtp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--hostname", "mx.mailwarden.test")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	userRe, pwRe := regexp.MustCompile(`console_user: (\S+)`), regexp.MustCompile(`password:\s+(\S+)`)
	var user, pw, httpAddr string
	sc := bufio.NewScanner(stdout)
	for (user == "" || pw == "") && sc.Scan() {
		if m := userRe.FindStringSubmatch(sc.Text()); m != nil {
			user = m[1]
		}
		if m := pwRe.FindStringSubmatch(sc.Text()); m != nil {
			pw = m[1]
		}
	}
	es := bufio.NewScanner(stderr)
	for httpAddr == "" && es.Scan() {
		if m := servingRe.FindStringSubmatch(es.Text()); m != nil {
			httpAddr = m[2]
		}
	}
	go func() {
		for es.Scan() {
		}
	}()
	if user != "admin@mx.mailwarden.test" || len(pw) < 16 || httpAddr == "" {
		t.Fatalf("first start printed user %q password %q (http %q)", user, pw, httpAddr)
	}
	base := "http://" + httpAddr
	resp, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("login CSP: %q", csp)
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("login headers: %v", h)
	}
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "mw_login_csrf" {
			csrf = c
		}
	}
	if csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode {
		t.Fatalf("login CSRF cookie: %+v", csrf)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(csrfValue string) *http.Response {
		req, _ := http.NewRequest("POST", base+"/login", strings.NewReader("email="+user+"&password="+pw+"&csrf_token="+csrfValue))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(csrf)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("forged"); r.StatusCode != http.StatusForbidden {
		t.Errorf("login with a forged CSRF token: %d", r.StatusCode)
	}
	r := post(csrf.Value)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", r.StatusCode)
	}
	var session *http.Cookie
	for _, c := range r.Cookies() {
		if c.Name == "mw_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie: %+v", session)
	}
	for _, p := range []string{"/investigation", "/overview", "/reclassifications", "/settings"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.AddCookie(session)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: %d %v", p, resp.StatusCode, resp.Header)
		}
	}
}

// TestConsoleSelectAllAndSettings: Select all messages selects every match of
// the search, and Release then releases messages beyond the first page through
// a bulk job whose progress shows on the page; an admin revokes an API token
// (the API refuses it at once) and changes the quarantine policy.
func TestConsoleSelectAllAndSettings(t *testing.T) {
	ctx := browser(t)
	sink := smtpsink.Start(t)
	dir := t.TempDir()
	const email, password = "sec.admin@northwind.com", "correct horse battery staple"
	createUser(t, dir, email, "admin", password)
	acctID, token := cliToken(t, dir)
	s := startServer(t, dir, "--relay", sink.Addr, "--demo")
	s.accountID, s.token = acctID, token
	base := "http://" + s.httpAddr

	quarantined := func() map[string]bool {
		t.Helper()
		code, body := s.api("GET", s.base()+"/investigate?delivery_status=quarantined&per_page=1000", s.token, nil)
		if code != http.StatusOK {
			t.Fatalf("list quarantined: %d %v", code, body)
		}
		out := map[string]bool{}
		for _, m := range results(t, body) {
			out[m["id"].(string)] = true
		}
		return out
	}
	// The demo's submissions are processed and its mail delivered in the
	// background: wait until the held set stops changing.
	held := quarantined()
	for deadline := time.Now().Add(30 * time.Second); ; {
		time.Sleep(1500 * time.Millisecond)
		again := quarantined()
		if maps.Equal(held, again) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the set of quarantined messages keeps changing")
		}
		held = again
	}
	const per = 10
	if len(held) <= 2*per {
		t.Fatalf("the demo holds %d messages; the test needs more than two pages of %d", len(held), per)
	}
	logIn(t, ctx, base, email, password)
	run(t, ctx, "quarantined", chromedp.Navigate(fmt.Sprintf("%s/investigation?status=quarantined&per=%d", base, per)), chromedp.WaitVisible("#results"))
	firstPage := eval[[]string](t, ctx, `[...document.querySelectorAll("#results tbody tr")].map(r => r.dataset.id)`)
	var beyond []string
	for id := range held {
		if !slices.Contains(firstPage, id) {
			beyond = append(beyond, id)
		}
	}
	if len(firstPage) != per || len(beyond) != len(held)-per {
		t.Fatalf("first page %v; %d of %d held messages beyond it", firstPage, len(beyond), len(held))
	}
	before := len(sink.Mail())

	run(t, ctx, "select all", chromedp.Click("#select-all"))
	want := fmt.Sprintf("All %d messages that match this search are selected.", len(held))
	waitJS(t, ctx, "all matches selected", fmt.Sprintf(`document.querySelector("#select-banner-text").textContent === %q`, want))
	if c := text(t, ctx, "#selected-count"); !strings.HasPrefix(c, fmt.Sprint(len(held))+" selected") {
		t.Errorf("selected count with every match selected: %q", c)
	}
	screenshot(t, ctx, "select-all-matches")
	run(t, ctx, "action release", chromedp.Click("#action-button"), chromedp.WaitVisible(`[data-bulk="release"]`),
		chromedp.Click(`[data-bulk="release"]`), chromedp.WaitVisible("#release-dialog"))
	if what := text(t, ctx, "#release-what"); !strings.Contains(what, fmt.Sprintf("all %d messages that match this search", len(held))) {
		t.Errorf("release dialog: %q", what)
	}
	run(t, ctx, "confirm", chromedp.Click("#release-confirm"))
	// Progress and result arrive without a reload.
	waitJS(t, ctx, "job finished", `document.querySelector("#job-status").dataset.status === "COMPLETED"`)
	if got := text(t, ctx, "#job-text"); !strings.Contains(got, fmt.Sprintf("finished: %d messages done", len(held))) {
		t.Errorf("job status: %q", got)
	}
	waitJS(t, ctx, "page rows not held", `[...document.querySelectorAll("#results [data-state]")].every(td => td.textContent !== "Quarantined")`)
	screenshot(t, ctx, "select-all-released")
	still := quarantined()
	for _, id := range beyond {
		if still[id] {
			t.Errorf("message %s beyond the first page is still quarantined", id)
		}
	}
	for _, id := range firstPage {
		if still[id] {
			t.Errorf("message %s of the first page is still quarantined", id)
		}
	}
	if got := sink.Wait(before+len(held), 30*time.Second); len(got) < before+len(held) {
		t.Errorf("relay got %d messages after releasing %d, want at least %d", len(got)-before, len(held), len(held))
	}

	// Settings: create an API token, use it, revoke it.
	run(t, ctx, "settings", chromedp.Navigate(base+"/settings#tokens"), chromedp.WaitVisible("#token-list"),
		chromedp.SetValue(`#tokens select[name="role"]`, "analyst"))
	clickNav(t, ctx, "#token-create")
	newTok := strings.TrimSpace(text(t, ctx, "#new-token"))
	if !strings.HasPrefix(newTok, "mw_") {
		t.Fatalf("new token: %q", newTok)
	}
	if code, _ := s.api("GET", s.base()+"/investigate?per_page=1", newTok, nil); code != http.StatusOK {
		t.Fatalf("the new token is refused: %d", code)
	}
	run(t, ctx, "settings again", chromedp.Navigate(base+"/settings#tokens"), chromedp.WaitVisible("#token-list"))
	if html := eval[string](t, ctx, `document.documentElement.outerHTML`); strings.Contains(html, newTok) || strings.Contains(html, token) {
		t.Error("the settings page shows a token's secret")
	}
	row := eval[string](t, ctx, fmt.Sprintf(`[...document.querySelectorAll("#token-list tr[data-token]")].filter(r => r.querySelector("code").textContent.startsWith(%q)).map(r => r.dataset.token).join()`, newTok[:9]))
	if row == "" || strings.Contains(row, ",") {
		t.Fatalf("token list rows for prefix %s: %q\n%s", newTok[:9], row, text(t, ctx, "#token-list"))
	}
	if used := text(t, ctx, fmt.Sprintf(`#token-list tr[data-token="%s"]`, row)); strings.Contains(used, "never") || !strings.Contains(used, "analyst") {
		t.Errorf("token row after one use: %q", used)
	}
	clickNav(t, ctx, fmt.Sprintf(`button[data-revoke="%s"]`, row))
	if st := text(t, ctx, fmt.Sprintf(`#token-list tr[data-token="%s"] .token-status`, row)); !strings.Contains(st, "revoked") {
		t.Errorf("token status after revoking: %q", st)
	}
	screenshot(t, ctx, "settings-token-revoked")
	if code, _ := s.api("GET", s.base()+"/investigate?per_page=1", newTok, nil); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("a revoked token answered %d, want 401 or 403", code)
	}
	if code, _ := s.api("GET", s.base()+"/investigate?per_page=1", s.token, nil); code != http.StatusOK {
		t.Errorf("another token after the revocation: %d", code)
	}

	// Quarantine policy: hold Suspicious too, no longer Spam.
	run(t, ctx, "quarantine policy", chromedp.Navigate(base+"/settings#quarantine"), chromedp.WaitVisible("#hold-form"))
	if !eval[bool](t, ctx, `document.querySelector("#hold-SPAM").checked && !document.querySelector("#hold-SUSPICIOUS").checked`) {
		t.Fatalf("default policy not shown: %q", text(t, ctx, "#quarantine"))
	}
	run(t, ctx, "edit policy", chromedp.Click("#hold-SUSPICIOUS"), chromedp.Click("#hold-SPAM"))
	clickNav(t, ctx, "#hold-save")
	if cur := text(t, ctx, "#hold-current"); !strings.Contains(cur, "Suspicious") || strings.Contains(cur, "Spam") || !strings.Contains(cur, "Malicious") {
		t.Errorf("policy after saving: %q", cur)
	}
	if !eval[bool](t, ctx, `!document.querySelector("#hold-SPAM").checked && document.querySelector("#hold-SUSPICIOUS").checked`) {
		t.Error("the form does not show the saved policy")
	}
	screenshot(t, ctx, "settings-quarantine")
	// Without the CSRF token nothing changes.
	status := eval[int](t, ctx, `fetch("/settings/quarantine", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"}, body: "hold_NONE=on"}).then(r => r.status)`, chromedp.EvalAwaitPromise)
	if status != http.StatusForbidden {
		t.Errorf("policy change without the CSRF token answered %d", status)
	}
	run(t, ctx, "reload", chromedp.Navigate(base+"/settings#quarantine"), chromedp.WaitVisible("#hold-form"))
	if eval[bool](t, ctx, `document.querySelector("#hold-NONE").checked`) {
		t.Error("a forged request changed the policy")
	}

	// Each change is in the audit log, by this user.
	_, body := s.api("GET", s.base()+"/audit_log?per_page=1000", s.token, nil)
	seen := map[string]string{}
	for _, e := range results(t, body) {
		if e["actor"] == "user:"+email {
			d, _ := json.Marshal(e["detail"])
			seen[e["action"].(string)] = string(d)
		}
	}
	for _, a := range []string{"bulk.create", "token.create", "token.revoke", "settings.quarantine.update"} {
		if _, ok := seen[a]; !ok {
			t.Errorf("audit log lacks %s by %s (has %v)", a, email, seen)
		}
	}
	if d := seen["settings.quarantine.update"]; !strings.Contains(d, "SUSPICIOUS") {
		t.Errorf("quarantine audit detail: %s", d)
	}
}
