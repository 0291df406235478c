package access

import (
	"sync"
	"time"
)

// Limiter counts failed logins per email and per client address in a sliding
// window; past the limit, logins are refused (even with the right password)
// until old failures leave the window.
type Limiter struct {
	perUser, perIP int
	window         time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time
}

// NewLimiter allows perUser failures per email and perIP per address in window.
func NewLimiter(perUser, perIP int, window time.Duration) *Limiter {
	return &Limiter{perUser: perUser, perIP: perIP, window: window, fails: map[string][]time.Time{}}
}

func (l *Limiter) recent(now time.Time, key string) int {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= l.window {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return len(ts)
}

// Allow reports whether a login attempt may be checked at all.
func (l *Limiter) Allow(now time.Time, ip, email string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recent(now, "u:"+email) < l.perUser && l.recent(now, "ip:"+ip) < l.perIP
}

// Fail records a failed attempt.
func (l *Limiter) Fail(now time.Time, ip, email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fails) > 100000 { // bound memory under a spray of names
		for k := range l.fails {
			l.recent(now, k)
		}
	}
	l.fails["u:"+email] = append(l.fails["u:"+email], now)
	l.fails["ip:"+ip] = append(l.fails["ip:"+ip], now)
}

// Reset forgets an email's failures after a successful login.
func (l *Limiter) Reset(email string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "u:"+email)
}
