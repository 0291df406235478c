package detect

import (
	"strings"
	"sync"
	"unsafe"
)

// lowered is s lowercased for substring tests with ASCII needles, giving the
// same answers as strings.Contains(strings.ToLower(s), needle) without a new
// copy per call: ASCII letters are lowercased in a pooled buffer and other
// bytes kept (their lowercase is never ASCII, except U+0130 and U+212A, for
// which strings.ToLower is used). Call release when done.
type lowered struct {
	s   string
	buf *[]byte
}

var lowerPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func lowerForSearch(s string) lowered {
	if strings.Contains(s, "\u0130") || strings.Contains(s, "\u212a") {
		return lowered{s: strings.ToLower(s)}
	}
	bp := lowerPool.Get().(*[]byte)
	b := (*bp)[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	*bp = b
	return lowered{s: unsafeString(b), buf: bp}
}

func (l lowered) release() {
	if l.buf != nil && cap(*l.buf) <= 1<<20 {
		lowerPool.Put(l.buf)
	}
}

func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
