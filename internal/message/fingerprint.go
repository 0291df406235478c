package message

import (
	"crypto/sha256"
	"encoding/hex"
	"math/bits"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// structureHeaders are the header fields whose presence is part of a message's
// structure: set by the sending software, not by relays or the receiving side.
var structureHeaders = []string{
	"auto-submitted", "cc", "content-transfer-encoding", "content-type", "date", "dkim-signature",
	"feedback-id", "from", "importance", "in-reply-to", "list-id", "list-unsubscribe",
	"list-unsubscribe-post", "message-id", "mime-version", "organization", "precedence",
	"references", "reply-to", "sender", "subject", "thread-index", "to", "user-agent",
	"x-mailer", "x-priority",
}

// structureHash hashes (SHA-256, first 16 bytes in hex) the MIME tree shape with
// content types, the set of structureHeaders present, the sequence of link hosts
// and the sniffed attachment types.
func structureHash(m *Message, shape []byte) string {
	h := sha256.New()
	h.Write(shape)
	h.Write([]byte{'|'})
	present := make([]bool, len(structureHeaders))
	for _, f := range m.Headers {
		if i, ok := slices.BinarySearchFunc(structureHeaders, f.Name, compareLowerASCII); ok {
			present[i] = true
		}
	}
	for i, ok := range present {
		if ok {
			h.Write([]byte(structureHeaders[i]))
			h.Write([]byte{','})
		}
	}
	h.Write([]byte{'|'})
	last := "\x00"
	n := 0
	for _, l := range m.Links {
		if l.Host != last && n < 200 {
			h.Write([]byte(l.Host))
			h.Write([]byte{','})
			last = l.Host
			n++
		}
	}
	h.Write([]byte{'|'})
	for _, a := range m.Attachments {
		h.Write([]byte(a.SniffedType))
		h.Write([]byte{','})
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// compareLowerASCII compares e with strings.ToLower(name) without building
// it: header names are ASCII (others are lowercased the long way).
func compareLowerASCII(e, name string) int {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			return strings.Compare(e, strings.ToLower(name))
		}
	}
	for i := 0; i < len(e) && i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if e[i] != c {
			if e[i] < c {
				return -1
			}
			return 1
		}
	}
	return len(e) - len(name)
}

const maxSimWords = 1500 // words of subject and text that feed the SimHash

// simHash computes a 64-bit SimHash (Charikar) over the words of the subject and
// text, lowercased with digit runs collapsed to one "0", and over the link hosts.
// Copies of one campaign that differ in names and numbers land a few bits apart.
func simHash(m *Message) uint64 {
	var acc simAcc
	add := acc.add
	n := 0
	word := make([]byte, 0, 32)
	feed := func(s string) {
		for i := 0; i < len(s) && n < maxSimWords; {
			r, size := rune(s[i]), 1
			if r >= utf8.RuneSelf {
				r, size = utf8.DecodeRuneInString(s[i:])
			}
			i += size
			switch {
			case r < utf8.RuneSelf && (r >= 'a' && r <= 'z'):
				word = append(word, byte(r))
			case r < utf8.RuneSelf && (r >= 'A' && r <= 'Z'):
				word = append(word, byte(r)+32)
			case r >= '0' && r <= '9':
				if len(word) == 0 || word[len(word)-1] != '0' {
					word = append(word, '0')
				}
			case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
				word = utf8.AppendRune(word, unicode.ToLower(r))
			default:
				if len(word) > 1 && len(word) <= 40 {
					add(fnv64(word), 1)
					n++
				}
				word = word[:0]
			}
		}
		if len(word) > 1 && len(word) <= 40 {
			add(fnv64(word), 1)
			n++
		}
		word = word[:0]
	}
	feed(m.Subject)
	feed(" ")
	feed(m.Text)
	hosts := 0
	for i, l := range m.Links {
		if l.Host == "" || hosts >= 100 || (i > 0 && m.Links[i-1].Host == l.Host) {
			continue
		}
		add(fnv64(append(append(word[:0], "host:"...), l.Host...)), 2)
		hosts++
	}
	return acc.sum()
}

// simAcc adds up hashes for a SimHash: for bit i, the sum over hashes of +w
// when the hash has bit i set and -w otherwise, which is 2*set[i] - total with
// set[i] the weight of the hashes having bit i. The bits are counted eight
// hashes' bytes at a time: byte k of lanes[j] counts bit 8k+j, moved into set
// before it can overflow.
type simAcc struct {
	lanes   [8]uint64
	pending int // hashes counted in lanes
	set     [64]int64
	total   int64
}

func (a *simAcc) add(h uint64, w int32) {
	for range w {
		for j := range a.lanes {
			a.lanes[j] += h >> uint(j) & 0x0101010101010101
		}
		if a.pending++; a.pending == 255 {
			a.flush()
		}
	}
	a.total += int64(w)
}

func (a *simAcc) flush() {
	for j, l := range a.lanes {
		for k := range 8 {
			a.set[8*k+j] += int64(l >> uint(8*k) & 0xff)
		}
	}
	a.lanes, a.pending = [8]uint64{}, 0
}

// sum returns the SimHash: bit i set when its sum is positive.
func (a *simAcc) sum() uint64 {
	a.flush()
	var out uint64
	for i, s := range a.set {
		if 2*s-a.total > 0 {
			out |= 1 << uint(i)
		}
	}
	return out
}

// fnv64 is 64-bit FNV-1a with a final mix, stable across processes so hashes can be stored.
func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	// murmur3 finaliser: FNV alone spreads short words poorly over the high bits.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Hamming returns the number of differing bits between two SimHash values.
func Hamming(a, b uint64) int {
	return bits.OnesCount64(a ^ b)
}
