package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/netip"
	neturl "net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mailwarden/mailwarden/internal/store"
)

// Settings routes: Cloudflare's settings/{allow_policies, block_senders,
// trusted_domains, impersonation_registry, domains} with list, get, create
// (POST), edit (PATCH) and delete. Anyone who may read may list; only admins
// write, and every write is in the audit log.

const (
	maxSettingBody = 1 << 20
	maxPatternLen  = 1024
	maxCommentLen  = 4096
	maxBatch       = 1000 // entries in one array body (trusted_domains)
)

// SettingsRoutes registers the settings routes on mux.
func (s *Server) SettingsRoutes(mux *http.ServeMux) {
	st := s.Store
	registerSetting(s, mux, &settingKind[AllowPolicy, store.AllowPolicy, *store.AllowPolicy]{
		name: store.KindAllowPolicies, meta: func(a *AllowPolicy) *SettingMeta { return &a.SettingMeta },
		orders: []string{"pattern", "created_at", "last_modified"}, patternFilters: true,
		bools: []string{"is_acceptable_sender", "is_exempt_recipient", "is_recipient", "is_sender", "is_spoof", "is_trusted_sender", "verify_sender", "is_regex"},
		toAPI: allowToAPI, apply: allowFromAPI, check: checkAllow,
		list: st.AllowPolicies, get: st.AllowPolicy, create: st.CreateAllowPolicy, update: st.UpdateAllowPolicy, del: st.DeleteAllowPolicy,
	})
	registerSetting(s, mux, &settingKind[BlockSender, store.BlockSender, *store.BlockSender]{
		name: store.KindBlockSenders, meta: func(a *BlockSender) *SettingMeta { return &a.SettingMeta },
		orders: []string{"pattern", "created_at", "last_modified"}, patternFilters: true, bools: []string{"is_regex"},
		toAPI: blockToAPI, apply: blockFromAPI, check: checkBlock,
		list: st.BlockSenders, get: st.BlockSender, create: st.CreateBlockSender, update: st.UpdateBlockSender, del: st.DeleteBlockSender,
	})
	registerSetting(s, mux, &settingKind[TrustedDomain, store.TrustedDomain, *store.TrustedDomain]{
		name: store.KindTrustedDomains, meta: func(a *TrustedDomain) *SettingMeta { return &a.SettingMeta },
		orders: []string{"pattern", "created_at", "last_modified"}, bools: []string{"is_recent", "is_similarity", "is_regex"},
		extra: map[string]func(string, *store.SettingsQuery) error{
			"pattern": func(v string, q *store.SettingsQuery) error { q.Pattern = v; return nil },
		},
		batch: true, toAPI: trustedToAPI, apply: trustedFromAPI, check: checkTrusted,
		list: st.TrustedDomains, get: st.TrustedDomain, create: st.CreateTrustedDomain, update: st.UpdateTrustedDomain, del: st.DeleteTrustedDomain,
	})
	registerSetting(s, mux, &settingKind[ImpersonationEntry, store.ImpersonationEntry, *store.ImpersonationEntry]{
		name: store.KindImpersonationRegistry, meta: func(a *ImpersonationEntry) *SettingMeta { return &a.SettingMeta },
		orders: []string{"name", "email", "created_at", "last_modified"}, bools: []string{"is_email_regex"},
		extra: map[string]func(string, *store.SettingsQuery) error{
			"provenance": func(v string, q *store.SettingsQuery) error { q.Provenance = v; return nil },
			"email":      func(v string, q *store.SettingsQuery) error { q.Pattern = v; return nil },
		},
		toAPI: registryToAPI, apply: registryFromAPI, check: checkRegistry,
		list: st.ImpersonationRegistry, get: st.ImpersonationEntry, create: st.CreateImpersonationEntry, update: st.UpdateImpersonationEntry, del: st.DeleteImpersonationEntry,
	})
	registerSetting(s, mux, &settingKind[ProtectedDomain, store.ProtectedDomain, *store.ProtectedDomain]{
		name: store.KindDomains, meta: func(a *ProtectedDomain) *SettingMeta { return &a.SettingMeta },
		orders: []string{"domain", "created_at", "last_modified"}, bools: []string{"require_tls_inbound", "require_tls_outbound"},
		multi: map[string]func([]string, *store.SettingsQuery) error{
			"domain": func(v []string, q *store.SettingsQuery) error {
				for _, d := range v {
					q.Domains = append(q.Domains, strings.ToLower(strings.TrimSuffix(d, ".")))
				}
				return nil
			},
		},
		toAPI: domainToAPI, apply: domainFromAPI, check: checkDomain,
		list: st.ProtectedDomains, get: st.ProtectedDomain, create: st.CreateProtectedDomain, update: st.UpdateProtectedDomain, del: st.DeleteProtectedDomain,
	})
}

// settingKind binds one settings collection: its API type A, its store type S,
// conversions, validation and store methods.
type settingKind[A any, S any, PS interface {
	*S
	Base() *store.SettingBase
}] struct {
	name           string
	meta           func(*A) *SettingMeta
	orders         []string                                              // order values
	bools          []string                                              // boolean list filters
	patternFilters bool                                                  // pattern and pattern_type list filters
	extra          map[string]func(string, *store.SettingsQuery) error   // further list filters
	multi          map[string]func([]string, *store.SettingsQuery) error // repeated list filters
	batch          bool                                                  // POST also takes an array
	toAPI          func(S) A                                             //
	apply          func(*A, PS)                                          // copies A's kind fields into S (after check)
	check          func(a *A, create bool, at string) error              // validates and normalises A
	list           func(context.Context, int64, store.SettingsQuery) ([]S, int, error)
	get            func(context.Context, int64, int64) (S, error)
	create         func(context.Context, PS) error
	update         func(context.Context, PS) error
	del            func(context.Context, int64, int64) error
}

func registerSetting[A any, S any, PS interface {
	*S
	Base() *store.SettingBase
}](s *Server, mux *http.ServeMux, k *settingKind[A, S, PS]) {
	path := Base + "/settings/" + k.name
	s.handle(mux, "GET "+path, readRoles, k.listHandler)
	s.handle(mux, "POST "+path, adminRoles, k.createHandler(s))
	s.handle(mux, "GET "+path+"/{id}", readRoles, k.getHandler)
	s.handle(mux, "PATCH "+path+"/{id}", adminRoles, k.editHandler(s))
	s.handle(mux, "DELETE "+path+"/{id}", adminRoles, k.deleteHandler(s))
}

func (k *settingKind[A, S, PS]) listHandler(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	v := r.URL.Query()
	q, page, perPage, err := k.query(v)
	if err != nil {
		return nil, nil, err
	}
	entries, total, err := k.list(ctx, p.AccountID, q)
	if err != nil {
		return nil, nil, err
	}
	out := make([]A, 0, len(entries))
	for _, e := range entries {
		out = append(out, k.toAPI(e))
	}
	return out, &ResultInfo{Page: page, PerPage: perPage, Count: len(out), TotalCount: total}, nil
}

// query reads list parameters: page, per_page, order, direction, search, the
// kind's filters and our active=true (leave out expired entries).
func (k *settingKind[A, S, PS]) query(v neturl.Values) (q store.SettingsQuery, page, perPage int, err error) {
	known := map[string]bool{"page": true, "per_page": true, "order": true, "direction": true, "search": true, "active": true}
	if k.patternFilters {
		known["pattern"], known["pattern_type"] = true, true
	}
	for _, b := range k.bools {
		known[b] = true
	}
	for n := range k.extra {
		known[n] = true
	}
	for n := range k.multi {
		known[n] = true
	}
	for n := range v {
		if !known[n] {
			return q, 0, 0, badField(n, "unknown query parameter %q", n)
		}
	}
	if page, perPage, err = parsePaging(v); err != nil {
		return
	}
	q.Limit, q.Offset = perPage, (page-1)*perPage
	if o := v.Get("order"); o != "" {
		ok := false
		for _, x := range k.orders {
			ok = ok || x == o
		}
		if !ok {
			return q, 0, 0, badField("order", "order must be one of %s; got %q", strings.Join(k.orders, ", "), o)
		}
		q.Order = o
	}
	switch d := strings.ToLower(v.Get("direction")); d {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return q, 0, 0, badField("direction", "direction must be asc or desc; got %q", v.Get("direction"))
	}
	q.Search = strings.TrimSpace(v.Get("search"))
	if k.patternFilters {
		q.Pattern = strings.TrimSpace(v.Get("pattern"))
		if t := v.Get("pattern_type"); t != "" {
			if q.PatternType, err = checkPatternType(t, "pattern_type"); err != nil {
				return
			}
		}
	}
	for _, b := range k.bools {
		if v.Has(b) {
			val, err := parseBool(v, b)
			if err != nil {
				return q, 0, 0, err
			}
			if q.Flags == nil {
				q.Flags = map[string]bool{}
			}
			q.Flags[b] = val
		}
	}
	for n, f := range k.extra {
		if x := strings.TrimSpace(v.Get(n)); x != "" {
			if err = f(x, &q); err != nil {
				return
			}
		}
	}
	for n, f := range k.multi {
		if xs := v[n]; len(xs) > 0 {
			if err = f(xs, &q); err != nil {
				return
			}
		}
	}
	active, err := parseBool(v, "active")
	if err != nil {
		return
	}
	if active {
		q.ActiveAt = time.Now()
	}
	return q, page, perPage, nil
}

func settingID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badField("id", "id must be a positive integer; got %q", r.PathValue("id"))
	}
	return id, nil
}

func (k *settingKind[A, S, PS]) load(ctx context.Context, p store.Principal, r *http.Request) (S, error) {
	id, err := settingID(r)
	if err != nil {
		var zero S
		return zero, err
	}
	e, err := k.get(ctx, p.AccountID, id)
	if errors.Is(err, store.ErrNotFound) {
		return e, errNotFound
	}
	return e, err
}

func (k *settingKind[A, S, PS]) getHandler(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
	e, err := k.load(ctx, p, r)
	if err != nil {
		return nil, nil, err
	}
	return k.toAPI(e), nil, nil
}

func (k *settingKind[A, S, PS]) audit(ctx context.Context, s *Server, p store.Principal, op string, id int64, entry any) error {
	detail, _ := json.Marshal(entry)
	return s.Store.Audit(ctx, store.AuditEntry{AccountID: p.AccountID, Actor: p.Name, Action: "settings." + k.name + "." + op,
		Target: strconv.FormatInt(id, 10), Detail: string(detail)})
}

// conflict answers a duplicate: 400, never 409 (the SDK retries 409 ten times).
func (k *settingKind[A, S, PS]) conflict(at string) error {
	field := "pattern"
	switch k.name {
	case store.KindImpersonationRegistry:
		field = "email"
	case store.KindDomains:
		field = "domain"
	}
	return badField(at+field, "an entry with this %s is already in %s", field, k.name)
}

func (k *settingKind[A, S, PS]) newEntry(a *A, accountID int64) S {
	var e S
	b := PS(&e).Base()
	b.AccountID = accountID
	k.meta(a).applyTo(b)
	k.apply(a, &e)
	return e
}

func (k *settingKind[A, S, PS]) createHandler(s *Server) handler {
	return func(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxSettingBody))
		if err != nil {
			return nil, nil, badField("body", "the body must be at most %d bytes", maxSettingBody)
		}
		trimmed := strings.TrimLeft(string(body), " \t\r\n")
		if k.batch && strings.HasPrefix(trimmed, "[") {
			return k.createBatch(ctx, s, p, body)
		}
		var a A
		if err := decodeStrict(body, &a, ""); err != nil {
			return nil, nil, err
		}
		if err := k.check(&a, true, ""); err != nil {
			return nil, nil, err
		}
		e := k.newEntry(&a, p.AccountID)
		if err := k.create(ctx, &e); errors.Is(err, store.ErrConflict) {
			return nil, nil, k.conflict("")
		} else if err != nil {
			return nil, nil, err
		}
		out := k.toAPI(e)
		if err := k.audit(ctx, s, p, "create", PS(&e).Base().ID, out); err != nil {
			return nil, nil, err
		}
		return out, nil, nil
	}
}

// createBatch creates every entry of an array body, or none.
func (k *settingKind[A, S, PS]) createBatch(ctx context.Context, s *Server, p store.Principal, body []byte) (any, *ResultInfo, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, nil, jsonError(err, "")
	}
	if len(raws) == 0 || len(raws) > maxBatch {
		return nil, nil, badField("body", "give from 1 to %d entries", maxBatch)
	}
	items := make([]A, len(raws))
	for i, raw := range raws {
		at := fmt.Sprintf("/%d/", i)
		if err := decodeStrict(raw, &items[i], at); err != nil {
			return nil, nil, err
		}
		if err := k.check(&items[i], true, at); err != nil {
			return nil, nil, err
		}
	}
	var created []S
	undo := func() {
		for _, e := range created {
			k.del(context.WithoutCancel(ctx), p.AccountID, PS(&e).Base().ID)
		}
	}
	for i := range items {
		e := k.newEntry(&items[i], p.AccountID)
		if err := k.create(ctx, &e); err != nil {
			undo()
			if errors.Is(err, store.ErrConflict) {
				return nil, nil, k.conflict(fmt.Sprintf("/%d/", i))
			}
			return nil, nil, err
		}
		created = append(created, e)
	}
	out := make([]A, 0, len(created))
	for _, e := range created {
		a := k.toAPI(e)
		if err := k.audit(ctx, s, p, "create", PS(&e).Base().ID, a); err != nil {
			return nil, nil, err
		}
		out = append(out, a)
	}
	return out, nil, nil
}

func (k *settingKind[A, S, PS]) editHandler(s *Server) handler {
	return func(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
		e, err := k.load(ctx, p, r)
		if err != nil {
			return nil, nil, err
		}
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxSettingBody))
		if err != nil {
			return nil, nil, badField("body", "the body must be at most %d bytes", maxSettingBody)
		}
		before := k.toAPI(e)
		// Decoding onto the current entry changes only the fields sent.
		a := k.toAPI(e)
		if err := decodeStrict(body, &a, ""); err != nil {
			return nil, nil, err
		}
		if err := k.check(&a, false, ""); err != nil {
			return nil, nil, err
		}
		k.meta(&a).applyTo(PS(&e).Base())
		k.apply(&a, &e)
		if err := k.update(ctx, &e); errors.Is(err, store.ErrConflict) {
			return nil, nil, k.conflict("")
		} else if errors.Is(err, store.ErrNotFound) {
			return nil, nil, errNotFound
		} else if err != nil {
			return nil, nil, err
		}
		out := k.toAPI(e)
		if err := k.audit(ctx, s, p, "edit", PS(&e).Base().ID, map[string]any{"before": before, "after": out}); err != nil {
			return nil, nil, err
		}
		return out, nil, nil
	}
}

func (k *settingKind[A, S, PS]) deleteHandler(s *Server) handler {
	return func(ctx context.Context, p store.Principal, r *http.Request) (any, *ResultInfo, error) {
		e, err := k.load(ctx, p, r)
		if err != nil {
			return nil, nil, err
		}
		id := PS(&e).Base().ID
		if err := k.del(ctx, p.AccountID, id); errors.Is(err, store.ErrNotFound) {
			return nil, nil, errNotFound
		} else if err != nil {
			return nil, nil, err
		}
		if err := k.audit(ctx, s, p, "delete", id, k.toAPI(e)); err != nil {
			return nil, nil, err
		}
		return DeletedSetting{ID: id}, nil, nil
	}
}

// decodeStrict decodes one JSON value onto v, refusing unknown fields; errors
// name the field, prefixed with at.
func decodeStrict(body []byte, v any, at string) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, at)
	}
	if dec.More() {
		return badField(strings.TrimSuffix(at, "/")+"body", "unexpected data after the JSON value")
	}
	return nil
}

func jsonError(err error, at string) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	whole := "body"
	if at != "" {
		whole = strings.TrimSuffix(at, "/")
	}
	switch {
	case errors.Is(err, io.EOF):
		return badField(whole, "the body must be a JSON object")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return badField(whole, "the body is not valid JSON: %v", err)
	case errors.As(err, &te):
		if te.Field == "" {
			return badField(whole, "the body must be a JSON object, not %s", te.Value)
		}
		return badField(at+te.Field, "%s must be a JSON %s, not %s", te.Field, jsonKind(te.Type), te.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return badField(at+name, "unknown field %q", name)
	}
	return badField(whole, "the body is not valid JSON: %v", err)
}

func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "integer"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

// Conversions.

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func metaOf(b store.SettingBase) SettingMeta {
	return SettingMeta{ID: b.ID, CreatedAt: rfc3339(b.CreatedAt), LastModified: rfc3339(b.LastModified), Comments: strp(b.Comments), ExpiresAt: timep(b.ExpiresAt)}
}

// applyTo copies the writable common fields (validated by check) into b.
func (m *SettingMeta) applyTo(b *store.SettingBase) {
	b.Comments = ""
	if m.Comments != nil {
		b.Comments = *m.Comments
	}
	b.ExpiresAt = time.Time{}
	if m.ExpiresAt != nil {
		b.ExpiresAt, _ = time.Parse(time.RFC3339, *m.ExpiresAt)
	}
}

func (m *SettingMeta) check(create bool, at string) error {
	if m.Comments != nil {
		if c := strings.TrimSpace(*m.Comments); c == "" {
			m.Comments = nil
		} else if len(c) > maxCommentLen {
			return badField(at+"comments", "comments must be at most %d bytes", maxCommentLen)
		} else {
			m.Comments = &c
		}
	}
	if m.ExpiresAt != nil {
		t, err := time.Parse(time.RFC3339, *m.ExpiresAt)
		if err != nil {
			return badField(at+"expires_at", "expires_at must be an RFC 3339 time or null, got %q", *m.ExpiresAt)
		}
		if create && !t.After(time.Now()) {
			return badField(at+"expires_at", "expires_at is in the past")
		}
		s := rfc3339(t)
		m.ExpiresAt = &s
	}
	return nil
}

func allowToAPI(e store.AllowPolicy) AllowPolicy {
	return AllowPolicy{SettingMeta: metaOf(e.SettingBase), Pattern: e.Pattern, PatternType: e.PatternType, IsRegex: e.IsRegex,
		IsAcceptableSender: e.IsAcceptableSender, IsTrustedSender: e.IsTrustedSender, IsExemptRecipient: e.IsExemptRecipient,
		VerifySender: e.VerifySender, IsRecipient: e.IsRecipient, IsSender: e.IsSender, IsSpoof: e.IsSpoof}
}

func allowFromAPI(a *AllowPolicy, e *store.AllowPolicy) {
	e.Pattern, e.PatternType, e.IsRegex = a.Pattern, a.PatternType, a.IsRegex
	e.IsAcceptableSender, e.IsTrustedSender, e.IsExemptRecipient, e.VerifySender = a.IsAcceptableSender, a.IsTrustedSender, a.IsExemptRecipient, a.VerifySender
	e.IsRecipient, e.IsSender, e.IsSpoof = a.IsRecipient, a.IsSender, a.IsSpoof
}

func checkAllow(a *AllowPolicy, create bool, at string) error {
	if err := a.SettingMeta.check(create, at); err != nil {
		return err
	}
	return checkPattern(&a.Pattern, &a.PatternType, a.IsRegex, at)
}

func blockToAPI(e store.BlockSender) BlockSender {
	return BlockSender{SettingMeta: metaOf(e.SettingBase), Pattern: e.Pattern, PatternType: e.PatternType, IsRegex: e.IsRegex}
}

func blockFromAPI(a *BlockSender, e *store.BlockSender) {
	e.Pattern, e.PatternType, e.IsRegex = a.Pattern, a.PatternType, a.IsRegex
}

func checkBlock(a *BlockSender, create bool, at string) error {
	if err := a.SettingMeta.check(create, at); err != nil {
		return err
	}
	return checkPattern(&a.Pattern, &a.PatternType, a.IsRegex, at)
}

func trustedToAPI(e store.TrustedDomain) TrustedDomain {
	return TrustedDomain{SettingMeta: metaOf(e.SettingBase), Pattern: e.Pattern, IsRegex: e.IsRegex, IsRecent: e.IsRecent, IsSimilarity: e.IsSimilarity}
}

func trustedFromAPI(a *TrustedDomain, e *store.TrustedDomain) {
	e.Pattern, e.IsRegex, e.IsRecent, e.IsSimilarity = a.Pattern, a.IsRegex, a.IsRecent, a.IsSimilarity
}

func checkTrusted(a *TrustedDomain, create bool, at string) error {
	if err := a.SettingMeta.check(create, at); err != nil {
		return err
	}
	typ := store.PatternDomain
	return checkPattern(&a.Pattern, &typ, a.IsRegex, at)
}

func registryToAPI(e store.ImpersonationEntry) ImpersonationEntry {
	a := ImpersonationEntry{SettingMeta: metaOf(e.SettingBase), Name: e.Name, Email: e.Email, IsEmailRegex: e.IsEmailRegex, Provenance: strp(e.Provenance)}
	if e.DirectoryID != 0 {
		id := e.DirectoryID
		a.DirectoryID = &id
	}
	return a
}

func registryFromAPI(a *ImpersonationEntry, e *store.ImpersonationEntry) {
	e.Name, e.Email, e.IsEmailRegex = a.Name, a.Email, a.IsEmailRegex
	e.DirectoryID, e.Provenance = 0, ""
	if a.DirectoryID != nil {
		e.DirectoryID = *a.DirectoryID
	}
	if a.Provenance != nil {
		e.Provenance = *a.Provenance
	}
}

func checkRegistry(a *ImpersonationEntry, create bool, at string) error {
	if err := a.SettingMeta.check(create, at); err != nil {
		return err
	}
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		return badField(at+"name", "name is required")
	}
	if len(a.Name) > 256 {
		return badField(at+"name", "name must be at most 256 bytes")
	}
	a.Email = strings.TrimSpace(a.Email)
	if a.Email == "" {
		return badField(at+"email", "email is required")
	}
	if a.IsEmailRegex {
		if _, err := regexp.Compile("(?i)" + a.Email); err != nil {
			return badField(at+"email", "email is not a valid regular expression: %v", err)
		}
	} else if !validEmail(a.Email) {
		return badField(at+"email", "email %q is not an e-mail address", a.Email)
	} else {
		a.Email = strings.ToLower(a.Email)
	}
	if a.DirectoryID != nil && *a.DirectoryID <= 0 {
		a.DirectoryID = nil
	}
	if a.Provenance != nil && len(*a.Provenance) > 64 {
		return badField(at+"provenance", "provenance must be at most 64 bytes")
	}
	return nil
}

func domainToAPI(e store.ProtectedDomain) ProtectedDomain {
	return ProtectedDomain{SettingMeta: metaOf(e.SettingBase), Domain: e.Domain, DropDispositions: nonNil(e.DropDispositions),
		Folder: strp(e.Folder), LookbackHops: e.LookbackHops, RequireTLSInbound: e.RequireTLSInbound, RequireTLSOutbound: e.RequireTLSOutbound,
		AllowedDeliveryModes: nonNil(e.AllowedDeliveryModes), IPRestrictions: nonNil(e.IPRestrictions), Regions: nonNil(e.Regions),
		Transport: e.Transport, Status: e.Status}
}

func domainFromAPI(a *ProtectedDomain, e *store.ProtectedDomain) {
	e.Domain, e.DropDispositions, e.LookbackHops = a.Domain, a.DropDispositions, a.LookbackHops
	e.Folder = ""
	if a.Folder != nil {
		e.Folder = *a.Folder
	}
	e.RequireTLSInbound, e.RequireTLSOutbound = a.RequireTLSInbound, a.RequireTLSOutbound
	e.AllowedDeliveryModes, e.IPRestrictions, e.Regions = a.AllowedDeliveryModes, a.IPRestrictions, a.Regions
	e.Transport, e.Status = a.Transport, a.Status
}

var (
	dropDispositions = []string{"MALICIOUS", "MALICIOUS-BEC", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "ENCRYPTED", "EXTERNAL", "UNKNOWN", "NONE"}
	deliveryModes    = []string{"DIRECT", "BCC", "JOURNAL", "API", "RETRO_SCAN"}
	regions          = []string{"GLOBAL", "AU", "DE", "IN", "US"}
)

// enumList upper-cases and checks every value of a list against allowed, dropping repeats.
func enumList(vs []string, allowed []string, field string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for i, v := range vs {
		u := strings.ToUpper(strings.TrimSpace(v))
		ok := false
		for _, a := range allowed {
			ok = ok || a == u
		}
		if !ok {
			return nil, badField(fmt.Sprintf("%s/%d", field, i), "%s must hold only %s; got %q", strings.TrimPrefix(field, "/"), strings.Join(allowed, ", "), v)
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out, nil
}

func checkDomain(a *ProtectedDomain, create bool, at string) error {
	if err := a.SettingMeta.check(create, at); err != nil {
		return err
	}
	a.Domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(a.Domain), "."))
	if a.Domain == "" {
		return badField(at+"domain", "domain is required")
	}
	if !validDomain(a.Domain, false) {
		return badField(at+"domain", "domain %q is not a domain name", a.Domain)
	}
	var err error
	if a.DropDispositions, err = enumList(a.DropDispositions, dropDispositions, at+"drop_dispositions"); err != nil {
		return err
	}
	if a.Folder != nil {
		switch strings.ToLower(*a.Folder) {
		case "":
			a.Folder = nil
		case "allitems":
			a.Folder = strp("AllItems")
		case "inbox":
			a.Folder = strp("Inbox")
		default:
			return badField(at+"folder", "folder must be AllItems, Inbox or null; got %q", *a.Folder)
		}
	}
	if a.LookbackHops == 0 && create {
		a.LookbackHops = 1
	}
	if a.LookbackHops < 1 || a.LookbackHops > 20 {
		return badField(at+"lookback_hops", "lookback_hops must be from 1 to 20; got %d", a.LookbackHops)
	}
	if create && len(a.AllowedDeliveryModes) == 0 {
		a.AllowedDeliveryModes = []string{"DIRECT"}
	}
	if a.AllowedDeliveryModes, err = enumList(a.AllowedDeliveryModes, deliveryModes, at+"allowed_delivery_modes"); err != nil {
		return err
	}
	if create && len(a.Regions) == 0 {
		a.Regions = []string{"GLOBAL"}
	}
	if a.Regions, err = enumList(a.Regions, regions, at+"regions"); err != nil {
		return err
	}
	ips := []string{}
	for i, ip := range a.IPRestrictions {
		ip = strings.TrimSpace(ip)
		if !validIPPattern(ip) {
			return badField(fmt.Sprintf("%sip_restrictions/%d", at, i), "ip_restrictions must hold IP addresses or CIDR prefixes; got %q", ip)
		}
		ips = append(ips, ip)
	}
	a.IPRestrictions = ips
	a.Transport = strings.TrimSpace(a.Transport)
	if len(a.Transport) > 255 {
		return badField(at+"transport", "transport must be at most 255 bytes")
	}
	a.Status = strings.TrimSpace(a.Status)
	if a.Status == "" {
		a.Status = "active"
	}
	if len(a.Status) > 32 {
		return badField(at+"status", "status must be at most 32 bytes")
	}
	a.IntegrationID = nil
	return nil
}

// Validation of patterns.

func checkPatternType(t, field string) (string, error) {
	u := strings.ToUpper(strings.TrimSpace(t))
	switch u {
	case store.PatternEmail, store.PatternDomain, store.PatternIP, store.PatternUnknown:
		return u, nil
	}
	return "", badField(field, "pattern_type must be one of EMAIL, DOMAIN, IP, UNKNOWN; got %q", t)
}

// checkPattern validates and normalises a pattern of the given type: a regex
// must compile; otherwise an EMAIL must be an address, a DOMAIN a domain name
// (a leading "*." allowed), an IP an address or CIDR prefix.
func checkPattern(pattern, typ *string, isRegex bool, at string) error {
	p := strings.TrimSpace(*pattern)
	if p == "" {
		return badField(at+"pattern", "pattern is required")
	}
	if len(p) > maxPatternLen {
		return badField(at+"pattern", "pattern must be at most %d bytes", maxPatternLen)
	}
	if *typ == "" {
		return badField(at+"pattern_type", "pattern_type is required: EMAIL, DOMAIN, IP or UNKNOWN")
	}
	t, err := checkPatternType(*typ, at+"pattern_type")
	if err != nil {
		return err
	}
	*typ = t
	if isRegex {
		if _, err := regexp.Compile("(?i)" + p); err != nil {
			return badField(at+"pattern", "pattern is not a valid regular expression: %v", err)
		}
		*pattern = p
		return nil
	}
	switch t {
	case store.PatternEmail:
		if !validEmail(p) {
			return badField(at+"pattern", "pattern %q is not an e-mail address (set is_regex for a regular expression)", p)
		}
		p = strings.ToLower(p)
	case store.PatternDomain:
		p = strings.ToLower(strings.TrimSuffix(p, "."))
		if !validDomain(p, true) {
			return badField(at+"pattern", "pattern %q is not a domain name (set is_regex for a regular expression)", p)
		}
	case store.PatternIP:
		if !validIPPattern(p) {
			return badField(at+"pattern", "pattern %q is not an IP address or CIDR prefix", p)
		}
	}
	*pattern = p
	return nil
}

func validIPPattern(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

// validEmail accepts a bare address local@domain (no display name, no quoted
// local part, no address literal).
func validEmail(s string) bool {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 || i > 64 || i == len(s)-1 || strings.ContainsAny(s, " \t<>\"(),;:[]\\") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.EqualFold(a.Address, s) {
		return false
	}
	return validDomain(strings.ToLower(s[i+1:]), false)
}

// validDomain accepts a domain name of at least two labels (letters of any
// script, digits, hyphens), optionally with a leading "*." when wildcard.
func validDomain(d string, wildcard bool) bool {
	if wildcard {
		d = strings.TrimPrefix(d, "*.")
	}
	if d == "" || len(d) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if r != '-' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0
}
