// Package web is mailwarden's console: server-rendered html/template pages
// (login, Investigation, message detail, Reclassifications, Overview, Settings)
// with embedded static assets and no front-end build. Pages are served under a
// strict Content-Security-Policy (no inline script, nothing remote), a message's
// HTML is shown only sanitised (sanitize.go) in a sandboxed frame, and every
// state-changing request carries the session's CSRF token and is audited.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mailwarden/mailwarden/internal/access"
	"github.com/mailwarden/mailwarden/internal/api"
	"github.com/mailwarden/mailwarden/internal/message"
	"github.com/mailwarden/mailwarden/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Security headers. PageCSP applies to every console page; PreviewCSP to the
// sanitised message preview, which is framed by the message page only.
const (
	PageCSP    = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
	PreviewCSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
)

// Submitter files reclassification requests; internal/submission provides it.
type Submitter interface {
	// Reclassify files a team submission asking that a stored message become
	// the requested disposition (an API value: MALICIOUS … NONE).
	Reclassify(ctx context.Context, p store.Principal, m store.Message, requested string) (store.Submission, error)
	// Upload files a submission for an uploaded EML file. A file that is not a
	// message is kept as an invalid submission and returned with its Reason set.
	Upload(ctx context.Context, p store.Principal, filename string, raw []byte, requested string) (store.Submission, error)
	// Triage sets a user submission's customer status (reviewed) or escalates
	// it to a team submission (escalated, with the disposition to request).
	Triage(ctx context.Context, p store.Principal, id, status, disposition string) (store.Submission, error)
}

// Server serves the console.
type Server struct {
	Store  store.Store
	Access *access.Manager
	// API releases messages (the same code path and logs as the JSON API).
	API *api.Server
	// Submitter files reclassifications; nil until internal/submission is wired.
	Submitter Submitter
	Log       *slog.Logger
	// Limits bound the parse of a message for its preview.
	Limits message.Limits
	// Now is the clock (tests may set it).
	Now func() time.Time

	once  sync.Once
	pages map[string]*template.Template
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

var pageNames = []string{"login", "investigation", "message", "reclassifications", "overview", "settings", "error"}

func (s *Server) load() {
	s.pages = map[string]*template.Template{}
	for _, n := range pageNames {
		t := template.New("layout.html").Funcs(funcs)
		t = template.Must(t.ParseFS(templateFS, "templates/layout.html", "templates/dialogs.html", "templates/"+n+".html"))
		s.pages[n] = t
	}
}

// Routes registers the console on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	s.once.Do(s.load)
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})))
	mux.Handle("GET /{$}", secure(http.RedirectHandler("/investigation", http.StatusSeeOther)))
	mux.Handle("GET /login", secure(http.HandlerFunc(s.loginPage)))
	mux.Handle("POST /login", secure(http.HandlerFunc(s.loginPost)))
	mux.Handle("POST /logout", s.action(nil, s.logout))

	mux.Handle("GET /investigation", s.page(nil, s.investigation))
	mux.Handle("GET /messages/{id}", s.page(nil, s.messagePage))
	mux.Handle("GET /messages/{id}/preview", s.authed(nil, s.preview))
	mux.Handle("GET /messages/{id}/raw", s.authed(nil, s.rawDownload))
	mux.Handle("GET /reclassifications", s.page(nil, s.reclassifications))
	mux.Handle("GET /overview", s.page(nil, s.overview))
	mux.Handle("GET /settings", s.page(nil, s.settings))

	writers := []string{store.RoleAdmin, store.RoleAnalyst}
	admins := []string{store.RoleAdmin}
	mux.Handle("GET /console/rows", s.authed(nil, s.rows))
	mux.Handle("POST /console/reclassify", s.action(writers, s.reclassify))
	mux.Handle("POST /console/release", s.action(writers, s.release))
	mux.Handle("POST /console/upload", s.action(writers, s.upload))
	mux.Handle("POST /console/submissions/{id}/triage", s.action(writers, s.triage))
	mux.Handle("POST /settings/{kind}", s.action(admins, s.settingsCreate))
	mux.Handle("POST /settings/{kind}/{id}/delete", s.action(admins, s.settingsDelete))
	mux.Handle("POST /settings/tokens", s.action(admins, s.tokenCreate))
	mux.Handle("POST /settings/tokens/{id}/revoke", s.action(admins, s.tokenRevoke))
	mux.Handle("POST /settings/quarantine", s.action(admins, s.holdUpdate))
	mux.Handle("GET /console/count", s.authed(nil, s.countMatches))
	mux.Handle("POST /console/bulk", s.action(writers, s.bulkCreate))
	mux.Handle("GET /console/jobs/{id}", s.authed(nil, s.jobState))
}

// secure sets the headers every console answer carries.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", PageCSP)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		hd.Set("Cross-Origin-Resource-Policy", "same-origin")
		if hd.Get("Cache-Control") == "" {
			hd.Set("Cache-Control", "no-store")
		}
		h.ServeHTTP(w, r)
	})
}

// req is one authenticated console request.
type req struct {
	w       http.ResponseWriter
	r       *http.Request
	user    store.User
	session store.Session
	p       store.Principal
}

func (q *req) ctx() context.Context { return q.r.Context() }

func allowed(roles []string, role string) bool {
	if roles == nil {
		return true
	}
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// authed runs h for a logged-in user of one of roles (nil: any).
func (s *Server) authed(roles []string, h func(*req)) http.Handler {
	return secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		se, u, err := s.Access.Session(r)
		if err != nil {
			if !errors.Is(err, access.ErrNoSession) {
				s.Log.Error("web: session", "err", err)
			}
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/console/") {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			writeJSONError(w, http.StatusUnauthorized, "Your session has ended: log in again.")
			return
		}
		q := &req{w: w, r: r, user: u, session: se, p: access.Principal(u)}
		if !allowed(roles, u.Role) {
			if r.Method == http.MethodGet {
				s.renderError(q, http.StatusForbidden, "Your role ("+u.Role+") may not see this page.")
				return
			}
			writeJSONError(w, http.StatusForbidden, "Your role ("+u.Role+") may not do this.")
			return
		}
		h(q)
	}))
}

// page is an authenticated GET page.
func (s *Server) page(roles []string, h func(*req)) http.Handler { return s.authed(roles, h) }

// action is an authenticated state-changing request: it must carry the CSRF
// token and come from our own origin.
func (s *Server) action(roles []string, h func(*req)) http.Handler {
	return s.authed(roles, func(q *req) {
		if !sameOrigin(q.r) || !access.CheckCSRF(q.r, q.session) {
			s.Log.Warn("web: csrf check failed", "path", q.r.URL.Path, "user", q.user.Email)
			writeJSONError(q.w, http.StatusForbidden, "The request was refused (missing or wrong CSRF token): reload the page and try again.")
			return
		}
		h(q)
	})
}

// sameOrigin refuses requests whose Origin (or Sec-Fetch-Site) says another site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	User   store.User
	CSRF   string
	Notice string
	Error  string
	Data   any
}

func (s *Server) render(q *req, status int, name, title string, data any) {
	v := view{Title: title, Nav: name, Data: data}
	if q != nil {
		v.User, v.CSRF = q.user, q.session.CSRF
	}
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		s.Log.Error("web: render", "page", name, "err", err)
		http.Error(q.w, "internal error", http.StatusInternalServerError)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	q.w.Write(buf.Bytes())
}

func (s *Server) renderError(q *req, status int, msg string) {
	s.render(q, status, "error", http.StatusText(status), msg)
}

func (s *Server) internal(q *req, err error) {
	s.Log.Error("web: "+q.r.URL.Path, "err", err)
	if q.r.Method == http.MethodGet {
		s.renderError(q, http.StatusInternalServerError, "Something went wrong; the cause is in the server log.")
		return
	}
	writeJSONError(q.w, http.StatusInternalServerError, "Something went wrong; the cause is in the server log.")
}

func (s *Server) audit(q *req, action, target string, detail any) {
	d := "{}"
	if detail != nil {
		d = mustJSON(detail)
	}
	if err := s.Store.Audit(q.ctx(), store.AuditEntry{AccountID: q.p.AccountID, Actor: q.p.Name, Action: action, Target: target, Detail: d}); err != nil {
		s.Log.Error("web: audit", "err", err)
	}
}
