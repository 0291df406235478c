package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// Submissions routes: Cloudflare's POST investigate/{id}/reclassify and GET
// submissions, and ours: bulk reclassify, user reports through the API (the
// only thing a reporter token may do), and triage of user submissions.

const maxIDs = 1000 // ids in one bulk reclassify

var (
	submitRoles = []string{store.RoleAdmin, store.RoleAnalyst, store.RoleReporter}
	errRate     = &apiError{status: http.StatusTooManyRequests, msgs: []Message{{Code: CodeBadRequest, Message: "Too many submissions for this account; try again later"}}}
	errTooLarge = &apiError{status: http.StatusRequestEntityTooLarge, msgs: []Message{{Code: CodeBadRequest, Message: "The upload is larger than the limit", Source: &Source{Pointer: "eml_content"}}}}
)

// SubmissionRoutes registers the submission routes on mux.
func (s *Server) SubmissionRoutes(mux *http.ServeMux) {
	if s.Submissions == nil {
		return
	}
	s.handle(mux, "POST "+Base+"/investigate/{id}/reclassify", writeRoles, s.reclassify)
	s.handle(mux, "POST "+Base+"/investigate/reclassify", writeRoles, s.bulkReclassify)
	s.handle(mux, "GET "+Base+"/submissions", readRoles, s.listSubmissions)
	s.handle(mux, "POST "+Base+"/submissions", submitRoles, s.userSubmission)
	s.handle(mux, "GET "+Base+"/submissions/{submission_id}", readRoles, s.getSubmission)
	s.handle(mux, "POST "+Base+"/submissions/{submission_id}/review", writeRoles, s.reviewSubmission)
	s.handle(mux, "POST "+Base+"/submissions/{submission_id}/escalate", writeRoles, s.escalateSubmission)
	s.reportAddressRoutes(mux) // settings_report.go
}

func (s *Server) maxSubmissionBody() int64 {
	lim := s.Submissions.Limits.MaxUpload
	if lim == 0 {
		lim = 25 << 20
	}
	return lim/3*4 + 64<<10 // base64 of the largest upload, and the rest of the body
}

func (s *Server) decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, s.maxSubmissionBody()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		if errors.Is(err, io.EOF) {
			return badField("body", "a JSON object body is required")
		}
		return badField("body", "the body is not valid: %v", err)
	}
	return nil
}

// parseDisposition accepts MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK and NONE.
func parseDisposition(field, v string, required bool) (detect.Disposition, error) {
	if v == "" && !required {
		return "", nil
	}
	d, ok := detect.ParseDisposition(v)
	if !ok || v != string(d) {
		return "", badField(field, "%s must be one of MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK, NONE; got %q", field, v)
	}
	return d, nil
}

func decodeEML(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return b, nil
		}
	}
	// MIME base64 with line breaks.
	if b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(v), "")); err == nil {
		return b, nil
	}
	return nil, badField("eml_content", "eml_content must be base64")
}

func parsePolicy(p *PolicyRequest) (*submission.PolicyRequest, error) {
	if p == nil {
		return nil, nil
	}
	out := &submission.PolicyRequest{Type: p.Type, PatternType: p.PatternType}
	if p.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, p.ExpiresAt)
		if err != nil {
			return nil, badField("policy/expires_at", "expires_at must be an RFC 3339 time, got %q", p.ExpiresAt)
		}
		out.ExpiresAt = t
	}
	if err := out.Validate(time.Now()); err != nil {
		return nil, badField("policy", "%s", strings.TrimPrefix(err.Error(), "submission: "))
	}
	return out, nil
}

// submitError maps the submission package's errors to API answers.
func submitError(err error, field string) error {
	switch {
	case errors.Is(err, submission.ErrNotFound):
		return errNotFound
	case errors.Is(err, submission.ErrRateLimited):
		return errRate
	case errors.Is(err, submission.ErrTooLarge):
		return errTooLarge
	case errors.Is(err, submission.ErrUnparseable):
		return badField("eml_content", "eml_content is not an email message (RFC 5322 headers with a From or Message-ID)")
	case errors.Is(err, submission.ErrBadPolicy):
		return badField("policy", "%s", strings.TrimPrefix(err.Error(), "submission: "))
	case errors.Is(err, submission.ErrNotUser):
		return badField(field, "not a user submission")
	case errors.Is(err, submission.ErrAlreadyTriage):
		return badField(field, "this user submission was already reviewed or escalated")
	}
	return err
}

func (s *Server) account(ctx context.Context, p store.Principal) (store.Account, error) {
	return s.Store.Account(ctx, p.AccountID)
}

func (s *Server) reclassify(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var req ReclassifyRequest
	if err := s.decodeBody(r, &req); err != nil {
		return nil, nil, err
	}
	d, err := parseDisposition("expected_disposition", req.ExpectedDisposition, true)
	if err != nil {
		return nil, nil, err
	}
	pol, err := parsePolicy(req.Policy)
	if err != nil {
		return nil, nil, err
	}
	acct, err := s.account(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	id := r.PathValue("id")
	if req.EscalatedSubmissionID != "" {
		user, err := s.Store.GetSubmission(ctx, p.AccountID, req.EscalatedSubmissionID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && user.MessageID != id) {
			return nil, nil, badField("escalated_submission_id", "no user submission %q of message %q", req.EscalatedSubmissionID, id)
		}
		if err != nil {
			return nil, nil, err
		}
		_, res, err := s.Submissions.Escalate(ctx, acct, p, user.ID, d, pol)
		if err != nil {
			return nil, nil, submitError(err, "escalated_submission_id")
		}
		return answer(res), nil, nil
	}
	sr := submission.Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: p.Name, MessageID: id, Disposition: d, Policy: pol}
	if req.EmlContent != "" {
		if sr.EML, err = decodeEML(req.EmlContent); err != nil {
			return nil, nil, err
		}
		sr.Channel = store.ChannelUpload
	}
	res, err := s.Submissions.Submit(ctx, acct, sr)
	if err != nil {
		return nil, nil, submitError(err, "eml_content")
	}
	return answer(res), nil, nil
}

func (s *Server) bulkReclassify(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var req BulkReclassifyRequest
	if err := s.decodeBody(r, &req); err != nil {
		return nil, nil, err
	}
	d, err := parseDisposition("expected_disposition", req.ExpectedDisposition, true)
	if err != nil {
		return nil, nil, err
	}
	pol, err := parsePolicy(req.Policy)
	if err != nil {
		return nil, nil, err
	}
	if len(req.IDs) == 0 || len(req.IDs) > maxIDs {
		return nil, nil, badField("ids", "give from 1 to %d message ids", maxIDs)
	}
	// Every id first: nothing is submitted when one is wrong.
	for i, id := range req.IDs {
		if _, err := s.Store.GetMessage(ctx, p.AccountID, id); errors.Is(err, store.ErrNotFound) {
			return nil, nil, badField(fmt.Sprintf("ids/%d", i), "no message %q in this account", id)
		} else if err != nil {
			return nil, nil, err
		}
	}
	acct, err := s.account(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	out := make([]SubmissionAnswer, 0, len(req.IDs))
	for _, id := range req.IDs {
		res, err := s.Submissions.Submit(ctx, acct, submission.Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI, RequestedBy: p.Name,
			MessageID: id, Disposition: d, Policy: pol})
		if err != nil {
			return nil, nil, submitError(err, "ids")
		}
		out = append(out, answer(res))
	}
	return out, &ResultInfo{Page: 1, PerPage: len(out), Count: len(out), TotalCount: len(out)}, nil
}

func (s *Server) userSubmission(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var req UserSubmissionRequest
	if err := s.decodeBody(r, &req); err != nil {
		return nil, nil, err
	}
	d, err := parseDisposition("requested_disposition", req.RequestedDisposition, true)
	if err != nil {
		return nil, nil, err
	}
	if (req.PostfixID == "") == (req.EmlContent == "") {
		return nil, nil, badField("postfix_id", "give either postfix_id or eml_content")
	}
	acct, err := s.account(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	sr := submission.Request{Type: store.SubmissionUser, Channel: store.ChannelAPI, RequestedBy: p.Name, MessageID: req.PostfixID, Disposition: d}
	if req.EmlContent != "" {
		if sr.EML, err = decodeEML(req.EmlContent); err != nil {
			return nil, nil, err
		}
		sr.Channel = store.ChannelUpload
	}
	res, err := s.Submissions.Submit(ctx, acct, sr)
	if errors.Is(err, submission.ErrNotFound) {
		return nil, nil, badField("postfix_id", "no message %q in this account", req.PostfixID)
	}
	if err != nil {
		return nil, nil, submitError(err, "eml_content")
	}
	return answer(res), nil, nil
}

var knownSubmissionParams = map[string]bool{
	"type": true, "start": true, "end": true, "original_disposition": true, "requested_disposition": true, "outcome_disposition": true,
	"status": true, "query": true, "submission_id": true, "escalated_from_user": true, "customer_status": true, "page": true, "per_page": true,
}

func (s *Server) listSubmissions(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	v := r.URL.Query()
	for k := range v {
		if !knownSubmissionParams[k] {
			return nil, nil, badField(k, "unknown query parameter %q", k)
		}
	}
	q := store.SubmissionQuery{Status: v.Get("status"), Text: v.Get("query"), SubmissionID: v.Get("submission_id")}
	switch t := strings.ToUpper(v.Get("type")); t {
	case "", store.SubmissionTeam, store.SubmissionUser, store.SubmissionInvalid:
		q.Type = t
	default:
		return nil, nil, badField("type", "type must be TEAM, USER or INVALID; got %q", v.Get("type"))
	}
	switch c := v.Get("customer_status"); c {
	case "", store.CustomerUnreviewed, store.CustomerReviewed, store.CustomerEscalated:
		q.CustomerStatus = c
	default:
		return nil, nil, badField("customer_status", "customer_status must be unreviewed, reviewed or escalated; got %q", c)
	}
	for field, dst := range map[string]*string{"original_disposition": &q.OriginalDisposition, "requested_disposition": &q.RequestedDisposition, "outcome_disposition": &q.OutcomeDisposition} {
		d, err := parseDisposition(field, v.Get(field), false)
		if err != nil {
			return nil, nil, err
		}
		*dst = string(d)
	}
	var err error
	if q.Start, err = parseTime(v, "start"); err != nil {
		return nil, nil, err
	}
	if q.End, err = parseTime(v, "end"); err != nil {
		return nil, nil, err
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return nil, nil, badField("end", "end is before start")
	}
	if q.EscalatedFromUser, err = parseBool(v, "escalated_from_user"); err != nil {
		return nil, nil, err
	}
	page, perPage, err := parsePaging(v)
	if err != nil {
		return nil, nil, err
	}
	q.Limit, q.Offset = perPage, (page-1)*perPage
	subs, total, err := s.Store.ListSubmissions(ctx, p.AccountID, q)
	if err != nil {
		return nil, nil, err
	}
	items := make([]SubmissionItem, 0, len(subs))
	for _, sub := range subs {
		items = append(items, toSubmissionItem(sub))
	}
	return items, &ResultInfo{Page: page, PerPage: perPage, Count: len(items), TotalCount: total}, nil
}

func (s *Server) getSubmission(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	sub, err := s.Store.GetSubmission(ctx, p.AccountID, r.PathValue("submission_id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	return toSubmissionItem(sub), nil, nil
}

func (s *Server) reviewSubmission(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	sub, err := s.Submissions.Review(ctx, p, r.PathValue("submission_id"))
	if err != nil {
		return nil, nil, submitError(err, "submission_id")
	}
	return toSubmissionItem(sub), nil, nil
}

func (s *Server) escalateSubmission(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var req EscalateRequest
	if r.ContentLength != 0 {
		if err := s.decodeBody(r, &req); err != nil && !isEmptyBody(err) {
			return nil, nil, err
		}
	}
	d, err := parseDisposition("expected_disposition", req.ExpectedDisposition, false)
	if err != nil {
		return nil, nil, err
	}
	pol, err := parsePolicy(req.Policy)
	if err != nil {
		return nil, nil, err
	}
	acct, err := s.account(ctx, p)
	if err != nil {
		return nil, nil, err
	}
	user, res, err := s.Submissions.Escalate(ctx, acct, p, r.PathValue("submission_id"), d, pol)
	if err != nil {
		return nil, nil, submitError(err, "submission_id")
	}
	return map[string]any{"user_submission": toSubmissionItem(user), "team_submission": answer(res)}, nil, nil
}

func isEmptyBody(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.msgs[0].Message == "a JSON object body is required"
}

func answer(res submission.Result) SubmissionAnswer {
	return SubmissionAnswer{SubmissionItem: toSubmissionItem(res.Submission), PostfixID: res.Submission.MessageID, Duplicate: !res.Created}
}

var submissionTypeNames = map[string]string{store.SubmissionTeam: "Team", store.SubmissionUser: "User", store.SubmissionInvalid: "Invalid"}

func toSubmissionItem(sub store.Submission) SubmissionItem {
	ts := sub.RequestedAt.UTC().Format(time.RFC3339)
	typ := submissionTypeNames[sub.Type]
	it := SubmissionItem{
		SubmissionID:          sub.ID,
		RequestedTs:           ts,
		RequestedAt:           &ts,
		RequestedBy:           strp(sub.RequestedBy),
		Subject:               strp(sub.Subject),
		OriginalPostfixID:     strp(sub.MessageID),
		OriginalEdfHash:       strp(sub.EdfHash),
		OriginalDisposition:   strp(sub.OriginalDisposition),
		RequestedDisposition:  strp(sub.RequestedDisposition),
		OutcomeDisposition:    strp(sub.OutcomeDisposition),
		Status:                strp(sub.Status),
		Outcome:               strp(sub.Outcome),
		Type:                  strp(typ),
		CustomerStatus:        strp(sub.CustomerStatus),
		EscalatedAs:           strp(sub.EscalatedAs),
		EscalatedAt:           timep(sub.EscalatedAt),
		EscalatedBy:           strp(sub.EscalatedBy),
		EscalatedSubmissionID: strp(sub.EscalatedSubmissionID),
		OutcomeCode:           strp(sub.OutcomeCode),
		Reason:                strp(sub.Reason),
		EscalatedFrom:         strp(sub.EscalatedFrom),
		Channel:               sub.Channel,
		CampaignReclassified:  sub.CampaignChanged,
		PolicyEntry:           strp(sub.PolicyEntry),
		CompletedAt:           timep(sub.CompletedAt),
	}
	return it
}
