package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// verifyFolded verifies one signature whose i= domain matches d= only when case
// is ignored, which go-msgauth refuses. It follows RFC 6376 section 6.1 for the
// subset go-msgauth accepts: v=1, rsa-sha256 or ed25519-sha256 (RFC 8463), simple
// or relaxed canonicalization, dns/txt keys, no l=.
func verifyFolded(hdr []string, body []byte, sig sigField, tags map[string]string, keys *keyLog) (Status, string) {
	perm := func(format string, a ...any) (Status, string) {
		return StatusPermerror, "dkim: " + fmt.Sprintf(format, a...)
	}
	for _, t := range []string{"v", "a", "b", "bh", "d", "h", "s"} {
		if _, ok := tags[t]; !ok {
			return perm("signature missing required tag %s", t)
		}
	}
	if tags["v"] != "1" {
		return perm("incompatible signature version")
	}
	if _, ok := tags["l"]; ok {
		return StatusPolicy, "dkim: message contains an insecure body length tag"
	}
	if q, ok := tags["q"]; ok && !strings.Contains(stripWSP(q), "dns/txt") {
		return perm("unsupported public key query method")
	}
	signed := strings.Split(stripWSP(tags["h"]), ":")
	fromSigned := false
	for _, h := range signed {
		fromSigned = fromSigned || strings.EqualFold(h, "from")
	}
	if !fromSigned {
		return perm("From field not signed")
	}
	if x, ok := tags["x"]; ok {
		var exp int64
		if _, err := fmt.Sscan(stripWSP(x), &exp); err != nil {
			return perm("malformed expiration time")
		}
		if time.Now().After(time.Unix(exp, 0)) {
			return perm("signature has expired")
		}
	}
	keyAlgo, hashAlgo, _ := strings.Cut(strings.ToLower(stripWSP(tags["a"])), "-")
	if hashAlgo != "sha256" || (keyAlgo != "rsa" && keyAlgo != "ed25519") {
		return perm("unsupported algorithm %q", tags["a"])
	}
	hc, bc, _ := strings.Cut(strings.ToLower(stripWSP(tags["c"])), "/")
	if hc == "" {
		hc = "simple"
	}
	if bc == "" {
		bc = "simple"
	}
	if (hc != "simple" && hc != "relaxed") || (bc != "simple" && bc != "relaxed") {
		return perm("unsupported canonicalization %q", tags["c"])
	}
	bh, err := base64.StdEncoding.DecodeString(stripWSP(tags["bh"]))
	if err != nil {
		return perm("malformed body hash")
	}
	b, err := base64.StdEncoding.DecodeString(stripWSP(tags["b"]))
	if err != nil {
		return perm("malformed signature")
	}

	// Key (RFC 6376 section 3.6.2, 6.1.2).
	name := stripWSP(tags["s"]) + "._domainkey." + stripWSP(tags["d"])
	txts, err := keys.lookup(name)
	if err != nil {
		if st, _ := classifyDNS(err); st == StatusTemperror {
			return StatusTemperror, "dkim: key unavailable: " + err.Error()
		}
		return perm("no key for signature: %v", err)
	}
	if len(txts) != 1 {
		return perm("want one key record, have %d", len(txts))
	}
	kt, err := parseTags(txts[0])
	if err != nil {
		return perm("key record error: %v", err)
	}
	if v, ok := kt["v"]; ok && v != "DKIM1" {
		return perm("incompatible public key version")
	}
	if h, ok := kt["h"]; ok && !strings.Contains(":"+stripWSP(h)+":", ":sha256:") {
		return perm("inappropriate hash algorithm")
	}
	if s, ok := kt["s"]; ok {
		l := ":" + stripWSP(s) + ":"
		if !strings.Contains(l, ":email:") && !strings.Contains(l, ":*:") {
			return perm("inappropriate service")
		}
	}
	p, ok := kt["p"]
	if !ok {
		return perm("key syntax error: missing public key data")
	}
	if stripWSP(p) == "" {
		return perm("key revoked")
	}
	der, err := base64.StdEncoding.DecodeString(stripWSP(p))
	if err != nil {
		return perm("key syntax error: %v", err)
	}
	k := strings.ToLower(stripWSP(kt["k"]))
	if k == "" {
		k = "rsa"
	}
	if k != keyAlgo {
		return perm("inappropriate key algorithm")
	}

	// Body hash (section 3.7).
	bsum := sha256.Sum256(canonBody(body, bc))
	if subtle.ConstantTimeCompare(bsum[:], bh) != 1 {
		return StatusFail, "dkim: body hash did not verify"
	}

	// Header hash: the signed fields, bottom-up per name (section 5.4.2), then the
	// signature field with an empty b= and no final CRLF.
	h := sha256.New()
	used := map[string]int{}
	for _, key := range signed {
		lk := strings.ToLower(key)
		skip := used[lk]
		used[lk]++
		for i := len(hdr) - 1; i >= 0; i-- {
			n, _, _ := strings.Cut(hdr[i], ":")
			if !strings.EqualFold(strings.TrimSpace(n), key) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			h.Write([]byte(canonHeader(hdr[i], hc)))
			break
		}
	}
	self := strings.TrimSuffix(canonHeader(emptyB(hdr[sig.index]), hc), "\r\n")
	h.Write([]byte(self))
	sum := h.Sum(nil)

	switch keyAlgo {
	case "rsa":
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			pub, err = x509.ParsePKCS1PublicKey(der)
			if err != nil {
				return perm("key syntax error: %v", err)
			}
		}
		rk, ok := pub.(*rsa.PublicKey)
		if !ok {
			return perm("key syntax error: not an RSA public key")
		}
		if rk.Size()*8 < 1024 {
			return StatusPermerror, fmt.Sprintf("%v: %d bits", ErrKeyTooShort, rk.Size()*8)
		}
		if err := rsa.VerifyPKCS1v15(rk, crypto.SHA256, sum, b); err != nil {
			return StatusFail, "dkim: signature did not verify: " + err.Error()
		}
	case "ed25519":
		if len(der) != ed25519.PublicKeySize {
			return perm("invalid Ed25519 public key size: %d bytes", len(der))
		}
		if !ed25519.Verify(ed25519.PublicKey(der), sum, b) {
			return StatusFail, "dkim: signature did not verify"
		}
	}
	return StatusPass, "i= and d= domains differ only in case"
}

// classifyDNS tells a temporary lookup failure from an answer.
func classifyDNS(err error) (Status, string) {
	type temporary interface{ Temporary() bool }
	if t, ok := err.(temporary); ok && t.Temporary() {
		return StatusTemperror, err.Error()
	}
	return StatusPermerror, err.Error()
}

// emptyB returns the signature field with the value of its b= tag removed
// (RFC 6376 section 3.7, step 2 of the header hash).
func emptyB(field string) string {
	name, value, _ := strings.Cut(field, ":")
	parts := strings.Split(value, ";")
	for i, part := range parts {
		tn, _, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(tn) == "b" {
			eq := strings.Index(part, "=")
			parts[i] = part[:eq+1]
			if strings.HasSuffix(part, "\r\n") && i == len(parts)-1 {
				parts[i] += "\r\n"
			}
		}
	}
	return name + ":" + strings.Join(parts, ";")
}

// canonHeader canonicalizes one header field with its CRLF (RFC 6376 section 3.4.1, 3.4.2).
func canonHeader(field, c string) string {
	if c == "simple" {
		return field
	}
	name, value, _ := strings.Cut(field, ":")
	value = strings.ReplaceAll(value, "\r\n", "")
	value = strings.Join(strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + value + "\r\n"
}

// canonBody canonicalizes a CRLF body (RFC 6376 section 3.4.3, 3.4.4).
func canonBody(body []byte, c string) []byte {
	lines := strings.Split(string(body), "\r\n")
	// A body ending in CRLF splits into a last empty element, which is not a line.
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if c == "relaxed" {
		for i, l := range lines {
			l = strings.TrimRight(l, " \t")
			var b strings.Builder
			space := false
			for _, r := range l {
				if r == ' ' || r == '\t' {
					space = true
					continue
				}
				if space {
					b.WriteByte(' ')
					space = false
				}
				b.WriteRune(r)
			}
			lines[i] = b.String()
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		if c == "simple" {
			return []byte("\r\n")
		}
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}
