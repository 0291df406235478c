package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// row is one message in a results table.
type row struct {
	ID          string
	Disposition string
	Time        time.Time
	FromName    string
	From        string
	To          string
	Subject     string
	State       string
	Quarantined bool
}

func toRow(m store.Message) row {
	to := m.To
	if len(to) == 0 {
		to = m.EnvelopeTo
	}
	r := row{ID: m.ID, Disposition: m.Disposition, Time: m.ScannedAt, FromName: m.FromName, From: m.FromAddr,
		Subject: m.Subject, State: stateLabel(m), Quarantined: m.IsQuarantined}
	if r.From == "" {
		r.From = m.EnvelopeFrom
	}
	if len(to) > 3 {
		r.To = strings.Join(to[:3], ", ") + " +" + strconv.Itoa(len(to)-3)
	} else {
		r.To = strings.Join(to, ", ")
	}
	return r
}

// filters are the Investigation search form.
type filters struct {
	Q, Disposition, Start, End, Sender, Recipient, Subject, Status string
	Per                                                            int
}

func (f filters) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"q": f.Q, "disposition": f.Disposition, "start": f.Start, "end": f.End,
		"sender": f.Sender, "recipient": f.Recipient, "subject": f.Subject, "status": f.Status} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Per != defaultPer {
		v.Set("per", strconv.Itoa(f.Per))
	}
	return v
}

const (
	defaultPer = 50
	maxPer     = 500
)

var deliveryStates = []string{"quarantined", "delivered", "queued", "deferred", "bounced", "rejected", "journaled"}

type investigationData struct {
	F            filters
	Rows         []row
	Page         int
	From, To     int
	Prev, Next   string
	Dispositions []dispositionOption
	States       []string
	CanWrite     bool
	Problem      string
	// Search is the query string of the filters (no paging): what "Select
	// all messages" selects when the matches fill more than this page.
	Search string
	More   bool // there are matches on other pages
}

func canWrite(u store.User) bool { return u.Role == store.RoleAdmin || u.Role == store.RoleAnalyst }

// parseFilters reads the Investigation search form; what it cannot use is
// described in problems (and left out of the query).
func parseFilters(v url.Values) (f filters, sq store.Query, problems []string) {
	f = filters{Q: strings.TrimSpace(v.Get("q")), Sender: strings.TrimSpace(v.Get("sender")), Recipient: strings.TrimSpace(v.Get("recipient")),
		Subject: strings.TrimSpace(v.Get("subject")), Start: v.Get("start"), End: v.Get("end"), Per: defaultPer}
	sq = store.Query{Text: f.Q, Sender: f.Sender, Recipient: f.Recipient, Subject: f.Subject}
	if x := v.Get("disposition"); x != "" {
		if disp, ok := detect.ParseDisposition(x); ok {
			f.Disposition, sq.Disposition = string(disp), string(disp)
		} else {
			problems = append(problems, "unknown disposition "+strconv.Quote(x))
		}
	}
	if x := v.Get("status"); x != "" {
		for _, st := range deliveryStates {
			if x == st {
				f.Status, sq.DeliveryState = x, x
			}
		}
		if f.Status == "" {
			problems = append(problems, "unknown delivery status "+strconv.Quote(x))
		}
	}
	if f.Start != "" {
		t, err := time.Parse("2006-01-02", f.Start)
		if err != nil {
			problems = append(problems, "the start date must be YYYY-MM-DD")
			f.Start = ""
		}
		sq.Start = t
	}
	if f.End != "" {
		t, err := time.Parse("2006-01-02", f.End)
		if err != nil {
			problems = append(problems, "the end date must be YYYY-MM-DD")
			f.End = ""
		} else {
			sq.End = t.Add(24 * time.Hour) // the end day is included
		}
	}
	if n, err := strconv.Atoi(v.Get("per")); err == nil && n > 0 {
		f.Per = min(n, maxPer)
	}
	return f, sq, problems
}

func (s *Server) investigation(q *req) {
	v := q.r.URL.Query()
	f, sq, problems := parseFilters(v)
	d := investigationData{Dispositions: dispositionOptions(), States: deliveryStates, CanWrite: canWrite(q.user)}
	page, err := strconv.Atoi(v.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	sq.Limit, sq.Offset = f.Per, (page-1)*f.Per
	res, err := s.Store.Search(q.ctx(), q.p.AccountID, sq)
	if err != nil {
		s.internal(q, err)
		return
	}
	d.F, d.Page = f, page
	for _, m := range res.Messages {
		d.Rows = append(d.Rows, toRow(m))
	}
	if len(d.Rows) > 0 {
		d.From, d.To = sq.Offset+1, sq.Offset+len(d.Rows)
	}
	link := func(p int) string {
		vals := f.values()
		if p > 1 {
			vals.Set("page", strconv.Itoa(p))
		}
		return "/investigation?" + vals.Encode()
	}
	if page > 1 {
		d.Prev = link(page - 1)
	}
	if res.NextCursor > 0 {
		d.Next = link(page + 1)
	}
	d.Problem = strings.Join(problems, "; ")
	d.More = d.Prev != "" || d.Next != ""
	sv := f.values()
	sv.Del("per")
	d.Search = sv.Encode()
	s.render(q, http.StatusOK, "investigation", "Investigation", d)
}

// messageData is the message detail page.
type messageData struct {
	M           store.Message
	Row         row
	Triggers    []detect.Trigger
	Auth        auth.Result
	Validation  auth.Validation
	Details     pipeline.Details
	Links       []linkView
	Trace       []store.TraceLine
	Actions     []store.Action
	Campaign    []row
	Submissions []store.Submission
	Raw         string
	RawCut      bool
	CanWrite    bool
	Clean       bool
}

type linkView struct {
	message.Link
	Mismatch bool // the text names another host than the target
}

const maxRawShown = 512 << 10

func (s *Server) loadMessage(q *req) (store.Message, bool) {
	m, err := s.Store.GetMessage(q.ctx(), q.p.AccountID, q.r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		if q.r.Method == http.MethodGet {
			s.renderError(q, http.StatusNotFound, "There is no such message in your account.")
		} else {
			writeJSONError(q.w, http.StatusNotFound, "There is no such message in your account.")
		}
		return m, false
	}
	if err != nil {
		s.internal(q, err)
		return m, false
	}
	return m, true
}

// campaignLister is implemented by stores with submissions (store.Submissions).
type campaignLister interface {
	CampaignMessages(ctx context.Context, accountID int64, campaignID string, after int64, limit int) ([]store.Message, error)
}

func (s *Server) submissions() store.Submissions {
	ss, _ := any(s.Store).(store.Submissions)
	return ss
}

func (s *Server) messagePage(q *req) {
	m, ok := s.loadMessage(q)
	if !ok {
		return
	}
	d := messageData{M: m, Row: toRow(m), CanWrite: canWrite(q.user), Clean: m.Disposition == string(detect.None)}
	json.Unmarshal(m.Triggers, &d.Triggers)
	json.Unmarshal(m.Auth, &d.Auth)
	d.Validation = d.Auth.Validation()
	json.Unmarshal(m.Details, &d.Details)
	for _, l := range d.Details.Links {
		d.Links = append(d.Links, linkView{Link: l, Mismatch: textNamesOtherHost(l)})
	}
	var err error
	if d.Trace, err = s.Store.Trace(q.ctx(), m.Seq); err != nil {
		s.internal(q, err)
		return
	}
	if d.Actions, err = s.Store.Actions(q.ctx(), m.Seq); err != nil {
		s.internal(q, err)
		return
	}
	raw, err := s.Store.Raw(q.ctx(), m.Seq)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.internal(q, err)
		return
	}
	if len(raw) > maxRawShown {
		raw, d.RawCut = raw[:maxRawShown], true
	}
	d.Raw = strings.ToValidUTF8(string(raw), "\uFFFD")
	if cl, ok := any(s.Store).(campaignLister); ok && m.CampaignID != "" {
		ms, err := cl.CampaignMessages(q.ctx(), q.p.AccountID, m.CampaignID, 0, 51)
		if err != nil {
			s.internal(q, err)
			return
		}
		for _, o := range ms {
			if o.ID != m.ID && len(d.Campaign) < 50 {
				d.Campaign = append(d.Campaign, toRow(o))
			}
		}
	}
	if d.Submissions, err = s.Store.MessageSubmissions(q.ctx(), q.p.AccountID, m.ID, 20); err != nil {
		s.internal(q, err)
		return
	}
	s.render(q, http.StatusOK, "message", m.Subject, d)
}

// textNamesOtherHost reports a link whose visible text looks like a URL or
// domain of another host than where it really goes.
func textNamesOtherHost(l message.Link) bool {
	t := strings.ToLower(strings.TrimSpace(l.Text))
	if t == "" || l.Host == "" || strings.ContainsAny(t, " \t") || !strings.Contains(t, ".") {
		return false
	}
	t = strings.TrimPrefix(strings.TrimPrefix(t, "https://"), "http://")
	host, _, _ := strings.Cut(t, "/")
	host = strings.TrimPrefix(host, "www.")
	real := strings.TrimPrefix(l.Host, "www.")
	return host != real && !strings.HasSuffix(real, "."+host)
}

// preview serves the sanitised body in its own document under PreviewCSP.
func (s *Server) preview(q *req) {
	m, ok := s.loadMessage(q)
	if !ok {
		return
	}
	raw, err := s.Store.Raw(q.ctx(), m.Seq)
	if err != nil {
		s.internal(q, err)
		return
	}
	pm := message.Parse(raw, s.Limits)
	body := Preview(pm.HTML, pm.Text)
	h := q.w.Header()
	h.Set("Content-Security-Policy", PreviewCSP)
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	q.w.Write(body)
	s.Store.AddAction(q.ctx(), m.Seq, store.Action{Operation: "PREVIEW", Status: "completed", RequestedBy: q.p.Name, CompletedAt: s.now()})
}

// rawDownload serves the raw message as a file, never rendered.
func (s *Server) rawDownload(q *req) {
	m, ok := s.loadMessage(q)
	if !ok {
		return
	}
	raw, err := s.Store.Raw(q.ctx(), m.Seq)
	if err != nil {
		s.internal(q, err)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+m.ID+`.eml"`)
	q.w.Write(raw)
	s.audit(q, "message.download", m.ID, nil)
}
