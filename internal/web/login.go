package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/mailwarden/mailwarden/internal/access"
)

type loginData struct {
	Email string
	Next  string
	CSRF  string
}

// safeNext keeps a post-login redirect on this site.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") || strings.ContainsAny(n, "\r\n") {
		return "/investigation"
	}
	return n
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	q := &req{w: w, r: r}
	if _, _, err := s.Access.Session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.renderLogin(q, http.StatusOK, "", "")
}

func (s *Server) renderLogin(q *req, status int, email, errMsg string) {
	d := loginData{Email: email, Next: safeNext(q.r.FormValue("next")), CSRF: access.LoginCSRF(q.w, q.r)}
	v := view{Title: "Log in", Nav: "login", Error: errMsg, Data: d}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.WriteHeader(status)
	if err := s.pages["login"].ExecuteTemplate(q.w, "layout.html", v); err != nil {
		s.Log.Error("web: render login", "err", err)
	}
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	q := &req{w: w, r: r}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := r.FormValue("email")
	if !sameOrigin(r) || !access.CheckLoginCSRF(r) {
		s.renderLogin(q, http.StatusForbidden, email, "The form expired: please try again.")
		return
	}
	_, _, err := s.Access.Login(r.Context(), w, r, email, r.FormValue("password"))
	switch {
	case errors.Is(err, access.ErrRateLimited):
		s.renderLogin(q, http.StatusTooManyRequests, email, "Too many failed attempts. Wait a few minutes and try again.")
		return
	case errors.Is(err, access.ErrBadLogin):
		s.renderLogin(q, http.StatusUnauthorized, email, "Wrong email or password.")
		return
	case err != nil:
		s.Log.Error("web: login", "err", err)
		s.renderLogin(q, http.StatusInternalServerError, email, "Something went wrong; the cause is in the server log.")
		return
	}
	http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
}

func (s *Server) logout(q *req) {
	s.Access.Logout(q.w, q.r)
	http.Redirect(q.w, q.r, "/login", http.StatusSeeOther)
}
