package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/preview"
	"github.com/mailwarden/mailwarden/internal/relay"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// Base is the path prefix of every account route.
const Base = "/client/v4/accounts/{account_id}/email-security"

// Limits of paging.
const (
	MaxPerPage       = 1000  // page/per_page paging, as Cloudflare
	MaxCursorPerPage = 10000 // cursor paging
	DefaultPerPage   = 20
)

// Server answers the API.
type Server struct {
	Store store.Store
	Relay *relay.Worker
	Log   *slog.Logger
	// BulkWake tells the bulk worker a job was created.
	BulkWake func()
	// Submissions creates and triages reclassification submissions (nil: no submission routes).
	Submissions *submission.Service

	routes []route // every registered route, for the authorization tests
}

type route struct {
	pattern string
	roles   []string
}

// Error codes in errors[].code.
const (
	CodeAuth       = 10000 // authentication or authorization failure
	CodeBadRequest = 10001 // invalid input
	CodeNotFound   = 10002
	CodeInternal   = 10003
)

type apiError struct {
	status int
	msgs   []Message
}

func (e *apiError) Error() string { return e.msgs[0].Message }

func badField(field, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, msgs: []Message{{Code: CodeBadRequest, Message: fmt.Sprintf(format, a...), Source: &Source{Pointer: field}}}}
}

var (
	errUnauthenticated = &apiError{status: http.StatusUnauthorized, msgs: []Message{{Code: CodeAuth, Message: "Authentication error: a valid API token is required (Authorization: Bearer TOKEN)"}}}
	errForbidden       = &apiError{status: http.StatusForbidden, msgs: []Message{{Code: CodeAuth, Message: "Authentication error: this token may not act on this account"}}}
	errRole            = &apiError{status: http.StatusForbidden, msgs: []Message{{Code: CodeAuth, Message: "Authorization error: this token's role may not do this"}}}
	errNotFound        = &apiError{status: http.StatusNotFound, msgs: []Message{{Code: CodeNotFound, Message: "Not found"}}}
)

// role sets allowed per route kind.
var (
	readRoles  = []string{store.RoleAdmin, store.RoleAnalyst, store.RoleViewer}
	writeRoles = []string{store.RoleAdmin, store.RoleAnalyst}
	adminRoles = []string{store.RoleAdmin}
)

type handler func(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error)

// Routes registers every route on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	s.handle(mux, "GET "+Base+"/investigate", readRoles, s.listInvestigate)
	s.handle(mux, "GET "+Base+"/investigate/{id}", readRoles, s.getInvestigate)
	// investigate/{id}/VIEW and investigate/bulk/{job_id} overlap as patterns, so one
	// route serves both.
	s.handle(mux, "GET "+Base+"/investigate/{id}/{view}", readRoles, s.investigateView)
	s.handle(mux, "POST "+Base+"/investigate/release", writeRoles, s.release)
	s.handle(mux, "POST "+Base+"/investigate/preview", readRoles, s.preview)
	s.handle(mux, "GET "+Base+"/audit_log", adminRoles, s.auditLog)
	s.bulkRoutes(mux)
	s.SettingsRoutes(mux)
	s.SubmissionRoutes(mux)
}

func (s *Server) handle(mux *http.ServeMux, pattern string, roles []string, h handler) {
	s.routes = append(s.routes, route{pattern, roles})
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authorize(r, roles)
		if err != nil {
			writeError(w, err)
			return
		}
		res, info, err := h(r.Context(), p, r)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				s.Log.Error("api: "+pattern, "err", err)
			}
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, Envelope{Success: true, Errors: []Message{}, Messages: []Message{}, Result: res, ResultInfo: info})
	})
}

// authorize checks the bearer token, the account in the path and the role.
func (s *Server) authorize(r *http.Request, roles []string) (store.Principal, error) {
	authz := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok || strings.TrimSpace(tok) == "" {
		return store.Principal{}, errUnauthenticated
	}
	p, err := s.Store.Authenticate(r.Context(), strings.TrimSpace(tok))
	if errors.Is(err, store.ErrNotFound) {
		return p, errUnauthenticated
	}
	if err != nil {
		return p, err
	}
	acct, err := strconv.ParseInt(r.PathValue("account_id"), 10, 64)
	if err != nil || acct != p.AccountID {
		// The same answer whether or not the other account exists.
		return p, errForbidden
	}
	for _, role := range roles {
		if p.Role == role {
			return p, nil
		}
	}
	return p, errRole
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: http.StatusInternalServerError, msgs: []Message{{Code: CodeInternal, Message: "Internal error"}}}
	}
	if ae.status < 500 && ae.status != http.StatusTooManyRequests {
		w.Header().Set("x-should-retry", "false")
	}
	writeJSON(w, ae.status, Envelope{Success: false, Errors: ae.msgs, Messages: []Message{}, Result: nil})
}

// WriteNotFound answers unknown API paths in the envelope.
func WriteNotFound(w http.ResponseWriter) { writeError(w, errNotFound) }

var knownListParams = map[string]bool{
	"query": true, "sender": true, "recipient": true, "subject": true, "exact_subject": true, "domain": true,
	"message_id": true, "alert_id": true, "final_disposition": true, "delivery_status": true, "message_action": true,
	"detections_only": true, "action_log": true, "submissions": true, "metric": true, "start": true, "end": true,
	"page": true, "per_page": true, "cursor": true,
}

var deliveryStatuses = map[string]bool{"delivered": true, "moved": true, "quarantined": true, "rejected": true, "deferred": true, "bounced": true, "queued": true}

func parseTime(v getter, field string) (time.Time, error) {
	s := v.Get(field)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, badField(field, "%s must be an RFC 3339 time, got %q", field, s)
	}
	return t, nil
}

type getter interface{ Get(string) string }

func parseBool(v getter, field string) (bool, error) {
	s := v.Get(field)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, badField(field, "%s must be true or false, got %q", field, s)
	}
	return b, nil
}

func parseInt(v getter, field string, def, lo, hi int) (int, error) {
	s := v.Get(field)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badField(field, "%s must be an integer from %d to %d, got %q", field, lo, hi, s)
	}
	return n, nil
}

// parsePaging reads page (from 1) and per_page (1 to MaxPerPage, default
// DefaultPerPage) as Cloudflare's page-paginated lists take them.
func parsePaging(v getter) (page, perPage int, err error) {
	if perPage, err = parseInt(v, "per_page", DefaultPerPage, 1, MaxPerPage); err != nil {
		return 0, 0, err
	}
	if page, err = parseInt(v, "page", 1, 1, 1<<30); err != nil {
		return 0, 0, err
	}
	return page, perPage, nil
}

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("s" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || b[0] != 's' {
		return 0, badField("cursor", "cursor is not one this server gave out")
	}
	n, err := strconv.ParseInt(string(b[1:]), 10, 64)
	if err != nil || n <= 0 {
		return 0, badField("cursor", "cursor is not one this server gave out")
	}
	return n, nil
}

// ListParams is a parsed investigate query.
type ListParams struct {
	Query      store.Query
	CursorMode bool
	Page       int
	PerPage    int
}

// ParseListParams validates investigate filters and paging; an error names the field.
func ParseListParams(v url.Values) (ListParams, error) {
	var lp ListParams
	for k := range v {
		if !knownListParams[k] {
			return lp, badField(k, "unknown query parameter %q", k)
		}
	}
	q := store.Query{
		Text:      v.Get("query"),
		Sender:    v.Get("sender"),
		Recipient: v.Get("recipient"),
		Subject:   v.Get("subject"),
		Domain:    v.Get("domain"),
		MessageID: v.Get("message_id"),
	}
	if d := v.Get("final_disposition"); d != "" {
		disp, ok := detect.ParseDisposition(d)
		if !ok || strings.EqualFold(d, "CLEAN") {
			return lp, badField("final_disposition", "final_disposition must be one of MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK, NONE; got %q", d)
		}
		q.Disposition = string(disp)
	}
	if d := v.Get("delivery_status"); d != "" {
		if !deliveryStatuses[d] {
			return lp, badField("delivery_status", "delivery_status must be one of delivered, moved, quarantined, rejected, deferred, bounced, queued; got %q", d)
		}
		q.DeliveryState = d
	}
	if a := v.Get("message_action"); a != "" {
		op, ok := messageActions[a]
		if !ok {
			return lp, badField("message_action", "message_action must be one of PREVIEW, QUARANTINE_RELEASED, MOVED, RECLASSIFIED; got %q", a)
		}
		q.Action = op
	}
	var err error
	if q.DetectionsOnly, err = parseBool(v, "detections_only"); err != nil {
		return lp, err
	}
	if q.Start, err = parseTime(v, "start"); err != nil {
		return lp, err
	}
	if q.End, err = parseTime(v, "end"); err != nil {
		return lp, err
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return lp, badField("end", "end is before start")
	}
	lp.CursorMode = v.Has("cursor")
	maxPer := MaxPerPage
	if lp.CursorMode {
		maxPer = MaxCursorPerPage
	}
	if lp.PerPage, err = parseInt(v, "per_page", DefaultPerPage, 1, maxPer); err != nil {
		return lp, err
	}
	if lp.Page, err = parseInt(v, "page", 1, 1, 1<<30); err != nil {
		return lp, err
	}
	q.Limit = lp.PerPage
	if lp.CursorMode {
		if c := v.Get("cursor"); c != "" {
			if q.Cursor, err = decodeCursor(c); err != nil {
				return lp, err
			}
		}
	} else {
		q.Offset = (lp.Page - 1) * lp.PerPage
		q.CountTotal = true
	}
	lp.Query = q
	return lp, nil
}

// messageActions maps message_action filter values to action log operations.
var messageActions = map[string]string{"PREVIEW": "PREVIEW", "QUARANTINE_RELEASED": "RELEASE", "MOVED": "MOVE", "RECLASSIFIED": "RECLASSIFY"}

func (s *Server) listInvestigate(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	lp, err := ParseListParams(r.URL.Query())
	if err != nil {
		return nil, nil, err
	}
	q, cursorMode, page, perPage := lp.Query, lp.CursorMode, lp.Page, lp.PerPage
	res, err := s.Store.Search(ctx, p.AccountID, q)
	if err != nil {
		return nil, nil, err
	}
	items := make([]Item, 0, len(res.Messages))
	for _, m := range res.Messages {
		items = append(items, toItem(m, nil))
	}
	info := &ResultInfo{Page: page, PerPage: perPage, Count: len(items), TotalCount: res.Total, TotalCountCapped: res.TotalCapped}
	if cursorMode {
		info.Page = 1
		info.TotalCount = len(items)
		if res.NextCursor > 0 {
			info.Cursor = encodeCursor(res.NextCursor)
		}
	}
	return items, info, nil
}

func strp(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timep(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func validation(raw []byte) (Validation, auth.Result) {
	var a auth.Result
	json.Unmarshal(raw, &a)
	cv := a.Validation()
	v := Validation{SPF: string(cv.SPF), DKIM: string(cv.DKIM), DMARC: string(cv.DMARC)}
	if a.DMARC.Policy != "" {
		c := "dmarc policy " + a.DMARC.Policy
		v.Comment = &c
	}
	return v, a
}

func triggers(raw []byte) []detect.Trigger {
	var t []detect.Trigger
	json.Unmarshal(raw, &t)
	return t
}

// threatCategory maps a trigger category to Cloudflare-style threat categories.
var threatCategories = map[detect.Category]ThreatCategory{
	detect.CatPhish:  {ID: 1, Name: "Phishing", Description: "phishing indicators: deceptive links, lookalike senders, credential harvesting, dangerous attachments"},
	detect.CatSpoof:  {ID: 2, Name: "Spoof", Description: "sender authentication failed against the sender's own policy"},
	detect.CatSpam:   {ID: 3, Name: "Spam", Description: "unsolicited commercial mail"},
	detect.CatBulk:   {ID: 4, Name: "Bulk", Description: "marketing or graymail"},
	detect.CatPolicy: {ID: 5, Name: "Policy", Description: "an account policy decided"},
}

func toItem(m store.Message, actions []store.Action) Item {
	v, _ := validation(m.Auth)
	ts := m.ScannedAt.UTC().Format(time.RFC3339)
	it := Item{
		ID:                     m.ID,
		PostfixID:              m.ID,
		Ts:                     ts,
		ActionLog:              []ActionLogEntry{},
		ClientRecipients:       nonNil(m.EnvelopeTo),
		DetectionReasons:       []string{},
		IsQuarantined:          m.IsQuarantined,
		Properties:             map[string]any{},
		MessageID:              strp(m.MessageID),
		Subject:                &m.Subject,
		From:                   strp(m.FromAddr),
		FromName:               strp(m.FromName),
		To:                     nonNil(m.To),
		ToName:                 []string{},
		ReplyTo:                strp(m.ReplyTo),
		EnvelopeFrom:           strp(m.EnvelopeFrom),
		EnvelopeTo:             nonNil(m.EnvelopeTo),
		FinalDisposition:       strp(m.Disposition),
		ThreatCategories:       []string{},
		Validation:             v,
		DeliveryMode:           strp(m.DeliveryMode),
		DeliveryStatus:         []string{},
		PostDeliveryOperations: []string{},
		ScannedAt:              &ts,
		SentAt:                 timep(m.SentAt),
		SMTPPreviousHopIP:      strp(m.ClientIP),
		EdfHash:                strp(m.CampaignID),
		HTMLTextStructureHash:  strp(m.StructureHash),
	}
	if deliveryStatuses[m.DeliveryStatus] {
		it.DeliveryStatus = []string{m.DeliveryStatus}
	}
	if m.SentAt.IsZero() {
		it.SentDate = nil
	} else {
		d := m.SentAt.UTC().Format("2006-01-02")
		it.SentDate = &d
	}
	seen := map[detect.Category]bool{}
	for _, t := range triggers(m.Triggers) {
		if t.Score <= 0 && t.Category != detect.CatPolicy {
			continue
		}
		it.DetectionReasons = append(it.DetectionReasons, t.Name+": "+t.Detail)
		if tc, ok := threatCategories[t.Category]; ok && !seen[t.Category] {
			seen[t.Category] = true
			it.ThreatCategories = append(it.ThreatCategories, tc.Name)
		}
	}
	ops := map[string]bool{}
	for _, a := range actions {
		it.ActionLog = append(it.ActionLog, toActionEntry(a))
		op := a.Operation
		if op == "RELEASE" {
			op = "QUARANTINE_RELEASE"
		}
		switch op {
		case "PREVIEW", "QUARANTINE_RELEASE", "SUBMISSION", "MOVE":
			if !ops[op] {
				ops[op] = true
				it.PostDeliveryOperations = append(it.PostDeliveryOperations, op)
			}
		}
	}
	return it
}

func toActionEntry(a store.Action) ActionLogEntry {
	e := ActionLogEntry{CreatedAt: a.CreatedAt.UTC().Format(time.RFC3339), Operation: a.Operation, Status: a.Status, Properties: a.Properties, CompletedAt: timep(a.CompletedAt)}
	if e.Properties == nil {
		e.Properties = map[string]string{}
	}
	if a.RequestedBy != "" {
		e.Properties["requested_by"] = a.RequestedBy
	}
	return e
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// message loads a message of the principal's account; another account's id is
// simply not found.
func (s *Server) message(ctx context.Context, p store.Principal, r *http.Request) (store.Message, error) {
	m, err := s.Store.GetMessage(ctx, p.AccountID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return m, errNotFound
	}
	return m, err
}

func (s *Server) investigateView(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	view := r.PathValue("view")
	if r.PathValue("id") == "bulk" {
		r.SetPathValue("job_id", view)
		return s.getJob(ctx, p, r)
	}
	switch view {
	case "detections":
		return s.detections(ctx, p, r)
	case "raw":
		return s.raw(ctx, p, r)
	case "trace":
		return s.trace(ctx, p, r)
	case "action_log":
		return s.actionLog(ctx, p, r)
	case "preview":
		return s.preview(ctx, p, r)
	}
	return nil, nil, errNotFound
}

func (s *Server) getInvestigate(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	m, err := s.message(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	actions, err := s.Store.Actions(ctx, m.Seq)
	if err != nil {
		return nil, nil, err
	}
	return toItem(m, actions), nil, nil
}

func (s *Server) detections(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	m, err := s.message(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	v, a := validation(m.Auth)
	var d pipeline.Details
	json.Unmarshal(m.Details, &d)
	out := Detections{
		Action:           m.DeliveryStatus,
		Attachments:      []Attachment{},
		Findings:         []Finding{},
		Headers:          []Header{},
		Links:            []Link{},
		ThreatCategories: []ThreatCategory{},
		Validation:       v,
		FinalDisposition: strp(m.Disposition),
		Auth:             a,
		SenderInfo:       SenderInfo{IP: strp(m.ClientIP)},
	}
	if m.FromDomain != "" {
		out.SenderInfo.PLD = strp(m.FromDomain)
	}
	seen := map[detect.Category]bool{}
	for _, t := range triggers(m.Triggers) {
		f := Finding{Name: t.Name, Detail: t.Detail, Reason: t.Detail, Score: t.Score, Field: strp(t.Field), Portion: strp(t.Portion), Value: strp(t.Portion), Category: string(t.Category)}
		if t.Field == "attachment" {
			f.Attachment = strp(t.Portion)
		}
		out.Findings = append(out.Findings, f)
		if tc, ok := threatCategories[t.Category]; ok && !seen[t.Category] && t.Score > 0 {
			seen[t.Category] = true
			out.ThreatCategories = append(out.ThreatCategories, tc)
		}
	}
	for _, h := range d.Headers {
		out.Headers = append(out.Headers, Header{Name: h.Name, Value: h.Value})
	}
	for _, l := range d.Links {
		out.Links = append(out.Links, Link{Href: l.Href, Text: strp(l.Text)})
	}
	for _, at := range d.Attachments {
		out.Attachments = append(out.Attachments, Attachment{Size: at.Size, ContentType: strp(at.ContentType), Name: strp(at.Name),
			MD5: at.MD5, SHA1: at.SHA1, SHA256: at.SHA256, SniffedType: at.SniffedType})
	}
	return out, nil, nil
}

func (s *Server) raw(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	m, err := s.message(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	raw, err := s.Store.Raw(ctx, m.Seq)
	if err != nil {
		return nil, nil, err
	}
	return map[string]string{"raw": strings.ToValidUTF8(string(raw), "\uFFFD")}, nil, nil
}

func (s *Server) trace(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	m, err := s.message(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	lines, err := s.Store.Trace(ctx, m.Seq)
	if err != nil {
		return nil, nil, err
	}
	t := Trace{Inbound: TraceSide{Lines: []TraceLine{}}, Outbound: TraceSide{Lines: []TraceLine{}}}
	for _, l := range lines {
		side := &t.Inbound
		if l.Direction == "outbound" {
			side = &t.Outbound
		}
		ts := l.LoggedAt.UTC().Format(time.RFC3339)
		side.Lines = append(side.Lines, TraceLine{Lineno: len(side.Lines) + 1, LoggedAt: ts, Ts: ts, Message: l.Line})
	}
	t.Outbound.Pending = m.DeliveryStatus == store.StatusQueued || m.DeliveryStatus == store.StatusDeferred
	return t, nil, nil
}

// Preview is the answer of investigate/{id}/preview: Cloudflare's screenshot (a
// base64 PNG of the message's text, drawn without interpreting any HTML).
type Preview struct {
	Screenshot string `json:"screenshot"`
}

func (s *Server) preview(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	id := r.PathValue("id")
	if r.Method == http.MethodPost {
		var body struct {
			PostfixID string `json:"postfix_id"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16)).Decode(&body); err != nil || body.PostfixID == "" {
			return nil, nil, badField("postfix_id", "the body must be {\"postfix_id\": ID}")
		}
		id = body.PostfixID
	}
	m, err := s.Store.GetMessage(ctx, p.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	raw, err := s.Store.Raw(ctx, m.Seq)
	if err != nil {
		return nil, nil, err
	}
	img := preview.PNG(preview.Lines(message.Parse(raw, message.Limits{})))
	if err := s.Store.AddAction(ctx, m.Seq, store.Action{Operation: "PREVIEW", Status: "completed", RequestedBy: p.Name, CompletedAt: time.Now()}); err != nil {
		return nil, nil, err
	}
	return Preview{Screenshot: base64.StdEncoding.EncodeToString(img)}, nil, nil
}

func (s *Server) actionLog(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	m, err := s.message(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	actions, err := s.Store.Actions(ctx, m.Seq)
	if err != nil {
		return nil, nil, err
	}
	out := []ActionLogEntry{}
	for _, a := range actions {
		out = append(out, toActionEntry(a))
	}
	return out, nil, nil
}

const maxReleaseIDs = 1000

func (s *Server) release(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var ids []string
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&ids); err != nil {
		return nil, nil, badField("body", "the body must be a JSON array of message ids: %v", err)
	}
	if len(ids) == 0 || len(ids) > maxReleaseIDs {
		return nil, nil, badField("body", "give from 1 to %d message ids", maxReleaseIDs)
	}
	// Validate every id first: nothing is released when one is wrong.
	msgs := make([]store.Message, len(ids))
	for i, id := range ids {
		m, err := s.Store.GetMessage(ctx, p.AccountID, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, badField(fmt.Sprintf("/%d", i), "no message %q in this account", id)
		}
		if err != nil {
			return nil, nil, err
		}
		msgs[i] = m
	}
	out := make([]ReleaseResult, 0, len(ids))
	for _, m := range msgs {
		res, err := s.Release(ctx, p, m)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, res)
	}
	return out, nil, nil
}

// Release delivers a held message to its original recipients once; recipients
// already delivered are not delivered again.
func (s *Server) Release(ctx context.Context, p store.Principal, m store.Message) (ReleaseResult, error) {
	return s.releaseOne(ctx, p, m, true)
}

// ReleaseQueued releases like Release but leaves delivery to the relay worker
// (bulk jobs: thousands of messages are queued, not sent one by one).
func (s *Server) ReleaseQueued(ctx context.Context, p store.Principal, m store.Message) (ReleaseResult, error) {
	return s.releaseOne(ctx, p, m, false)
}

func (s *Server) releaseOne(ctx context.Context, p store.Principal, m store.Message, now bool) (ReleaseResult, error) {
	res := ReleaseResult{ID: m.ID, PostfixID: m.ID, Delivered: []string{}, Failed: []string{}, Undelivered: []string{}}
	queued, err := s.Store.QueueDeliveries(ctx, m.Seq, m.EnvelopeTo)
	if err != nil {
		return res, err
	}
	status := "completed"
	if len(queued) > 0 && !now {
		res.Undelivered = append(res.Undelivered, queued...)
		status = "queued"
		if s.Relay != nil {
			s.Relay.Wake()
		}
	} else if len(queued) > 0 {
		rr, err := s.Relay.DeliverNow(ctx, m.Seq)
		if err != nil {
			return res, err
		}
		res.Delivered = append(res.Delivered, rr.Delivered...)
		res.Failed = append(res.Failed, rr.Failed...)
		res.Undelivered = append(res.Undelivered, rr.Undelivered...)
		if len(rr.Undelivered) > 0 {
			status = "pending"
		}
	} else {
		status = "already released"
	}
	props := map[string]string{"delivered": strings.Join(res.Delivered, ","), "failed": strings.Join(res.Failed, ","), "undelivered": strings.Join(res.Undelivered, ",")}
	if err := s.Store.AddAction(ctx, m.Seq, store.Action{Operation: "RELEASE", Status: status, RequestedBy: p.Name, Properties: props, CompletedAt: time.Now()}); err != nil {
		return res, err
	}
	detail, _ := json.Marshal(map[string]any{"delivered": res.Delivered, "failed": res.Failed, "undelivered": res.Undelivered, "status": status})
	if err := s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "message.release", Target: m.ID, Detail: string(detail)}); err != nil {
		return res, err
	}
	return res, nil
}

func (s *Server) auditLog(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	n, err := parseInt(r.URL.Query(), "per_page", 100, 1, 1000)
	if err != nil {
		return nil, nil, err
	}
	entries, err := s.Store.AuditLog(ctx, p.AccountID, n)
	if err != nil {
		return nil, nil, err
	}
	out := []map[string]any{}
	for _, e := range entries {
		var detail any
		json.Unmarshal([]byte(e.Detail), &detail)
		out = append(out, map[string]any{"id": e.ID, "actor": e.Actor, "action": e.Action, "target": e.Target, "detail": detail, "created_at": e.CreatedAt.UTC().Format(time.RFC3339)})
	}
	return out, &ResultInfo{Page: 1, PerPage: n, Count: len(out), TotalCount: len(out)}, nil
}
