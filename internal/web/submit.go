package web

import (
	"context"
	"errors"
	"path/filepath"
	"strings"

	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// Submissions is the Submitter backed by internal/submission.
type Submissions struct {
	Service *submission.Service
	Store   store.Store
	Limits  message.Limits
}

var _ Submitter = Submissions{}

// userError is an error whose text the console may show as is.
type userError struct{ msg string }

func (e userError) Error() string { return e.msg }

func mapSubmitErr(err error) error {
	switch {
	case errors.Is(err, submission.ErrRateLimited):
		return userError{"too many submissions for now; try again later"}
	case errors.Is(err, submission.ErrNotFound):
		return userError{"no such message or submission"}
	case errors.Is(err, submission.ErrNotUser):
		return userError{"not a user submission"}
	case errors.Is(err, submission.ErrAlreadyTriage):
		return userError{"this user submission was already reviewed or escalated"}
	case errors.Is(err, submission.ErrTooLarge):
		return userError{"the file is too large"}
	}
	return err
}

// Reclassify files a team submission for a stored message.
func (s Submissions) Reclassify(ctx context.Context, p store.Principal, m store.Message, requested string) (store.Submission, error) {
	acct, err := s.Store.Account(ctx, p.AccountID)
	if err != nil {
		return store.Submission{}, err
	}
	d, _ := detect.ParseDisposition(requested)
	res, err := s.Service.Submit(ctx, acct, submission.Request{Type: store.SubmissionTeam, Channel: store.ChannelAPI,
		RequestedBy: p.Name, MessageID: m.ID, Disposition: d})
	return res.Submission, mapSubmitErr(err)
}

// Upload files an uploaded file: a message becomes a team submission; anything
// else an invalid submission with its reason.
func (s Submissions) Upload(ctx context.Context, p store.Principal, filename string, raw []byte, requested string) (store.Submission, error) {
	acct, err := s.Store.Account(ctx, p.AccountID)
	if err != nil {
		return store.Submission{}, err
	}
	name := filepath.Base(filename)
	ext := strings.ToLower(filepath.Ext(name))
	reason := ""
	switch {
	case len(raw) == 0:
		reason = submission.ReasonNoEML
	case ext != ".eml" && ext != "" && ext != ".txt":
		reason = submission.ReasonWrongType
	case !submission.Parseable(raw, s.Limits):
		reason = submission.ReasonUnparseable
	}
	if reason == "" {
		d, _ := detect.ParseDisposition(requested)
		res, err := s.Service.Submit(ctx, acct, submission.Request{Type: store.SubmissionTeam, Channel: store.ChannelUpload,
			RequestedBy: p.Name, EML: raw, Disposition: d})
		if !errors.Is(err, submission.ErrUnparseable) {
			return res.Submission, mapSubmitErr(err)
		}
		reason = submission.ReasonUnparseable
	}
	return s.Service.Invalid(ctx, acct, store.ChannelUpload, p.Name, "", name, reason)
}

// Triage reviews or escalates a user submission.
func (s Submissions) Triage(ctx context.Context, p store.Principal, id, status, disposition string) (store.Submission, error) {
	if status == store.CustomerReviewed {
		sub, err := s.Service.Review(ctx, p, id)
		return sub, mapSubmitErr(err)
	}
	acct, err := s.Store.Account(ctx, p.AccountID)
	if err != nil {
		return store.Submission{}, err
	}
	d, _ := detect.ParseDisposition(disposition)
	user, _, err := s.Service.Escalate(ctx, acct, p, id, d, nil)
	return user, mapSubmitErr(err)
}
