package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Reclassifications tabs, as the page names them.
var subTabs = []struct{ Key, Label, Type string }{
	{"team", "Team submissions", store.SubmissionTeam},
	{"user", "User submissions", store.SubmissionUser},
	{"invalid", "Invalid submissions", store.SubmissionInvalid},
}

type subFilters struct {
	Tab, Start, End, By, Original, Requested, Outcome, Status, Customer string
}

type subRow struct {
	store.Submission
	ReasonText string
}

type reclassData struct {
	F            subFilters
	Tabs         []struct{ Key, Label, Type string }
	Tab          string
	Rows         []subRow
	Total        int
	Page         int
	Prev, Next   string
	Dispositions []dispositionOption
	Statuses     []string
	Available    bool
	CanWrite     bool
}

func (s *Server) reclassifications(q *req) {
	v := q.r.URL.Query()
	f := subFilters{Tab: v.Get("tab"), Start: v.Get("start"), End: v.Get("end"), By: strings.TrimSpace(v.Get("by")),
		Status: v.Get("status"), Customer: v.Get("customer")}
	d := reclassData{Tabs: subTabs, Dispositions: dispositionOptions(), CanWrite: canWrite(q.user),
		Statuses: []string{store.SubPending, store.SubCompleted, store.SubFailed}}
	typ := subTabs[0].Type
	for _, t := range subTabs {
		if t.Key == f.Tab {
			typ = t.Type
		}
	}
	if typ == store.SubmissionTeam {
		f.Tab = "team"
	}
	sq := store.SubmissionQuery{Type: typ, Text: f.By, Status: f.Status, CustomerStatus: f.Customer}
	for _, p := range []struct {
		in  string
		out *string
		f   *string
	}{{v.Get("original"), &sq.OriginalDisposition, &f.Original}, {v.Get("requested"), &sq.RequestedDisposition, &f.Requested}, {v.Get("outcome"), &sq.OutcomeDisposition, &f.Outcome}} {
		if disp, ok := detect.ParseDisposition(p.in); ok {
			*p.out, *p.f = string(disp), string(disp)
		}
	}
	if t, err := time.Parse("2006-01-02", f.Start); err == nil {
		sq.Start = t
	} else {
		f.Start = ""
	}
	if t, err := time.Parse("2006-01-02", f.End); err == nil {
		sq.End = t.Add(24 * time.Hour)
	} else {
		f.End = ""
	}
	page, err := strconv.Atoi(v.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	sq.Limit, sq.Offset = 50, (page-1)*50
	d.F, d.Tab, d.Page = f, f.Tab, page
	if ss := s.submissions(); ss != nil {
		d.Available = true
		subs, total, err := ss.ListSubmissions(q.ctx(), q.p.AccountID, sq)
		if err != nil {
			s.internal(q, err)
			return
		}
		d.Total = total
		for _, x := range subs {
			d.Rows = append(d.Rows, subRow{Submission: x, ReasonText: reasonText(x.Reason)})
		}
		vals := q.r.URL.Query()
		if page > 1 {
			vals.Set("page", strconv.Itoa(page-1))
			d.Prev = "/reclassifications?" + vals.Encode()
		}
		if sq.Offset+len(subs) < total {
			vals.Set("page", strconv.Itoa(page+1))
			d.Next = "/reclassifications?" + vals.Encode()
		}
	}
	s.render(q, http.StatusOK, "reclassifications", "Reclassifications", d)
}

const overviewDays = 14

type bar struct {
	X, Y, W, H  int
	Disposition string
	N           int
	Day         string
}

type overviewData struct {
	Days   int
	Bars   []bar
	Labels []struct {
		X    int
		Text string
	}
	Max       int
	GridLines []struct {
		Y    int
		Text string
	}
	Totals        []dispositionTotal
	Total         int
	Triggers      []store.Count
	Recipients    []store.Count
	Pending       int
	Unreviewed    int
	Available     bool
	SubsAvailable bool
	Computed      time.Time
}

type dispositionTotal struct {
	Disposition string
	N           int
}

// Chart geometry (SVG user units).
const (
	chartW, chartH, chartLeft, chartBottom = 720, 220, 40, 24
)

func (s *Server) overview(q *req) {
	d, err := s.overviewStats(q.ctx(), q.p.AccountID)
	if err != nil {
		s.internal(q, err)
		return
	}
	s.render(q, http.StatusOK, "overview", "Overview", d)
}

// overviewStats reads the store's per-day rollup (store.ConsoleStats): its cost
// grows with days and keys, not messages, so nothing is cached.
func (s *Server) overviewStats(ctx context.Context, acct int64) (overviewData, error) {
	now := s.now()
	d := overviewData{Days: overviewDays, Computed: now, Available: true}
	today := now.UTC().Truncate(24 * time.Hour)
	since := today.AddDate(0, 0, -(overviewDays - 1))
	counts, err := s.Store.DispositionsByDay(ctx, acct, since)
	if err != nil {
		return d, err
	}
	if d.Triggers, err = s.Store.TopTriggers(ctx, acct, since, 10); err != nil {
		return d, err
	}
	if d.Recipients, err = s.Store.TopRecipients(ctx, acct, since, 10); err != nil {
		return d, err
	}
	chart(&d, counts, since)
	if ss := s.submissions(); ss != nil {
		d.SubsAvailable = true
		_, n, err := ss.ListSubmissions(ctx, acct, store.SubmissionQuery{Type: store.SubmissionTeam, Status: store.SubPending, Limit: 1})
		if err != nil {
			return d, err
		}
		d.Pending = n
		_, n, err = ss.ListSubmissions(ctx, acct, store.SubmissionQuery{Type: store.SubmissionUser, CustomerStatus: store.CustomerUnreviewed, Limit: 1})
		if err != nil {
			return d, err
		}
		d.Unreviewed = n
	}
	return d, nil
}

// chart lays out stacked bars per day, most severe disposition on top.
func chart(d *overviewData, counts []store.Count, since time.Time) {
	perDay := make([]map[string]int, overviewDays)
	for i := range perDay {
		perDay[i] = map[string]int{}
	}
	totals := map[string]int{}
	for _, c := range counts {
		i := int(c.Day.Sub(since).Hours() / 24)
		if i < 0 || i >= overviewDays {
			continue
		}
		perDay[i][c.Key] += c.N
		totals[c.Key] += c.N
		d.Total += c.N
	}
	for _, day := range perDay {
		n := 0
		for _, x := range day {
			n += x
		}
		d.Max = max(d.Max, n)
	}
	scale := niceMax(d.Max)
	plotH := chartH - chartBottom - 8
	slot := (chartW - chartLeft) / overviewDays
	for i, day := range perDay {
		x := chartLeft + i*slot + slot/6
		y := chartH - chartBottom
		for j := len(detect.Dispositions) - 1; j >= 0; j-- {
			disp := string(detect.Dispositions[j])
			n := day[disp]
			if n == 0 {
				continue
			}
			h := max(1, n*plotH/scale)
			y -= h
			d.Bars = append(d.Bars, bar{X: x, Y: y, W: slot * 2 / 3, H: h, Disposition: disp, N: n, Day: since.AddDate(0, 0, i).Format("Jan 2")})
		}
		if i%2 == 0 || i == overviewDays-1 {
			d.Labels = append(d.Labels, struct {
				X    int
				Text string
			}{x + slot/3, since.AddDate(0, 0, i).Format("Jan 2")})
		}
	}
	for k := 0; k <= 4; k++ {
		d.GridLines = append(d.GridLines, struct {
			Y    int
			Text string
		}{chartH - chartBottom - k*plotH/4, strconv.Itoa(scale * k / 4)})
	}
	for _, disp := range detect.Dispositions {
		d.Totals = append(d.Totals, dispositionTotal{string(disp), totals[string(disp)]})
	}
}

func niceMax(n int) int {
	if n <= 4 {
		return 4
	}
	// round up to 4 × a 1-2-5 step
	for p := 1; ; p *= 10 {
		for _, step := range []int{1, 2, 5} {
			if step*p*4 >= n {
				return step * p * 4
			}
		}
	}
}

// settingsData is the Settings page.
type settingsData struct {
	Account      store.Account
	Allow        []store.AllowPolicy
	Block        []store.BlockSender
	Trusted      []store.TrustedDomain
	Registry     []store.ImpersonationEntry
	Domains      []store.ProtectedDomain
	Users        []store.User
	Tokens       []store.TokenInfo
	Hold         []holdOption
	Dispositions []dispositionOption
	Saved        string
	NewToken     string
	NewTokenRole string
	IsAdmin      bool
	Error        string
}

func (s *Server) settings(q *req) {
	s.renderSettings(q, http.StatusOK, "", "", "")
}

func (s *Server) renderSettings(q *req, status int, newToken, role, errMsg string) {
	ctx, acct := q.ctx(), q.p.AccountID
	d := settingsData{Dispositions: dispositionOptions(), Saved: q.r.URL.Query().Get("saved"), NewToken: newToken,
		NewTokenRole: role, IsAdmin: q.user.Role == store.RoleAdmin, Error: errMsg}
	all := store.SettingsQuery{Limit: 500}
	var err error
	if d.Account, err = s.Store.Account(ctx, acct); err == nil {
		d.Allow, _, err = s.Store.AllowPolicies(ctx, acct, all)
	}
	if err == nil {
		d.Block, _, err = s.Store.BlockSenders(ctx, acct, all)
	}
	if err == nil {
		d.Trusted, _, err = s.Store.TrustedDomains(ctx, acct, all)
	}
	if err == nil {
		d.Registry, _, err = s.Store.ImpersonationRegistry(ctx, acct, all)
	}
	if err == nil {
		d.Domains, _, err = s.Store.ProtectedDomains(ctx, acct, all)
	}
	if err == nil && d.IsAdmin {
		d.Users, err = s.Store.ListUsers(ctx, acct)
	}
	if err == nil && d.IsAdmin {
		d.Tokens, err = s.Store.ListTokens(ctx, acct)
	}
	for _, o := range d.Dispositions {
		d.Hold = append(d.Hold, holdOption{dispositionOption: o, Held: d.Account.Holds(o.Value)})
	}
	if err != nil {
		s.internal(q, err)
		return
	}
	s.render(q, status, "settings", "Settings", d)
}

var patternTypes = map[string]bool{store.PatternEmail: true, store.PatternDomain: true, store.PatternIP: true}

// settingsCreate adds one settings entry from a form.
func (s *Server) settingsCreate(q *req) {
	kind := q.r.PathValue("kind")
	f := func(k string) string { return strings.TrimSpace(q.r.FormValue(k)) }
	on := func(k string) bool { return q.r.FormValue(k) == "on" }
	ctx, acct := q.ctx(), q.p.AccountID
	base := store.SettingBase{AccountID: acct, Comments: f("comments")}
	if e := f("expires"); e != "" {
		t, err := time.Parse("2006-01-02", e)
		if err != nil {
			s.renderSettings(q, http.StatusBadRequest, "", "", "The expiry must be a date.")
			return
		}
		base.ExpiresAt = t.Add(24 * time.Hour)
	}
	pattern, ptype := f("pattern"), strings.ToUpper(f("pattern_type"))
	var err error
	var target string
	switch kind {
	case store.KindAllowPolicies:
		if pattern == "" || !patternTypes[ptype] {
			err = errors.New("give a pattern and its type (email, domain or IP)")
			break
		}
		e := &store.AllowPolicy{SettingBase: base, Pattern: pattern, PatternType: ptype, IsAcceptableSender: on("is_acceptable_sender"),
			IsTrustedSender: on("is_trusted_sender"), IsExemptRecipient: on("is_exempt_recipient"), VerifySender: on("verify_sender")}
		if !e.IsAcceptableSender && !e.IsTrustedSender && !e.IsExemptRecipient {
			err = errors.New("tick what the policy allows: acceptable sender, trusted sender or exempt recipient")
			break
		}
		err = s.Store.CreateAllowPolicy(ctx, e)
		target = fmt.Sprint(e.ID)
	case store.KindBlockSenders:
		if pattern == "" || !patternTypes[ptype] {
			err = errors.New("give a pattern and its type (email, domain or IP)")
			break
		}
		e := &store.BlockSender{SettingBase: base, Pattern: pattern, PatternType: ptype}
		err = s.Store.CreateBlockSender(ctx, e)
		target = fmt.Sprint(e.ID)
	case store.KindTrustedDomains:
		if pattern == "" || (!on("is_recent") && !on("is_similarity")) {
			err = errors.New("give a domain and tick at least one of: newly registered, lookalike")
			break
		}
		e := &store.TrustedDomain{SettingBase: base, Pattern: strings.ToLower(pattern), IsRecent: on("is_recent"), IsSimilarity: on("is_similarity")}
		err = s.Store.CreateTrustedDomain(ctx, e)
		target = fmt.Sprint(e.ID)
	case store.KindImpersonationRegistry:
		name, email := f("name"), strings.ToLower(f("email"))
		if name == "" || !strings.Contains(email, "@") {
			err = errors.New("give the person's name and email address")
			break
		}
		e := &store.ImpersonationEntry{SettingBase: base, Name: name, Email: email, Provenance: "console"}
		err = s.Store.CreateImpersonationEntry(ctx, e)
		target = fmt.Sprint(e.ID)
	case store.KindDomains:
		dom := strings.ToLower(f("domain"))
		if dom == "" || !strings.Contains(dom, ".") {
			err = errors.New("give a domain name")
			break
		}
		var drop []string
		for _, disp := range detect.Dispositions {
			if on("hold_" + string(disp)) {
				drop = append(drop, string(disp))
			}
		}
		e := &store.ProtectedDomain{SettingBase: base, Domain: dom, DropDispositions: drop, LookbackHops: 1, Status: "active"}
		err = s.Store.CreateProtectedDomain(ctx, e)
		target = fmt.Sprint(e.ID)
	default:
		s.renderError(q, http.StatusNotFound, "No such settings list.")
		return
	}
	if errors.Is(err, store.ErrConflict) {
		err = errors.New("that entry is already in the list")
	}
	if err != nil {
		s.renderSettings(q, http.StatusBadRequest, "", "", "Not saved: "+err.Error()+".")
		return
	}
	s.audit(q, "settings."+kind+".create", target, map[string]any{"source": "console", "form": formSummary(q)})
	http.Redirect(q.w, q.r, "/settings?saved="+kind+"#"+kind, http.StatusSeeOther)
}

func formSummary(q *req) map[string]string {
	out := map[string]string{}
	var keys []string
	for k := range q.r.PostForm {
		if k != "csrf_token" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = q.r.PostForm.Get(k)
	}
	return out
}

func (s *Server) settingsDelete(q *req) {
	kind := q.r.PathValue("kind")
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		s.renderError(q, http.StatusNotFound, "No such entry.")
		return
	}
	ctx, acct := q.ctx(), q.p.AccountID
	switch kind {
	case store.KindAllowPolicies:
		err = s.Store.DeleteAllowPolicy(ctx, acct, id)
	case store.KindBlockSenders:
		err = s.Store.DeleteBlockSender(ctx, acct, id)
	case store.KindTrustedDomains:
		err = s.Store.DeleteTrustedDomain(ctx, acct, id)
	case store.KindImpersonationRegistry:
		err = s.Store.DeleteImpersonationEntry(ctx, acct, id)
	case store.KindDomains:
		err = s.Store.DeleteProtectedDomain(ctx, acct, id)
	default:
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(q, http.StatusNotFound, "No such entry.")
		return
	}
	if err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "settings."+kind+".delete", strconv.FormatInt(id, 10), map[string]any{"source": "console"})
	http.Redirect(q.w, q.r, "/settings?saved="+kind+"#"+kind, http.StatusSeeOther)
}

// tokenCreate makes an API token and shows it once.
func (s *Server) tokenCreate(q *req) {
	role := q.r.FormValue("role")
	if !store.ValidRole(role) {
		s.renderSettings(q, http.StatusBadRequest, "", "", "Choose the token's role.")
		return
	}
	tok, err := s.Store.CreateToken(q.ctx(), q.p.AccountID, role)
	if err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "token.create", role, map[string]any{"prefix": tok[:9], "source": "console"})
	s.renderSettings(q, http.StatusOK, tok, role, "")
}

// holdOption is one disposition of the quarantine policy form.
type holdOption struct {
	dispositionOption
	Held bool
}

// holdUpdate replaces the account's default quarantine policy: the
// dispositions held for recipients outside any protected domain.
func (s *Server) holdUpdate(q *req) {
	ctx, acct := q.ctx(), q.p.AccountID
	before, err := s.Store.Account(ctx, acct)
	if err != nil {
		s.internal(q, err)
		return
	}
	hold := []string{}
	for _, d := range detect.Dispositions {
		if q.r.FormValue("hold_"+string(d)) == "on" {
			hold = append(hold, string(d))
		}
	}
	if err := s.Store.SetHoldDispositions(ctx, acct, hold); err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "settings.quarantine.update", strconv.FormatInt(acct, 10),
		map[string]any{"source": "console", "from": before.HoldDispositions, "to": hold})
	http.Redirect(q.w, q.r, "/settings?saved=quarantine#quarantine", http.StatusSeeOther)
}

// tokenRevoke revokes an API token of the account: the API refuses it at once.
func (s *Server) tokenRevoke(q *req) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		s.renderError(q, http.StatusNotFound, "No such token.")
		return
	}
	var prefix string
	if toks, err := s.Store.ListTokens(q.ctx(), q.p.AccountID); err == nil {
		for _, t := range toks {
			if t.ID == id {
				prefix = t.Prefix
			}
		}
	}
	err = s.Store.RevokeToken(q.ctx(), q.p.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		s.renderError(q, http.StatusNotFound, "No such token, or it is revoked already.")
		return
	}
	if err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "token.revoke", strconv.FormatInt(id, 10), map[string]any{"prefix": prefix, "source": "console"})
	http.Redirect(q.w, q.r, "/settings?saved=tokens#tokens", http.StatusSeeOther)
}
