package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/mail"
	"strings"

	"github.com/mailwarden/mailwarden/internal/store"
	"github.com/mailwarden/mailwarden/internal/submission"
)

// Submission addresses (issue 6; not a Cloudflare route): the account's user
// report address and team address per disposition, which the SMTP listener
// takes instead of relaying. GET settings/report_addresses for anyone who may
// read; PATCH for admins, with an address per role to set or null (or "") to
// restore the role's default. Every change is in the audit log.

// ReportAddresses is an account's submission addresses; a role with neither
// an address of its own nor a default is null.
type ReportAddresses struct {
	Report         *string `json:"report"`
	TeamMalicious  *string `json:"team_malicious"`
	TeamSuspicious *string `json:"team_suspicious"`
	TeamSpoof      *string `json:"team_spoof"`
	TeamSpam       *string `json:"team_spam"`
	TeamBulk       *string `json:"team_bulk"`
	TeamClean      *string `json:"team_clean"`
	// Defaults lists the roles whose address is their default (ROLE@--hostname).
	Defaults []string `json:"defaults"`
}

func (r *ReportAddresses) field(role string) **string {
	switch role {
	case store.AddrReport:
		return &r.Report
	case store.AddrTeamMalicious:
		return &r.TeamMalicious
	case store.AddrTeamSuspicious:
		return &r.TeamSuspicious
	case store.AddrTeamSpoof:
		return &r.TeamSpoof
	case store.AddrTeamSpam:
		return &r.TeamSpam
	case store.AddrTeamBulk:
		return &r.TeamBulk
	case store.AddrTeamClean:
		return &r.TeamClean
	}
	return nil
}

const maxAddressLen = 254 // RFC 5321 path limit less the brackets

func (s *Server) reportAddressRoutes(mux *http.ServeMux) {
	path := Base + "/settings/report_addresses"
	s.handle(mux, "GET "+path, readRoles, s.getReportAddresses)
	s.handle(mux, "PATCH "+path, adminRoles, s.editReportAddresses)
}

func (s *Server) reportAddresses(ctx context.Context, accountID int64) (ReportAddresses, error) {
	addrs, defaults, err := s.Submissions.Addresses(ctx, accountID)
	if err != nil {
		return ReportAddresses{}, err
	}
	out := ReportAddresses{Defaults: []string{}}
	for _, role := range store.AddrRoles {
		if a, ok := addrs[role]; ok {
			*out.field(role) = &a
		}
		if defaults[role] {
			out.Defaults = append(out.Defaults, role)
		}
	}
	return out, nil
}

func (s *Server) getReportAddresses(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	out, err := s.reportAddresses(ctx, p.AccountID)
	if err != nil {
		return nil, nil, err
	}
	return out, nil, nil
}

// checkAddress validates and normalises one submission address.
func checkAddress(role, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || !strings.EqualFold(a.Address, v) || len(v) > maxAddressLen {
		return "", badField(role, "%s must be a plain address local@domain, got %q", role, v)
	}
	local, domain, _ := strings.Cut(strings.ToLower(a.Address), "@")
	domain = strings.TrimSuffix(domain, ".")
	if local == "" || !validDomain(domain, false) {
		return "", badField(role, "%s must be a plain address local@domain with a domain name, got %q", role, v)
	}
	return local + "@" + domain, nil
}

func (s *Server) editReportAddresses(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxSettingBody))
	if err != nil {
		return nil, nil, badField("body", "the body must be at most %d bytes", maxSettingBody)
	}
	var raw map[string]json.RawMessage
	if err := decodeStrict(body, &raw, ""); err != nil {
		return nil, nil, err
	}
	if len(raw) == 0 {
		return nil, nil, badField("body", "name at least one of %s", strings.Join(store.AddrRoles, ", "))
	}
	set := map[string]string{}
	for _, role := range sortedKeys(raw) {
		if (&ReportAddresses{}).field(role) == nil {
			return nil, nil, badField(role, "unknown field %q: the roles are %s", role, strings.Join(store.AddrRoles, ", "))
		}
		var v *string
		if err := json.Unmarshal(raw[role], &v); err != nil {
			return nil, nil, badField(role, "%s must be an address string or null", role)
		}
		addr := ""
		if v != nil {
			if addr, err = checkAddress(role, *v); err != nil {
				return nil, nil, err
			}
		}
		set[role] = addr
	}
	before, err := s.reportAddresses(ctx, p.AccountID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Submissions.SetAddresses(ctx, p.AccountID, set); err != nil {
		var ae *submission.AddressError
		if !errors.As(err, &ae) {
			return nil, nil, err
		}
		switch {
		case errors.Is(err, submission.ErrAddressTaken):
			// 409: the address routes to another account, and may route to one only.
			return nil, nil, &apiError{status: http.StatusConflict, msgs: []Message{{Code: CodeBadRequest,
				Message: ae.Role + ": " + ae.Address + " is already another account's submission address", Source: &Source{Pointer: ae.Role}}}}
		case errors.Is(err, submission.ErrAddressDup):
			return nil, nil, badField(ae.Role, "%s: %s is already this account's address for another role", ae.Role, ae.Address)
		default:
			return nil, nil, badField(ae.Role, "unknown role %q", ae.Role)
		}
	}
	after, err := s.reportAddresses(ctx, p.AccountID)
	if err != nil {
		return nil, nil, err
	}
	detail, _ := json.Marshal(map[string]any{"changed": set, "before": before, "after": after})
	if err := s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "settings.report_addresses.edit",
		Target: "report_addresses", Detail: string(detail)}); err != nil {
		return nil, nil, err
	}
	return after, nil, nil
}

func sortedKeys(m map[string]json.RawMessage) []string {
	var out []string
	for _, role := range store.AddrRoles {
		if _, ok := m[role]; ok {
			out = append(out, role)
		}
	}
	for k := range m {
		if (&ReportAddresses{}).field(k) == nil {
			out = append(out, k)
		}
	}
	return out
}
