package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// BulkRequest is the body of POST investigate/bulk.
type BulkRequest struct {
	Action              string          `json:"action"`
	Comment             string          `json:"comment"`
	Destination         string          `json:"destination"`
	ExpectedDisposition string          `json:"expected_disposition"`
	SearchParams        json.RawMessage `json:"search_params"`
}

// Job is a bulk job in answers.
type Job struct {
	JobID                   string          `json:"job_id"`
	Action                  string          `json:"action"`
	Status                  string          `json:"status"`
	StatusMessage           *string         `json:"status_message"`
	TotalMessagesDiscovered int             `json:"total_messages_discovered"`
	MessagesSuccessful      int             `json:"messages_successful"`
	MessagesFailed          int             `json:"messages_failed"`
	MessagesPending         int             `json:"messages_pending"`
	CreatedAt               string          `json:"created_at"`
	StartedAt               *string         `json:"started_at"`
	CompletedAt             *string         `json:"completed_at"`
	Comment                 *string         `json:"comment"`
	ExpectedDisposition     *string         `json:"expected_disposition"`
	SearchParams            json.RawMessage `json:"search_params"`
	RequestedBy             string          `json:"requested_by"`
}

// JobMessage is one message of a job in answers.
type JobMessage struct {
	ID        string  `json:"id"`
	PostfixID string  `json:"postfix_id"`
	Status    string  `json:"status"`
	Error     *string `json:"error"`
	UpdatedAt *string `json:"updated_at"`
}

// bulkActions are the actions a job may run (RECLASSIFY needs submissions).
var bulkActions = map[string]bool{"RELEASE": true, "RECLASSIFY": true}

func toJob(j store.Job) Job {
	return Job{JobID: j.ID, Action: j.Action, Status: j.Status, StatusMessage: strp(j.StatusMessage),
		TotalMessagesDiscovered: j.Discovered, MessagesSuccessful: j.Successful, MessagesFailed: j.Failed, MessagesPending: j.Pending(),
		CreatedAt: j.CreatedAt.UTC().Format(time.RFC3339), StartedAt: timep(j.StartedAt), CompletedAt: timep(j.CompletedAt),
		Comment: strp(j.Comment), ExpectedDisposition: strp(j.ExpectedDisposition), SearchParams: json.RawMessage(nonEmptyJSON(j.SearchParams)),
		RequestedBy: j.RequestedBy}
}

func nonEmptyJSON(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

// BulkRoutes registers the bulk job routes.
func (s *Server) bulkRoutes(mux *http.ServeMux) {
	s.handle(mux, "POST "+Base+"/investigate/bulk", writeRoles, s.createJob)
	s.handle(mux, "GET "+Base+"/investigate/bulk", readRoles, s.listJobs)
	// GET investigate/bulk/{job_id} is served by investigateView.
	s.handle(mux, "GET "+Base+"/investigate/bulk/{job_id}/messages", readRoles, s.jobMessages)
	s.handle(mux, "POST "+Base+"/investigate/bulk/{job_id}/cancel", writeRoles, s.cancelJob)
	s.handle(mux, "DELETE "+Base+"/investigate/bulk/{job_id}", writeRoles, s.deleteJob)
}

// SearchParamsQuery turns a job's search_params (a JSON object of investigate
// filters) into a store query; an error names the field.
func SearchParamsQuery(params []byte) (store.Query, error) {
	var raw map[string]any
	if len(params) > 0 {
		if err := json.Unmarshal(params, &raw); err != nil {
			return store.Query{}, badField("search_params", "search_params must be a JSON object: %v", err)
		}
	}
	v := url.Values{}
	for k, x := range raw {
		if k == "page" || k == "per_page" || k == "cursor" {
			continue
		}
		switch t := x.(type) {
		case string:
			v.Set(k, t)
		case bool, float64:
			v.Set(k, fmt.Sprint(t))
		case nil:
		default:
			return store.Query{}, badField(k, "%s must be a string, number or boolean", k)
		}
	}
	lp, err := ParseListParams(v)
	if err != nil {
		return store.Query{}, err
	}
	q := lp.Query
	q.CountTotal, q.Offset = false, 0
	return q, nil
}

func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) createJob(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	var req BulkRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, nil, badField("body", "the body must be a JSON object {action, search_params, ...}: %v", err)
	}
	req.Action = strings.ToUpper(req.Action)
	if !bulkActions[req.Action] {
		return nil, nil, badField("action", "action must be RELEASE or RECLASSIFY, got %q", req.Action)
	}
	if req.Action == "RECLASSIFY" {
		d, ok := detect.ParseDisposition(req.ExpectedDisposition)
		if !ok {
			return nil, nil, badField("expected_disposition", "expected_disposition must be one of MALICIOUS, SUSPICIOUS, SPOOF, SPAM, BULK, NONE for RECLASSIFY")
		}
		req.ExpectedDisposition = string(d)
	}
	if len(req.SearchParams) == 0 || string(req.SearchParams) == "null" {
		return nil, nil, badField("search_params", "search_params is required (the investigate filters that select the messages)")
	}
	if _, err := SearchParamsQuery(req.SearchParams); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			for i := range ae.msgs {
				if ae.msgs[i].Source != nil && ae.msgs[i].Source.Pointer != "search_params" {
					ae.msgs[i].Source.Pointer = "search_params." + ae.msgs[i].Source.Pointer
				}
			}
		}
		return nil, nil, err
	}
	j := store.Job{ID: newJobID(), AccountID: p.AccountID, Action: req.Action, SearchParams: req.SearchParams,
		ExpectedDisposition: req.ExpectedDisposition, Destination: req.Destination, Comment: req.Comment, RequestedBy: p.Name}
	if err := s.Store.CreateJob(ctx, &j); err != nil {
		return nil, nil, err
	}
	detail, _ := json.Marshal(map[string]any{"action": j.Action, "search_params": req.SearchParams, "expected_disposition": j.ExpectedDisposition})
	if err := s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "bulk.create", Target: j.ID, Detail: string(detail)}); err != nil {
		return nil, nil, err
	}
	if s.BulkWake != nil {
		s.BulkWake()
	}
	j, err := s.Store.GetJob(ctx, p.AccountID, j.ID)
	if err != nil {
		return nil, nil, err
	}
	return toJob(j), nil, nil
}

func (s *Server) listJobs(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	v := r.URL.Query()
	page, perPage, err := parsePaging(v)
	if err != nil {
		return nil, nil, err
	}
	jobs, total, err := s.Store.ListJobs(ctx, p.AccountID, (page-1)*perPage, perPage)
	if err != nil {
		return nil, nil, err
	}
	out := []Job{}
	for _, j := range jobs {
		out = append(out, toJob(j))
	}
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total}, nil
}

func (s *Server) job(ctx context.Context, p store.Principal, r *http.Request) (store.Job, error) {
	j, err := s.Store.GetJob(ctx, p.AccountID, r.PathValue("job_id"))
	if errors.Is(err, store.ErrNotFound) {
		return j, errNotFound
	}
	return j, err
}

func (s *Server) getJob(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	j, err := s.job(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	return toJob(j), nil, nil
}

func (s *Server) jobMessages(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	v := r.URL.Query()
	page, perPage, err := parsePaging(v)
	if err != nil {
		return nil, nil, err
	}
	msgs, total, err := s.Store.JobMessages(ctx, p.AccountID, r.PathValue("job_id"), (page-1)*perPage, perPage)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errNotFound
	}
	if err != nil {
		return nil, nil, err
	}
	out := []JobMessage{}
	for _, m := range msgs {
		out = append(out, JobMessage{ID: m.MessageID, PostfixID: m.MessageID, Status: m.Status, Error: strp(m.Error), UpdatedAt: timep(m.UpdatedAt)})
	}
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total}, nil
}

func (s *Server) cancelJob(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	j, err := s.Store.RequestCancel(ctx, p.AccountID, r.PathValue("job_id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, errNotFound
	case errors.Is(err, store.ErrConflict):
		return nil, nil, badField("job_id", "job %s is already %s", j.ID, j.Status)
	case err != nil:
		return nil, nil, err
	}
	s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "bulk.cancel", Target: j.ID})
	return toJob(j), nil, nil
}

func (s *Server) deleteJob(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	id := r.PathValue("job_id")
	err := s.Store.DeleteJob(ctx, p.AccountID, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil, errNotFound
	case errors.Is(err, store.ErrConflict):
		return nil, nil, badField("job_id", "only finished jobs can be deleted; cancel it first")
	case err != nil:
		return nil, nil, err
	}
	s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "bulk.delete", Target: id})
	return map[string]string{"job_id": id}, nil, nil
}

// ReleaseBatch is the bulk RELEASE action, batched (bulk.BatchAction): each
// message's recipients are queued for the relay with its action-log and audit
// entries, and the bulk worker commits a whole batch in one transaction. As
// ReleaseQueued, delivery is left to the relay worker; a recipient already
// queued or delivered is not queued again.
func (s *Server) ReleaseBatch(ctx context.Context, j store.Job, msgs []store.Message) []store.JobItem {
	actor := j.RequestedBy + " (bulk " + j.ID + ")"
	now := time.Now()
	items := make([]store.JobItem, len(msgs))
	for i, m := range msgs {
		status, undelivered := "already released", []string{}
		if m.IsQuarantined {
			status, undelivered = "queued", m.EnvelopeTo
		}
		props := map[string]string{"delivered": "", "failed": "", "undelivered": strings.Join(undelivered, ","), "bulk_job": j.ID}
		detail, _ := json.Marshal(map[string]any{"delivered": []string{}, "failed": []string{}, "undelivered": undelivered, "status": status, "bulk_job": j.ID})
		items[i] = store.JobItem{MessageSeq: m.Seq, Release: m.EnvelopeTo,
			Actions: []store.Action{{Operation: "RELEASE", Status: status, RequestedBy: actor, Properties: props, CreatedAt: now, CompletedAt: now}},
			Audit:   []store.AuditEntry{{AccountID: j.AccountID, Actor: actor, Action: "message.release", Target: m.ID, Detail: string(detail)}}}
	}
	return items
}
