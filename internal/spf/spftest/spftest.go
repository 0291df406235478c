// Package spftest loads the openspf test suites for SPF (RFC 7208 and RFC 4408,
// "rfc7208-tests.yml" and "rfc4408-tests.yml" from pyspf) and turns each
// scenario's zonedata into DNS: an in-memory dnsx.Zone, or an RFC 1035 master
// file for tools that read zone files (mailwarden scan --dns-zone).
//
// Zonedata follows the conventions of the suite's reference driver (pyspf
// testspf.py): records of type SPF (99) are also published as TXT unless the
// name lists a TXT record (or "TXT: NONE", meaning none); TIMEOUT makes queries
// at that name time out, except for types with records listed before it.
package spftest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"

	"github.com/mailwarden/mailwarden/internal/dnsx"
)

// Case is one test of a scenario.
type Case struct {
	Name        string
	Description string
	Spec        string // RFC 7208 section(s)
	Helo        string
	Host        string // client IP
	MailFrom    string // "" for a null sender
	// Results lists the acceptable results; usually one.
	Results []string
	// Explanation is the expected exp= text of a fail, "" if unspecified,
	// "DEFAULT" for the checker's own default.
	Explanation string
}

// Timeout is a TIMEOUT entry of zonedata: queries at Name time out, for every
// type if Types is empty, else for those types only.
type Timeout struct {
	Name  string // presentation form, fully qualified
	Types []uint16
}

// Scenario is one YAML document of a suite: tests sharing one DNS.
type Scenario struct {
	Description string
	Cases       []Case // sorted by name
	Records     []dns.RR
	Timeouts    []Timeout
}

// SuiteScenarios reads a suite file.
func SuiteScenarios(path string) ([]Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spftest: %w", err)
	}
	return ParseSuite(data)
}

type yamlCase struct {
	Description string    `yaml:"description"`
	Spec        yaml.Node `yaml:"spec"`
	Helo        string    `yaml:"helo"`
	Host        string    `yaml:"host"`
	MailFrom    string    `yaml:"mailfrom"`
	Result      yaml.Node `yaml:"result"`
	Explanation string    `yaml:"explanation"`
}

type yamlScenario struct {
	Description string                 `yaml:"description"`
	Tests       map[string]yamlCase    `yaml:"tests"`
	ZoneData    map[string][]yaml.Node `yaml:"zonedata"`
}

// ParseSuite parses the text of a suite file: YAML documents, one a scenario.
func ParseSuite(data []byte) ([]Scenario, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []Scenario
	for {
		var ys yamlScenario
		if err := dec.Decode(&ys); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("spftest: scenario %d: %w", len(out)+1, err)
		}
		s := Scenario{Description: ys.Description}
		for name, yc := range ys.Tests {
			c := Case{Name: name, Description: strings.TrimSpace(yc.Description), Helo: yc.Helo, Host: yc.Host, MailFrom: yc.MailFrom, Explanation: yc.Explanation}
			var spec []string
			if err := decodeStrings(&yc.Spec, &spec); err != nil {
				return nil, fmt.Errorf("spftest: %s: spec: %w", name, err)
			}
			c.Spec = strings.Join(spec, ", ")
			if err := decodeStrings(&yc.Result, &c.Results); err != nil || len(c.Results) == 0 {
				return nil, fmt.Errorf("spftest: %s: result: %v", name, err)
			}
			s.Cases = append(s.Cases, c)
		}
		slices.SortFunc(s.Cases, func(a, b Case) int { return strings.Compare(a.Name, b.Name) })
		names := make([]string, 0, len(ys.ZoneData))
		for name := range ys.ZoneData {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			if err := s.addZoneData(name, ys.ZoneData[name]); err != nil {
				return nil, fmt.Errorf("spftest: zonedata %q: %w", name, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// decodeStrings decodes a scalar or a sequence of scalars.
func decodeStrings(n *yaml.Node, out *[]string) error {
	switch n.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		*out = []string{n.Value}
		return nil
	}
	return n.Decode(out)
}

// queryTypes are the types a TIMEOUT entry makes fail unless listed before it.
var queryTypes = []uint16{dns.TypeTXT, dns.TypeSPF, dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypePTR, dns.TypeCNAME}

func (s *Scenario) addZoneData(rawName string, entries []yaml.Node) error {
	name := dns.Fqdn(dnsx.EscapeName(strings.ToLower(rawName)))
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	var spf []dns.RR
	hasTXT := false
	present := map[uint16]bool{}
	for _, e := range entries {
		if e.Kind == yaml.ScalarNode && e.Value == "TIMEOUT" {
			s.addTimeout(name, present)
			continue
		}
		if e.Kind != yaml.MappingNode || len(e.Content) != 2 {
			return fmt.Errorf("line %d: want TYPE: value", e.Line)
		}
		typ, val := e.Content[0].Value, e.Content[1]
		if typ == "TIMEOUT" { // blitiri's copy writes "TIMEOUT: true"
			s.addTimeout(name, present)
			continue
		}
		if val.Kind == yaml.ScalarNode && val.Value == "NONE" {
			if typ == "TXT" {
				hasTXT = true
			}
			continue
		}
		var rr dns.RR
		switch typ {
		case "TXT", "SPF":
			var strs []string
			if err := decodeStrings(val, &strs); err != nil {
				return err
			}
			txt := dnsx.NewTXT(name, 300, strs...).Txt
			if typ == "TXT" {
				hasTXT = true
				rr = &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: txt}
			} else {
				rr = &dns.SPF{Hdr: hdr(dns.TypeSPF), Txt: txt}
				spf = append(spf, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: txt})
			}
		case "A", "AAAA":
			ip := parseIP(val.Value)
			if ip == nil {
				return fmt.Errorf("line %d: bad address %q", val.Line, val.Value)
			}
			if typ == "A" {
				rr = &dns.A{Hdr: hdr(dns.TypeA), A: ip.To4()}
			} else {
				rr = &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: ip}
			}
		case "MX":
			var mx []string
			if err := val.Decode(&mx); err != nil || len(mx) != 2 {
				return fmt.Errorf("line %d: want MX: [pref, host]", val.Line)
			}
			var pref uint16
			if _, err := fmt.Sscan(mx[0], &pref); err != nil {
				return fmt.Errorf("line %d: bad MX preference: %w", val.Line, err)
			}
			rr = &dns.MX{Hdr: hdr(dns.TypeMX), Preference: pref, Mx: dns.Fqdn(dnsx.EscapeName(mx[1]))}
		case "PTR":
			rr = &dns.PTR{Hdr: hdr(dns.TypePTR), Ptr: dns.Fqdn(dnsx.EscapeName(val.Value))}
		case "CNAME":
			rr = &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: dns.Fqdn(dnsx.EscapeName(val.Value))}
		default:
			return fmt.Errorf("line %d: unknown type %q", e.Line, typ)
		}
		present[rr.Header().Rrtype] = true
		s.Records = append(s.Records, rr)
	}
	if !hasTXT {
		s.Records = append(s.Records, spf...)
	}
	return nil
}

func (s *Scenario) addTimeout(name string, present map[uint16]bool) {
	t := Timeout{Name: name}
	if len(present) > 0 && !present[dns.TypeCNAME] {
		for _, q := range queryTypes {
			if !present[q] {
				t.Types = append(t.Types, q)
			}
		}
	}
	if len(present) == 0 || len(t.Types) > 0 {
		s.Timeouts = append(s.Timeouts, t)
	}
}

func parseIP(s string) net.IP { return net.ParseIP(strings.TrimSpace(s)) }

// Zone returns the scenario's DNS as a resolver.
func (s Scenario) Zone() *dnsx.Zone {
	z := dnsx.NewZone()
	for _, rr := range s.Records {
		z.Add(dns.Copy(rr))
	}
	for _, t := range s.Timeouts {
		z.AddFailure(t.Name, true, t.Types...)
	}
	return z
}

// ZoneFile returns the scenario's DNS as an RFC 1035 master file, TIMEOUT
// entries written as dnsx "; mailwarden:timeout" directives. dnsx.ParseZone
// reads it back into a zone answering as Zone does.
func (s Scenario) ZoneFile() string {
	var b strings.Builder
	fmt.Fprintf(&b, "; %s\n$ORIGIN .\n$TTL 300\n", strings.ReplaceAll(s.Description, "\n", " "))
	for _, rr := range s.Records {
		line := rr.String()
		if t, ok := rr.(*dns.TXT); ok && len(t.Txt) == 0 {
			line += `""` // a master file cannot hold a TXT record without strings
		} else if t, ok := rr.(*dns.SPF); ok && len(t.Txt) == 0 {
			line += `""`
		}
		b.WriteString(line + "\n")
	}
	for _, t := range s.Timeouts {
		fmt.Fprintf(&b, "; mailwarden:timeout %s", t.Name)
		for _, typ := range t.Types {
			b.WriteString(" " + dns.TypeToString[typ])
		}
		b.WriteByte('\n')
	}
	return b.String()
}
