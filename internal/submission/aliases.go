package submission

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/mailwarden/mailwarden/internal/auth"
	"github.com/mailwarden/mailwarden/internal/detect"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/pipeline"
	"github.com/mailwarden/mailwarden/internal/store"
)

// Mail channels: each account has a user report address and one team address
// per disposition (store.AddrRoles), taken by the SMTP listener and never
// relayed. An account sets them with SetAddresses (the API's
// settings/report_addresses); a role it has not set uses its default at
// Service.Hostname: report@HOST, team-malicious@HOST, team-suspicious@HOST,
// team-spoof@HOST, team-spam@HOST, team-bulk@HOST, team-clean@HOST (NONE). An
// address routes to exactly one account, so the defaults belong to one
// account, Service.DefaultAccount (serve's first account; 0: whichever
// account the listener files the mail under). Any other address at HOST
// becomes an invalid submission (unknown_alias) of the listener's account.
// The original must be attached as message/rfc822 or as an .eml file.
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

// Alias names the submission a default alias local part asks for: type TEAM or
// USER and the disposition; ok false for an unknown alias.
func Alias(local string) (typ string, d detect.Disposition, ok bool) {
	local = strings.ToLower(local)
	if local == AliasReport {
		return RoleSubmission(store.AddrReport)
	}
	name, found := strings.CutPrefix(local, teamPrefix)
	if !found || name == "" || strings.EqualFold(name, "none") {
		return "", "", false
	}
	return RoleSubmission("team_" + name)
}

// RoleSubmission names the submission mail to an address of this role asks
// for: type TEAM or USER and the disposition; ok false for an unknown role.
func RoleSubmission(role string) (typ string, d detect.Disposition, ok bool) {
	switch role {
	case store.AddrReport:
		// A user report says the message is bad; the team decides what it is.
		return store.SubmissionUser, detect.Malicious, true
	case store.AddrTeamClean:
		return store.SubmissionTeam, detect.None, true
	}
	name, found := strings.CutPrefix(role, "team_")
	if !found || name == "clean" || name == "none" {
		return "", "", false
	}
	if d, ok := detect.ParseDisposition(name); ok {
		return store.SubmissionTeam, d, true
	}
	return "", "", false
}

// DefaultAddress is a role's default address at host: report@host,
// team-spam@host, team-clean@host, ...
func DefaultAddress(role, host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if role == store.AddrReport {
		return AliasReport + "@" + host
	}
	return teamPrefix + strings.ReplaceAll(strings.TrimPrefix(role, "team_"), "_", "-") + "@" + host
}

func splitAddr(a string) (local, domain string) {
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return a, ""
	}
	return a[:i], strings.ToLower(a[i+1:])
}

// normAddr is the form addresses are compared in: lower case, no trailing dot.
func normAddr(a string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a), "."))
}

// route is where mail to one submission address goes.
type route struct {
	account int64 // 0: the listener's account
	role    string
}

// routes caches every account's submission addresses, reloaded when the
// store's ReportAddressesVersion moves (a change on any node), as the policy
// cache does with the settings version.
type routes struct {
	mu      sync.Mutex
	loaded  bool
	version int64
	host    string
	def     int64
	byAddr  map[string]route
}

// table returns the current routing table, reloading it if the addresses changed.
func (s *Service) table(ctx context.Context) (map[string]route, error) {
	v, err := s.Store.ReportAddressesVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("submission: addresses version: %w", err)
	}
	r := &s.routes
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded && r.version == v && r.host == s.Hostname && r.def == s.DefaultAccount {
		return r.byAddr, nil
	}
	configured, err := s.Store.ReportAddresses(ctx, 0)
	if err != nil {
		return nil, fmt.Errorf("submission: addresses: %w", err)
	}
	t := buildRoutes(configured, s.Hostname, s.DefaultAccount)
	r.byAddr, r.version, r.host, r.def, r.loaded = t, v, s.Hostname, s.DefaultAccount, true
	return t, nil
}

// buildRoutes makes the table: every configured address, then the defaults
// of the roles the default account has not set (an address someone
// configured keeps its route).
func buildRoutes(configured []store.ReportAddress, host string, def int64) map[string]route {
	t := map[string]route{}
	set := map[string]bool{}
	for _, a := range configured {
		t[normAddr(a.Address)] = route{account: a.AccountID, role: a.Role}
		if a.AccountID == def {
			set[a.Role] = true
		}
	}
	if host == "" {
		return t
	}
	for _, role := range store.AddrRoles {
		if set[role] {
			continue
		}
		if addr := DefaultAddress(role, host); t[addr] == (route{}) {
			t[addr] = route{account: def, role: role}
		}
	}
	return t
}

// Split separates the recipients the submission channels take (a submission
// address of some account, or any address at our host name) from the others
// (smtpd.AliasHandler).
func (s *Service) Split(ctx context.Context, rcpts []string) (ours, others []string, err error) {
	t, err := s.table(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rcpts {
		if s.ours(t, r) {
			ours = append(ours, r)
		} else {
			others = append(others, r)
		}
	}
	return ours, others, nil
}

func (s *Service) ours(t map[string]route, rcpt string) bool {
	if _, ok := t[normAddr(rcpt)]; ok {
		return true
	}
	_, domain := splitAddr(rcpt)
	return s.Hostname != "" && strings.EqualFold(strings.TrimSuffix(domain, "."), strings.TrimSuffix(s.Hostname, "."))
}

// Ours reports whether mail to rcpt is for the submission channels.
func (s *Service) Ours(ctx context.Context, rcpt string) (bool, error) {
	ours, _, err := s.Split(ctx, []string{rcpt})
	return len(ours) == 1, err
}

// Addresses returns an account's effective submission addresses by role (a
// role with none is left out) and which of them are defaults.
func (s *Service) Addresses(ctx context.Context, accountID int64) (map[string]string, map[string]bool, error) {
	configured, err := s.Store.ReportAddresses(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	out, isDefault := map[string]string{}, map[string]bool{}
	for _, a := range configured {
		out[a.Role] = a.Address
	}
	if s.Hostname == "" || (s.DefaultAccount != 0 && s.DefaultAccount != accountID) {
		return out, isDefault, nil
	}
	t, err := s.table(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, role := range store.AddrRoles {
		if _, ok := out[role]; ok {
			continue
		}
		addr := DefaultAddress(role, s.Hostname)
		if rt, ok := t[addr]; ok && rt.role == role && (rt.account == accountID || rt.account == 0) {
			out[role], isDefault[role] = addr, true
		}
	}
	return out, isDefault, nil
}

// Errors of SetAddresses.
var (
	ErrAddressTaken = errors.New("submission: the address is another account's submission address")
	ErrAddressDup   = errors.New("submission: two roles would share one address")
	ErrAddressRole  = errors.New("submission: unknown address role")
)

// AddressError names the role whose address was refused.
type AddressError struct {
	Role    string
	Address string
	Err     error
}

func (e *AddressError) Error() string { return fmt.Sprintf("%s %s: %v", e.Role, e.Address, e.Err) }
func (e *AddressError) Unwrap() error { return e.Err }

// SetAddresses changes an account's submission addresses by role ("" restores
// the role's default). Addresses must be valid already (lower case
// local@domain). An address another account routes (configured, or one of
// the default account's defaults) is ErrAddressTaken; two roles of the account
// ending up with one address is ErrAddressDup; both in an *AddressError.
func (s *Service) SetAddresses(ctx context.Context, accountID int64, byRole map[string]string) error {
	for role := range byRole {
		if _, _, ok := RoleSubmission(role); !ok {
			return &AddressError{Role: role, Err: ErrAddressRole}
		}
	}
	t, err := s.table(ctx)
	if err != nil {
		return err
	}
	cur, _, err := s.Addresses(ctx, accountID)
	if err != nil {
		return err
	}
	// The account's addresses after the change, defaults included.
	after := map[string]string{}
	for role, a := range cur {
		after[role] = a
	}
	for role, a := range byRole {
		a = normAddr(a)
		if a == "" {
			delete(after, role)
			if s.Hostname != "" && (s.DefaultAccount == 0 || s.DefaultAccount == accountID) {
				after[role] = DefaultAddress(role, s.Hostname)
			}
			continue
		}
		after[role] = a
		if rt, ok := t[a]; ok && rt.account != accountID && !(rt.account == 0 && (s.DefaultAccount == 0 || s.DefaultAccount == accountID)) {
			return &AddressError{Role: role, Address: a, Err: ErrAddressTaken}
		}
	}
	seen := map[string]string{}
	for _, role := range store.AddrRoles {
		a, ok := after[role]
		if !ok {
			continue
		}
		if other, dup := seen[a]; dup {
			r := role
			if _, changed := byRole[role]; !changed {
				r = other
			}
			return &AddressError{Role: r, Address: a, Err: ErrAddressDup}
		}
		seen[a] = role
	}
	set := map[string]string{}
	for role, a := range byRole {
		set[role] = normAddr(a)
	}
	if err := s.Store.SetReportAddresses(ctx, accountID, set); errors.Is(err, store.ErrConflict) {
		return &AddressError{Role: firstRole(set), Err: ErrAddressTaken}
	} else if err != nil {
		return err
	}
	return nil
}

func firstRole(m map[string]string) string {
	for _, role := range store.AddrRoles {
		if _, ok := m[role]; ok {
			return role
		}
	}
	return ""
}

// Take turns one message to submission addresses into submissions of the
// accounts the addresses route to; an address at our host that is none is an
// invalid submission of acct, the listener's account. A nil error means they
// are recorded durably (the SMTP reply may be 250).
func (s *Service) Take(ctx context.Context, acct store.Account, env pipeline.Envelope, raw []byte) error {
	t, err := s.table(ctx)
	if err != nil {
		return err
	}
	type target struct {
		acct  store.Account
		rcpts []string
	}
	var targets []*target
	byAcct := map[int64]*target{}
	for _, rcpt := range env.Recipients {
		id := acct.ID
		if rt, ok := t[normAddr(rcpt)]; ok && rt.account != 0 {
			id = rt.account
		}
		tg := byAcct[id]
		if tg == nil {
			a := acct
			if id != acct.ID {
				if a, err = s.Store.Account(ctx, id); err != nil {
					return fmt.Errorf("submission: account %d: %w", id, err)
				}
			}
			tg = &target{acct: a}
			byAcct[id] = tg
			targets = append(targets, tg)
		}
		tg.rcpts = append(tg.rcpts, rcpt)
	}
	for _, tg := range targets {
		e := env
		e.Recipients = tg.rcpts
		if err := s.take(ctx, t, tg.acct, e, raw); err != nil {
			return err
		}
	}
	return nil
}

// take files the message for recipients of one account.
func (s *Service) take(ctx context.Context, t map[string]route, acct store.Account, env pipeline.Envelope, raw []byte) error {
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
		addr := normAddr(rcpt)
		if seen[addr] {
			continue
		}
		seen[addr] = true
		var typ string
		var d detect.Disposition
		ok := false
		if rt, found := t[addr]; found && (rt.account == acct.ID || rt.account == 0) {
			typ, d, ok = RoleSubmission(rt.role)
		}
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
