package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/store"
)

// rowState is a message's state for the page to show without a reload.
type rowState struct {
	ID          string `json:"id"`
	Disposition string `json:"disposition"`
	Label       string `json:"label"`
	Class       string `json:"class"`
	State       string `json:"state"`
	Quarantined bool   `json:"quarantined"`
	// Note describes the latest submission, "" when there is none.
	Note    string `json:"note,omitempty"`
	Pending bool   `json:"pending,omitempty"`
	Error   string `json:"error,omitempty"`
}

func (s *Server) rowState(q *req, m store.Message) rowState {
	st := rowState{ID: m.ID, Disposition: m.Disposition, Label: dispLabel(m.Disposition), Class: dispClass(m.Disposition),
		State: stateLabel(m), Quarantined: m.IsQuarantined}
	if subs, err := s.Store.MessageSubmissions(q.ctx(), q.p.AccountID, m.ID, 1); err == nil && len(subs) > 0 {
		st.Note, st.Pending = submissionNote(subs[0]), subs[0].Status == store.SubPending
	}
	return st
}

func submissionNote(x store.Submission) string {
	switch x.Status {
	case store.SubPending:
		return "Reclassification to " + dispLabel(x.RequestedDisposition) + " requested (pending)"
	case store.SubFailed:
		return "Reclassification to " + dispLabel(x.RequestedDisposition) + " failed"
	}
	n := "Reclassified: " + dispLabel(x.OriginalDisposition) + " → " + dispLabel(x.OutcomeDisposition)
	if x.Outcome != "" {
		n += " (" + x.Outcome + ")"
	}
	return n
}

const maxIDs = 1000

// ids reads a JSON body {"ids": [...], "disposition": "..."}.
type idsBody struct {
	IDs         []string `json:"ids"`
	Disposition string   `json:"disposition"`
}

func (s *Server) readIDs(q *req) (idsBody, []store.Message, bool) {
	var b idsBody
	if err := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<20)).Decode(&b); err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "The request body must be JSON with the ids of messages.")
		return b, nil, false
	}
	if len(b.IDs) == 0 || len(b.IDs) > maxIDs {
		writeJSONError(q.w, http.StatusBadRequest, "Select from 1 to 1000 messages.")
		return b, nil, false
	}
	msgs := make([]store.Message, 0, len(b.IDs))
	for _, id := range b.IDs {
		m, err := s.Store.GetMessage(q.ctx(), q.p.AccountID, id)
		if errors.Is(err, store.ErrNotFound) {
			writeJSONError(q.w, http.StatusNotFound, "No message "+id+" in your account: nothing was done.")
			return b, nil, false
		}
		if err != nil {
			s.internal(q, err)
			return b, nil, false
		}
		msgs = append(msgs, m)
	}
	return b, msgs, true
}

// rows answers the current state of messages (?id=…&id=…).
func (s *Server) rows(q *req) {
	ids := q.r.URL.Query()["id"]
	if len(ids) > maxIDs {
		ids = ids[:maxIDs]
	}
	out := []rowState{}
	for _, id := range ids {
		m, err := s.Store.GetMessage(q.ctx(), q.p.AccountID, id)
		if err != nil {
			continue
		}
		out = append(out, s.rowState(q, m))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "rows": out})
}

func (s *Server) reclassify(q *req) {
	b, msgs, ok := s.readIDs(q)
	if !ok {
		return
	}
	disp, valid := detect.ParseDisposition(b.Disposition)
	if !valid {
		writeJSONError(q.w, http.StatusBadRequest, "Choose the new disposition: Malicious, Suspicious, Spoof, Spam, Bulk or Clean.")
		return
	}
	if s.Submitter == nil {
		writeJSONError(q.w, http.StatusServiceUnavailable, "Reclassification is not available on this server yet.")
		return
	}
	out := []rowState{}
	failed := 0
	for _, m := range msgs {
		sub, err := s.Submitter.Reclassify(q.ctx(), q.p, m, string(disp))
		st := s.rowState(q, m)
		if err != nil {
			s.Log.Error("web: reclassify", "id", m.ID, "err", err)
			st.Error = shown(err)
			failed++
		} else {
			if st.Note == "" {
				st.Note = submissionNote(sub)
			}
			st.Pending = sub.Status == store.SubPending
		}
		out = append(out, st)
		s.audit(q, "message.reclassify_request", m.ID, map[string]any{"from": m.Disposition, "requested": disp, "submission": sub.ID, "ok": err == nil})
	}
	msg := plural(len(msgs)-failed, "reclassification request") + " sent: new disposition " + dispLabel(string(disp)) + "."
	if failed > 0 {
		msg += " " + plural(failed, "request") + " failed."
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": failed == 0, "message": msg, "rows": out})
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

func itoa(n int) string { return strconv.Itoa(n) }

func (s *Server) release(q *req) {
	_, msgs, ok := s.readIDs(q)
	if !ok {
		return
	}
	out := []rowState{}
	delivered, failed, already := 0, 0, 0
	for _, m := range msgs {
		if !m.IsQuarantined && m.DeliveryStatus != store.StatusQuarantined {
			already++
		}
		res, err := s.API.Release(q.ctx(), q.p, m)
		if err != nil {
			s.internal(q, err)
			return
		}
		delivered += len(res.Delivered)
		failed += len(res.Failed)
		m2, err := s.Store.GetMessage(q.ctx(), q.p.AccountID, m.ID)
		if err != nil {
			m2 = m
		}
		st := s.rowState(q, m2)
		if len(res.Failed) > 0 {
			st.Error = "delivery failed for " + strings.Join(res.Failed, ", ")
		}
		out = append(out, st)
	}
	msg := plural(len(msgs), "message") + " released"
	if already > 0 {
		msg += " (" + plural(already, "message") + " not held in quarantine)"
	}
	msg += "."
	if failed > 0 {
		msg += " Delivery failed for " + plural(failed, "recipient") + "."
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": failed == 0, "message": msg, "rows": out})
}

const maxUpload = 25 << 20

// upload takes an .eml file and the requested disposition (multipart form).
func (s *Server) upload(q *req) {
	q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxUpload+1<<20)
	if err := q.r.ParseMultipartForm(8 << 20); err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "The upload was refused: the file is larger than 25 MiB or the form is broken.")
		return
	}
	disp, ok := detect.ParseDisposition(q.r.FormValue("disposition"))
	if !ok {
		writeJSONError(q.w, http.StatusBadRequest, "Choose the disposition you want the message to have.")
		return
	}
	f, fh, err := q.r.FormFile("file")
	if err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "Choose an .eml file to upload.")
		return
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
	if err != nil || len(raw) > maxUpload {
		writeJSONError(q.w, http.StatusBadRequest, "The upload was refused: the file is larger than 25 MiB.")
		return
	}
	if s.Submitter == nil {
		writeJSONError(q.w, http.StatusServiceUnavailable, "Submissions are not available on this server yet.")
		return
	}
	sub, err := s.Submitter.Upload(q.ctx(), q.p, fh.Filename, raw, string(disp))
	if err != nil {
		s.internal(q, err)
		return
	}
	s.audit(q, "submission.upload", sub.ID, map[string]any{"file": fh.Filename, "size": len(raw), "requested": disp, "type": sub.Type, "reason": sub.Reason})
	if sub.Type == store.SubmissionInvalid {
		writeJSON(q.w, http.StatusUnprocessableEntity, map[string]any{"ok": false, "submission": sub.ID,
			"error": "The file was refused: " + reasonText(sub.Reason) + ". It is listed under Invalid submissions."})
		return
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "submission": sub.ID,
		"message": "Uploaded " + fh.Filename + ": submission " + sub.ID + " requests " + dispLabel(string(disp)) + "; see Reclassifications › Team submissions."})
}

// reasonText explains an invalid submission's reason code.
func reasonText(code string) string {
	switch code {
	case "no_eml_attached":
		return "no EML file was attached"
	case "wrong_file_type":
		return "the file is not an email message (.eml)"
	case "unparseable", "unparseable_eml", "malformed_eml":
		return "the file could not be read as an email message"
	case "wrong_alias":
		return "it was sent to the wrong alias"
	case "no_such_message", "message_not_found":
		return "there is no such message"
	case "":
		return "invalid submission"
	}
	return strings.ReplaceAll(code, "_", " ")
}

// triage reviews or escalates a user submission.
func (s *Server) triage(q *req) {
	var b struct {
		Status      string `json:"status"`
		Disposition string `json:"disposition"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(q.w, q.r.Body, 1<<16)).Decode(&b); err != nil {
		writeJSONError(q.w, http.StatusBadRequest, "The request body must be JSON.")
		return
	}
	if b.Status != store.CustomerReviewed && b.Status != store.CustomerEscalated {
		writeJSONError(q.w, http.StatusBadRequest, "status must be reviewed or escalated")
		return
	}
	var disp string
	if b.Status == store.CustomerEscalated {
		d, ok := detect.ParseDisposition(b.Disposition)
		if !ok {
			writeJSONError(q.w, http.StatusBadRequest, "Choose the disposition to escalate with.")
			return
		}
		disp = string(d)
	}
	if s.Submitter == nil {
		writeJSONError(q.w, http.StatusServiceUnavailable, "Submissions are not available on this server yet.")
		return
	}
	id := q.r.PathValue("id")
	sub, err := s.Submitter.Triage(q.ctx(), q.p, id, b.Status, disp)
	if errors.Is(err, store.ErrNotFound) {
		writeJSONError(q.w, http.StatusNotFound, "No such user submission.")
		return
	}
	if err != nil {
		s.Log.Warn("web: triage", "id", id, "err", err)
		writeJSONError(q.w, http.StatusBadRequest, "Not done: "+shown(err)+".")
		return
	}
	s.audit(q, "submission.triage", id, map[string]any{"status": b.Status, "disposition": disp})
	writeJSON(q.w, http.StatusOK, map[string]any{"ok": true, "message": "Submission " + id + " " + b.Status + ".", "status": sub.CustomerStatus})
}

// shown is the text of an error the console may show: a userError's own words,
// otherwise a pointer to the log.
func shown(err error) string {
	var ue userError
	if errors.As(err, &ue) {
		return ue.msg
	}
	return "internal error (see the server log)"
}
