package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// "Select all messages" on the Investigation page selects every message the
// search matches, not only the page. Release and Request reclassification on
// such a selection run as a durable bulk job (internal/bulk, the same jobs as
// the API's investigate/bulk) over the search's filters: the job walks every
// match by cursor, so there is no cap on how many it acts on. The search is
// bounded at the moment of the click (end = now), so mail arriving later is
// not swept in.

// countMatches answers how many messages a search matches (?<filters>), up
// to store.MaxCount.
func (s *Server) countMatches(q *req) {
	_, sq, problems := parseFilters(q.r.URL.Query())
	if len(problems) > 0 {
		writeJSONError(q.w, http.StatusBadRequest, "The search is not valid: "+strings.Join(problems, "; ")+".")
		return
	}
	sq.CountTotal, sq.Limit = true, 1
	page, err := s.Store.Search(q.ctx(), q.p.AccountID, sq)
	if err != nil {
		s.internal(q, err)
		return
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "total": page.Total, "capped": page.TotalCapped})
}

// jobView is a bulk job as the page shows it.
type jobView struct {
	ID         string `json:"id"`
	Action     string `json:"action"`
	Status     string `json:"status"`
	Finished   bool   `json:"finished"`
	Discovered int    `json:"discovered"`
	Successful int    `json:"successful"`
	Failed     int    `json:"failed"`
	Pending    int    `json:"pending"`
	Text       string `json:"text"`
}

func toJobView(j store.Job) jobView {
	v := jobView{ID: j.ID, Action: j.Action, Status: j.Status, Finished: store.JobFinished(j.Status),
		Discovered: j.Discovered, Successful: j.Successful, Failed: j.Failed, Pending: j.Pending()}
	what := "Release"
	if j.Action == "RECLASSIFY" {
		what = "Reclassification request (" + dispLabel(j.ExpectedDisposition) + ")"
	}
	switch j.Status {
	case store.JobPending, store.JobDiscovering:
		v.Text = what + " of every matching message: finding messages… " + plural(j.Discovered, "message") + " found."
	case store.JobProcessing:
		v.Text = what + " of every matching message: " + itoa(j.Successful+j.Failed) + " of " + itoa(j.Discovered) + " done."
	case store.JobCompleted:
		v.Text = what + " of every matching message finished: " + plural(j.Successful, "message") + " done"
		if j.Failed > 0 {
			v.Text += ", " + itoa(j.Failed) + " failed"
		}
		v.Text += "."
	default:
		v.Text = what + " of every matching message " + strings.ToLower(j.Status) + ": " + plural(j.Successful, "message") + " done"
		if j.StatusMessage != "" {
			v.Text += " (" + j.StatusMessage + ")"
		}
		v.Text += "."
	}
	return v
}

// bulkParams turns the Investigation filters into a bulk job's search_params
// (the API's investigate filter names), ending now.
func bulkParams(sq store.Query, now time.Time) map[string]string {
	p := map[string]string{}
	for k, v := range map[string]string{"query": sq.Text, "sender": sq.Sender, "recipient": sq.Recipient, "subject": sq.Subject,
		"final_disposition": sq.Disposition, "delivery_status": sq.DeliveryState} {
		if v != "" {
			p[k] = v
		}
	}
	if !sq.Start.IsZero() {
		p["start"] = sq.Start.UTC().Format(time.RFC3339)
	}
	end := now.UTC().Truncate(time.Second).Add(time.Second)
	if !sq.End.IsZero() && sq.End.Before(end) {
		end = sq.End
	}
	p["end"] = end.UTC().Format(time.RFC3339)
	return p
}

// bulkCreate starts a bulk job over every message a search matches:
// {"action": "release"|"reclassify", "disposition": "...", "search": "<query string>"}.
func (s *Server) bulkCreate(q *req) {
	var b struct {
		Action      string `json:"action"`
		Disposition string `json:"disposition"`
		Search      string `json:"search"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<16)).Decode(&b); err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "The request body must be JSON.")
		return
	}
	v, err := url.ParseQuery(strings.TrimPrefix(b.Search, "?"))
	if err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "The search is not valid.")
		return
	}
	_, sq, problems := parseFilters(v)
	if len(problems) > 0 {
		writeJSONError(q.w, http.StatusBadRequest, "The search is not valid: "+strings.Join(problems, "; ")+".")
		return
	}
	j := store.Job{ID: newJobID(), AccountID: q.p.AccountID, RequestedBy: q.p.Name, Comment: "console: every message matching the search"}
	switch b.Action {
	case "release":
		j.Action = "RELEASE"
	case "reclassify":
		disp, ok := detect.ParseDisposition(b.Disposition)
		if !ok {
			writeJSONError(q.w, http.StatusBadRequest, "Choose the new disposition: Malicious, Suspicious, Spoof, Spam, Bulk or Clean.")
			return
		}
		if s.Submitter == nil {
			writeJSONError(q.w, http.StatusServiceUnavailable, "Reclassification is not available on this server yet.")
			return
		}
		j.Action, j.ExpectedDisposition = "RECLASSIFY", string(disp)
	default:
		writeJSONError(q.w, http.StatusBadRequest, "action must be release or reclassify")
		return
	}
	params := bulkParams(sq, s.now())
	j.SearchParams, _ = json.Marshal(params)
	// The job worker reads search_params as the API does: make sure it finds
	// the same messages this page does.
	back, err := api.SearchParamsQuery(j.SearchParams)
	if err != nil || back.Text != sq.Text || back.Sender != sq.Sender || back.Recipient != sq.Recipient || back.Subject != sq.Subject ||
		back.Disposition != sq.Disposition || back.DeliveryState != sq.DeliveryState || !back.Start.Equal(sq.Start) {
		writeJSONError(q.w, http.StatusBadRequest, "This search cannot be run as a bulk action (delivery status "+sq.DeliveryState+"?): select messages on the page instead.")
		return
	}
	if err := s.Store.CreateJob(q.ctx(), &j); err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "bulk.create", j.ID, map[string]any{"source": "console", "action": j.Action, "search_params": params, "expected_disposition": j.ExpectedDisposition})
	if s.API != nil && s.API.BulkWake != nil {
		s.API.BulkWake()
	}
	if j2, err := s.Store.GetJob(q.ctx(), q.p.AccountID, j.ID); err == nil {
		j = j2
	}
	jv := toJobView(j)
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "job": jv, "message": "Bulk job started. " + jv.Text})
}

// jobState answers a bulk job's progress.
func (s *Server) jobState(q *req) {
	j, err := s.Store.GetJob(q.ctx(), q.p.AccountID, q.r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeJSONError(q.w, http.StatusNotFound, "No such job.")
		return
	}
	if err != nil {
		s.internal(q, err)
		return
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "job": toJobView(j)})
}

func newJobID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
