package submission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// errNoMailer is returned when outcome mail cannot be sent at all.
var errNoMailer = errors.New("submission: no relay for outcome mail")

// notify sends the outcome of a submission to its submitter. The envelope sender
// is null (RFC 3834 section 3.3: automatic responses must not cause replies).
func (s *Service) notify(ctx context.Context, sub store.Submission) error {
	if sub.NotifyAddr == "" {
		return nil
	}
	if s.Mailer == nil {
		return errNoMailer
	}
	return s.Mailer.SendMail(ctx, "", []string{sub.NotifyAddr}, s.OutcomeMail(sub))
}

// OutcomeMail is the notice a submitter receives (RFC 5322, auto-replied per RFC 3834).
func (s *Service) OutcomeMail(sub store.Submission) []byte {
	host := s.Hostname
	if host == "" {
		host = "localhost"
	}
	var subject, body string
	switch sub.Type {
	case store.SubmissionInvalid:
		subject = "Your submission could not be processed: " + sub.Reason
		body = fmt.Sprintf("Your submission could not be processed.\n\nReason: %s (%s)\n", sub.Reason, reasonText[sub.Reason])
		if sub.Reason != ReasonUnknownAlias && sub.Reason != ReasonNotTeam {
			body += "\nTo report a message, forward it as an attachment (message/rfc822, or an .eml file) to report@" + host + ".\n"
		} else {
			body += "\nReports go to report@" + host + ", with the original message attached.\n"
		}
	case store.SubmissionUser:
		subject = "Your report was reviewed: " + sub.OutcomeCode
		body = fmt.Sprintf("Thank you for your report of %q.\n\nOutcome: %s\n", sub.Subject, sub.Outcome)
	default:
		subject = fmt.Sprintf("Submission %s: %s", sub.ID, sub.OutcomeCode)
		body = fmt.Sprintf("Your reclassification request for %q (message %s) was processed.\n\n"+
			"Requested:   %s\nOriginal:    %s\nOutcome:     %s\n\n%s\n",
			sub.Subject, sub.MessageID, label(sub.RequestedDisposition), label(sub.OriginalDisposition), label(sub.OutcomeDisposition), sub.Outcome)
	}
	body += fmt.Sprintf("\nSubmission: %s\nOutcome code: %s\n-- \nmailwarden at %s\n", sub.ID, sub.OutcomeCode, host)
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", "mailwarden <mailwarden@"+host+">")
	h("To", "<"+strings.NewReplacer("\r", "", "\n", "", "<", "", ">", "").Replace(sub.NotifyAddr)+">")
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", s.now().UTC().Format(time.RFC1123Z))
	h("Message-ID", "<"+pipeline.NewID()+"."+sub.ID+"@"+host+">")
	h("Auto-Submitted", "auto-replied")
	h("X-Mailwarden-Submission", sub.ID)
	h("X-Mailwarden-Outcome", sub.OutcomeCode)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}
