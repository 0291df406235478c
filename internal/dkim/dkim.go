// Package dkim verifies DomainKeys Identified Mail signatures (DKIM, RFC 6376) with
// the RSA (RFC 6376 section 3.3) and Ed25519 (RFC 8463) algorithms, under the
// cryptographic updates of RFC 8301: rsa-sha1 signatures and RSA keys shorter than
// 1024 bits are never valid.
//
// Verification is done by github.com/emersion/go-msgauth/dkim with public keys
// looked up through a dnsx.Resolver. This package adds what the library leaves out:
// results as RFC 8601 names with the signature's selector and algorithm, LF-only
// input, case-insensitive comparison of the i= and d= domains (RFC 6376 section
// 3.5 and RFC 4343), the key's t=s flag (section 3.6.1) and a bound on the number
// of signatures verified.
//
// An rsa-sha1 signature or one made with an RSA key under 1024 bits is reported as
// permerror, not fail: RFC 8301 section 3 says such signatures have "permanently
// failed evaluation" (RFC 6376 PERMFAIL), and RFC 8601 section 2.7.1 keeps "fail"
// for signatures that were acceptable but did not verify. rsa-sha1 is refused
// before the key lookup, so a DNS failure cannot turn it into temperror.
package dkim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/mailwarden/mailwarden/internal/dnsx"
)

// Status is the result of one signature, named as in RFC 8601 section 2.7.1.
type Status string

// Results.
const (
	StatusPass      Status = "pass"      // the signature verified
	StatusFail      Status = "fail"      // the body hash or the signature did not verify
	StatusNeutral   Status = "neutral"   // the signature could not be processed (unused by Verify so far)
	StatusTemperror Status = "temperror" // the key could not be retrieved for now (DNS failure)
	StatusPermerror Status = "permerror" // the signature or key is unusable: syntax, missing or revoked key, historic algorithm
	StatusPolicy    Status = "policy"    // verifiable, but not acceptable to us (l= body length, too many signatures)
)

// MaxSignatures bounds the signatures verified in one message; later ones get
// StatusPolicy. Each costs a DNS query and a pass over the body.
const MaxSignatures = 16

// Errors found in Result.Detail.
var (
	ErrHistoricAlgorithm = errors.New("dkim: rsa-sha1 is historic and never valid (RFC 8301 section 3.1)")
	ErrKeyTooShort       = errors.New("dkim: rsa key shorter than 1024 bits is never valid (RFC 8301 section 3.2)")
	ErrStrictIdentity    = errors.New("dkim: key has t=s but the i= domain is not the d= domain (RFC 6376 section 3.6.1)")
	ErrTooMany           = errors.New("dkim: too many signatures, not verified")
)

// Result is the outcome of one DKIM-Signature header field, in message order.
type Result struct {
	Status    Status
	Domain    string // d=, lowercased
	Selector  string // s=
	Algorithm string // a=, lowercased
	Identity  string // i= (the AUID), as written, "" when absent
	Detail    string // why, for an analyst
}

// Verify verifies every DKIM-Signature of a raw message. Line endings may be LF
// only. A message without signatures gives nil.
func Verify(ctx context.Context, r dnsx.Resolver, raw []byte) []Result {
	if !mayHaveSignature(raw) {
		return nil
	}
	msg := toCRLF(raw)
	if !bytes.Contains(msg, []byte("\r\n\r\n")) {
		// A header without body or separator: go-msgauth needs the empty line.
		if !bytes.HasSuffix(msg, []byte("\r\n")) {
			msg = append(msg, "\r\n"...)
		}
		msg = append(msg, "\r\n"...)
	}
	hdr, body := splitMessage(msg)
	var sigs []sigField
	for i, f := range hdr {
		name, value, _ := strings.Cut(f, ":")
		if strings.EqualFold(strings.TrimSpace(name), "DKIM-Signature") {
			sigs = append(sigs, sigField{index: i, value: strings.TrimSpace(value)})
		}
	}
	if len(sigs) == 0 {
		return nil
	}

	keys := &keyLog{r: r, ctx: ctx, records: map[string][]string{}}
	results := make([]Result, len(sigs))
	for i, s := range sigs {
		results[i] = describe(s.value)
	}

	n := min(len(sigs), MaxSignatures)
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT:        keys.lookup,
		MaxVerifications: MaxSignatures,
	})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) || len(verifs) != n {
		for i := range results {
			results[i].Status = StatusPermerror
			results[i].Detail = fmt.Sprintf("message not verifiable: %v", err)
		}
		return results
	}

	for i := range results {
		res := &results[i]
		if i >= n {
			res.Status, res.Detail = StatusPolicy, ErrTooMany.Error()
			continue
		}
		tags, _ := parseTags(sigs[i].value)
		res.Status, res.Detail = classify(verifs[i].Err)

		switch {
		case res.Algorithm == "rsa-sha1":
			// go-msgauth refuses it too, but only after the key lookup, so a DNS
			// failure would show instead.
			res.Status, res.Detail = StatusPermerror, ErrHistoricAlgorithm.Error()
		case res.Status == StatusPermerror && verifs[i].Err.Error() == "dkim: domain mismatch" && sameDomainFold(tags):
			// go-msgauth compares i= and d= case-sensitively; domains compare
			// case-insensitively (RFC 4343). The header can't be rewritten (it is
			// signed), so verify this one signature here.
			res.Status, res.Detail = verifyFolded(hdr, body, sigs[i], tags, keys)
		case strings.Contains(res.Detail, "key is too short"):
			res.Detail = ErrKeyTooShort.Error() + ": " + res.Detail
		}
		if res.Status == StatusPass {
			st, d := keys.postCheck(tags)
			res.Status, res.Detail = st, strings.TrimPrefix(res.Detail+"; "+d, "; ")
			res.Detail = strings.TrimSuffix(res.Detail, "; ")
		}
	}
	return results
}

type sigField struct {
	index int    // position in the header
	value string // field value
}

// describe fills the identifying fields of a result from a signature's tags.
func describe(value string) Result {
	tags, _ := parseTags(value)
	return Result{
		Domain:    strings.ToLower(stripWSP(tags["d"])),
		Selector:  stripWSP(tags["s"]),
		Algorithm: strings.ToLower(stripWSP(tags["a"])),
		Identity:  decodeQP(stripWSP(tags["i"])),
	}
}

// classify maps a go-msgauth verification error to a status.
func classify(err error) (Status, string) {
	switch {
	case err == nil:
		return StatusPass, ""
	case dkim.IsTempFail(err):
		return StatusTemperror, err.Error()
	case dkim.IsPermFail(err):
		return StatusPermerror, err.Error()
	case strings.Contains(err.Error(), "body length"):
		// RFC 6376 section 8.2: l= lets unsigned content be appended.
		return StatusPolicy, err.Error()
	default:
		return StatusFail, err.Error()
	}
}

// keyLog serves key lookups to go-msgauth and remembers the answers, so the key's
// flags can be checked afterwards.
type keyLog struct {
	r       dnsx.Resolver
	ctx     context.Context
	mu      sync.Mutex
	records map[string][]string
}

func (k *keyLog) lookup(name string) ([]string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	txts, err := k.r.LookupTXT(k.ctx, name)
	if err != nil {
		var de *net.DNSError
		if errors.As(err, &de) {
			// go-msgauth tests the error with a type assertion, not errors.As.
			return nil, de
		}
		return nil, err
	}
	k.mu.Lock()
	k.records[name] = txts
	k.mu.Unlock()
	return txts, nil
}

func (k *keyLog) record(tags map[string]string) (string, bool) {
	name := strings.ToLower(stripWSP(tags["s"]) + "._domainkey." + stripWSP(tags["d"]))
	k.mu.Lock()
	defer k.mu.Unlock()
	txts, ok := k.records[name]
	if !ok || len(txts) != 1 {
		return "", false
	}
	return txts[0], true
}

// postCheck applies key checks go-msgauth does not make to a signature that
// verified: t=s (RFC 6376 section 3.6.1). A key in testing mode (t=y) is noted.
func (k *keyLog) postCheck(tags map[string]string) (Status, string) {
	txt, ok := k.record(tags)
	if !ok {
		return StatusPass, ""
	}
	kt, _ := parseTags(txt)
	var detail string
	for _, flag := range strings.Split(kt["t"], ":") {
		switch strings.TrimSpace(flag) {
		case "s":
			_, idom, _ := strings.Cut(decodeQP(stripWSP(tags["i"])), "@")
			if tags["i"] != "" && !strings.EqualFold(idom, stripWSP(tags["d"])) {
				return StatusPermerror, ErrStrictIdentity.Error()
			}
		case "y":
			detail = "key in testing mode (t=y)"
		}
	}
	return StatusPass, detail
}

// sameDomainFold reports whether i='s domain is d= or a subdomain of it when
// compared case-insensitively (RFC 6376 section 3.5, tag i).
func sameDomainFold(tags map[string]string) bool {
	i := strings.ToLower(decodeQP(stripWSP(tags["i"])))
	d := strings.ToLower(stripWSP(tags["d"]))
	_, idom, ok := strings.Cut(i, "@")
	return ok && d != "" && (idom == d || strings.HasSuffix(idom, "."+d))
}

// mayHaveSignature reports whether raw could hold a DKIM-Signature field: the
// name, however cased, contains "im-" ('i', 'm' and '-' have no non-ASCII case
// folds, unlike 'k' and 's'), so a message without it has no signature and the
// CRLF copy and header split can be skipped.
func mayHaveSignature(raw []byte) bool {
	for i := 2; i < len(raw); i++ {
		j := bytes.IndexByte(raw[i:], '-')
		if j < 0 {
			return false
		}
		i += j
		if raw[i-1]|0x20 == 'm' && raw[i-2]|0x20 == 'i' {
			return true
		}
	}
	return false
}

// toCRLF turns bare LF (and bare CR) line endings into CRLF, as DKIM's
// canonicalization expects (RFC 6376 section 3.4 works on CRLF lines).
func toCRLF(raw []byte) []byte {
	if !bytes.Contains(raw, []byte("\n")) && !bytes.Contains(raw, []byte("\r")) {
		return raw
	}
	if bytes.IndexByte(raw, '\r') < 0 {
		// LF only (mbox files): copy the lines between line feeds in chunks.
		out := make([]byte, 0, len(raw)+bytes.Count(raw, []byte("\n")))
		for {
			i := bytes.IndexByte(raw, '\n')
			if i < 0 {
				return append(out, raw...)
			}
			out = append(append(out, raw[:i]...), '\r', '\n')
			raw = raw[i+1:]
		}
	}
	out := make([]byte, 0, len(raw)+len(raw)/32)
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; c {
		case '\r':
			out = append(out, '\r', '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

// splitMessage splits a CRLF message into header fields (each with its folded
// continuation lines and final CRLF) and the body, as go-msgauth reads them.
func splitMessage(msg []byte) (fields []string, body []byte) {
	// A field is msg[start:end], its lines and their CRLFs: one copy per field.
	start, end := -1, 0
	flush := func(extra string) {
		if start >= 0 {
			fields = append(fields, string(msg[start:end])+extra)
		}
		start = -1
	}
	for pos := 0; pos < len(msg); {
		i := bytes.Index(msg[pos:], []byte("\r\n"))
		if i == 0 {
			flush("")
			return fields, msg[pos+2:]
		}
		cont := start >= 0 && (msg[pos] == ' ' || msg[pos] == '\t')
		if i < 0 {
			// A last line without CRLF is read as if it had one.
			if !cont {
				flush("")
				start = pos
			}
			end = len(msg)
			flush("\r\n")
			return fields, nil
		}
		if !cont {
			flush("")
			start = pos
		}
		end = pos + i + 2
		pos = end
	}
	flush("")
	return fields, nil
}

// parseTags parses a tag=value list (RFC 6376 section 3.2). Names are trimmed;
// values keep inner whitespace.
func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		name, value, ok := strings.Cut(part, "=")
		if !ok {
			if strings.TrimSpace(part) == "" {
				continue
			}
			return tags, errors.New("dkim: malformed tag list")
		}
		name = strings.TrimSpace(name)
		if _, dup := tags[name]; dup {
			return tags, errors.New("dkim: duplicate tag")
		}
		tags[name] = strings.TrimSpace(value)
	}
	return tags, nil
}

func stripWSP(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// decodeQP decodes DKIM quoted-printable (RFC 6376 section 2.11), used by i=.
func decodeQP(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '=' && i+2 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &c); err == nil {
				b.WriteByte(c)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
