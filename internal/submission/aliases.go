package submission

import (
	"context"
	"errors"
	"strings"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Mail channels: every address at Service.Hostname is taken by the SMTP
// listener and never relayed. report@ is the user report address; team-X@ the
// team's address for disposition X (team-clean@ for NONE). Anything else at the
// host becomes an invalid submission (unknown_alias). The original must be
// attached as message/rfc822 or as an .eml file.
const (
	AliasReport = "report"
	teamPrefix  = "team-"
)

// ReasonTooLarge is the reason of an attached original over Limits.MaxUpload.
const ReasonTooLarge = "attachment_too_large"

func init() {
	reasonOutcome[ReasonTooLarge] = "invalid_too_large"
	reasonText[ReasonTooLarge] = "the attached message is larger than the upload limit"
}

// Alias names the submission an alias local part asks for: type TEAM or USER and
// the disposition; ok false for an unknown alias.
func Alias(local string) (typ string, d detect.Disposition, ok bool) {
	local = strings.ToLower(local)
	if local == AliasReport {
		// A user report says the message is bad; the team decides what it is.
		return store.SubmissionUser, detect.Malicious, true
	}
	name, found := strings.CutPrefix(local, teamPrefix)
	if !found {
		return "", "", false
	}
	if name == "clean" {
		return store.SubmissionTeam, detect.None, true
	}
	if d, ok := detect.ParseDisposition(name); ok && !strings.EqualFold(name, "none") {
		return store.SubmissionTeam, d, true
	}
	return "", "", false
}

func splitAddr(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], strings.ToLower(a[i+1:])
}

// Ours reports whether mail to rcpt is for the submission channels: any address
// at our host name.
func (s *Service) Ours(rcpt string) bool {
	_, domain := splitAddr(rcpt)
	return s.Hostname != "" && strings.EqualFold(strings.TrimSuffix(domain, "."), s.Hostname)
}

// Take turns one message to alias recipients into submissions. A nil error means
// they are recorded durably (the SMTP reply may be 250).
func (s *Service) Take(ctx context.Context, acct store.Account, env pipeline.Envelope, raw []byte) error {
	// Invalid reports count too: a flood of them must not become a flood of notices.
	lim := s.Limits.withDefaults()
	if n, err := s.Store.CountSubmissionsSince(ctx, acct.ID, s.now().Add(-lim.Window)); err != nil {
		return err
	} else if n >= lim.Rate {
		return ErrRateLimited
	}
	pm := message.Parse(raw, s.limits())
	reporter := strings.ToLower(env.MailFrom)
	if reporter == "" {
		reporter = strings.ToLower(pm.From.Addr)
	}
	// Never answer bounces or automatic mail (mail loops).
	notify := reporter
	if env.MailFrom == "" || autoSubmitted(pm) {
		notify = ""
	}
	seen := map[string]bool{}
	for _, rcpt := range env.Recipients {
		local, _ := splitAddr(rcpt)
		local = strings.ToLower(local)
		if seen[local] {
			continue
		}
		seen[local] = true
		typ, d, ok := Alias(local)
		if !ok {
			if _, err := s.Invalid(ctx, acct, store.ChannelMail, reporter, notify, pm.Subject, ReasonUnknownAlias); err != nil {
				return err
			}
			continue
		}
		requestedBy := reporter
		if typ == store.SubmissionTeam {
			p, ok, err := s.teamMember(ctx, acct, env, pm, raw)
			if err != nil {
				return err
			}
			if !ok {
				if _, err := s.Invalid(ctx, acct, store.ChannelMail, reporter, notify, pm.Subject, ReasonNotTeam); err != nil {
					return err
				}
				continue
			}
			requestedBy = p
		}
		eml, reason := FindOriginal(pm, s.limits())
		if reason == "" && int64(len(eml)) > s.Limits.withDefaults().MaxUpload {
			reason = ReasonTooLarge
		}
		if reason != "" {
			if _, err := s.Invalid(ctx, acct, store.ChannelMail, reporter, notify, pm.Subject, reason); err != nil {
				return err
			}
			continue
		}
		_, err := s.Submit(ctx, acct, Request{Type: typ, Channel: store.ChannelMail, RequestedBy: requestedBy, NotifyAddr: notify, EML: eml, Disposition: d})
		switch {
		case errors.Is(err, ErrUnparseable):
			_, err = s.Invalid(ctx, acct, store.ChannelMail, reporter, notify, pm.Subject, ReasonUnparseable)
		case errors.Is(err, ErrTooLarge):
			_, err = s.Invalid(ctx, acct, store.ChannelMail, reporter, notify, pm.Subject, ReasonTooLarge)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// FindOriginal returns the original a report carries: the first attachment of
// type message/rfc822 (or message/global) or named *.eml. Without one the reason
// is no_eml_attached (no attachment at all) or wrong_file_type; an original that
// is no mail message is unparseable_eml.
func FindOriginal(report *message.Message, lim message.Limits) ([]byte, string) {
	other := false
	for _, a := range report.Attachments {
		ct := strings.ToLower(a.ContentType)
		if ct == "message/rfc822" || ct == "message/global" || strings.HasSuffix(strings.ToLower(a.Name), ".eml") {
			if !Parseable(a.Data, lim) {
				return nil, ReasonUnparseable
			}
			return a.Data, ""
		}
		other = true
	}
	if other {
		return nil, ReasonWrongType
	}
	return nil, ReasonNoEML
}

// teamMember reports whether the report comes from the security team: its From
// address is the envelope sender and belongs to an admin or analyst of the
// account (a console user, or a token's recorded address), and the sender's
// domain does not fail DMARC. It returns the member's principal name.
func (s *Service) teamMember(ctx context.Context, acct store.Account, env pipeline.Envelope, pm *message.Message, raw []byte) (string, bool, error) {
	from := strings.ToLower(pm.From.Addr)
	if from == "" || !strings.EqualFold(from, env.MailFrom) {
		return "", false, nil
	}
	principal := ""
	if u, err := s.Store.UserByEmail(ctx, from); err == nil {
		if u.AccountID == acct.ID && !u.Disabled && (u.Role == store.RoleAdmin || u.Role == store.RoleAnalyst) {
			principal = u.Email
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return "", false, err
	}
	if principal == "" {
		p, role, err := s.Store.SubmissionContactByEmail(ctx, acct.ID, from)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
		if role != store.RoleAdmin && role != store.RoleAnalyst {
			return "", false, nil
		}
		principal = p
	}
	if s.Pipe != nil && s.Pipe.Auth != nil {
		a := s.Pipe.Auth.Check(ctx, auth.Input{ClientIP: env.ClientIP, Helo: env.Helo, MailFrom: env.MailFrom, Raw: raw, HeaderFrom: pm.From.Addr})
		if a.DMARC.Result == auth.ResultFail {
			s.log().Warn("submission: team alias mail fails DMARC", "from", from)
			return "", false, nil
		}
	}
	return principal, true, nil
}

func autoSubmitted(m *message.Message) bool {
	v := strings.ToLower(strings.TrimSpace(m.Header("Auto-Submitted")))
	if v != "" && v != "no" {
		return true
	}
	p := strings.ToLower(m.Header("Precedence"))
	return p == "bulk" || p == "junk" || p == "list"
}
