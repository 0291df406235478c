package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mailwarden/mailwarden/internal/detect"
)

// Config is mailwarden's one configuration struct. Flags fill it; every flag has a
// MAILWARDEN_* environment twin (flag --max-size, variable MAILWARDEN_MAX_SIZE),
// and a flag given on the command line wins over the environment.
type Config struct {
	// Data is the directory for the embedded database and other state (default ./data).
	Data string
	// DB is the database DSN; empty means SQLite at DATA/mailwarden.db.
	DB string
	// SMTP is the inline MX listen address (default 127.0.0.1:2525).
	SMTP string
	// Milter is the Postfix milter listen address (e.g. 127.0.0.1:8891, or
	// unix:/path/to/socket); empty (the default) runs no milter.
	Milter string
	// HTTP is the API and console listen address (default 127.0.0.1:8080).
	HTTP string
	// Relay is the next-hop SMTP server HOST:PORT; empty holds mail for delivery.
	Relay string
	// DNSZone, when set, answers every DNS lookup from this RFC 1035 master file.
	DNSZone string
	// MaxSize is the largest message accepted, in bytes (default 50 MiB).
	MaxSize int64
	// Hostname is our name in SMTP greetings and the authserv-id (default: the machine's name).
	Hostname string
	// Org is a JSON file with protected domains and executives.
	Org string
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// Demo seeds an empty account with generated mail and submissions (serve --demo).
	Demo bool
	// SubmissionRate is how many submissions an account may make per 15 minutes (default 150).
	SubmissionRate int
	// AutoLearn trains clean mail (NONE, no scoring trigger) as ham on arrival (default true).
	AutoLearn bool
	// Thresholds are detection's disposition thresholds (detect.Thresholds; default
	// detect.DefaultConfig), changed with --thresholds "spam=6,bulk=3".
	Thresholds detect.Thresholds
}

func defaultConfig() Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return Config{
		Data:           "data",
		SMTP:           "127.0.0.1:2525",
		HTTP:           "127.0.0.1:8080",
		MaxSize:        50 << 20,
		Hostname:       host,
		LogLevel:       "info",
		SubmissionRate: 150,
		AutoLearn:      true,
		Thresholds:     detect.DefaultConfig().Thresholds,
	}
}

// DSN returns the database to open.
func (c Config) DSN() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.Data, "mailwarden.db")
}

// bind registers the flags named in names on fs, defaulted from cfg and the environment.
func (c *Config) bind(fs *flag.FlagSet, names ...string) {
	for _, n := range names {
		switch n {
		case "data":
			fs.StringVar(&c.Data, n, env(n, c.Data), "directory for the embedded database and state")
		case "db":
			fs.StringVar(&c.DB, n, env(n, c.DB), "database DSN (default: SQLite in --data)")
		case "smtp":
			fs.StringVar(&c.SMTP, n, env(n, c.SMTP), "SMTP listen address (inline MX)")
		case "milter":
			fs.StringVar(&c.Milter, n, env(n, c.Milter), "Postfix milter listen address, e.g. 127.0.0.1:8891 or unix:/path (default: none)")
		case "http":
			fs.StringVar(&c.HTTP, n, env(n, c.HTTP), "HTTP listen address (API and console)")
		case "relay":
			fs.StringVar(&c.Relay, n, env(n, c.Relay), "next-hop SMTP relay HOST:PORT (none: hold for delivery)")
		case "dns-zone":
			fs.StringVar(&c.DNSZone, n, env(n, c.DNSZone), "answer DNS from this RFC 1035 zone file (offline)")
		case "max-size":
			def := c.MaxSize
			if v := env(n, ""); v != "" {
				if p, err := strconv.ParseInt(v, 10, 64); err == nil {
					def = p
				}
			}
			fs.Int64Var(&c.MaxSize, n, def, "largest message accepted, in bytes")
		case "hostname":
			fs.StringVar(&c.Hostname, n, env(n, c.Hostname), "our host name (SMTP greeting, authserv-id, alias domain)")
		case "org":
			fs.StringVar(&c.Org, n, env(n, c.Org), "JSON file with protected_domains and executives")
		case "autolearn":
			def := c.AutoLearn
			if v := env(n, ""); v != "" {
				if b, err := strconv.ParseBool(v); err == nil {
					def = b
				}
			}
			fs.BoolVar(&c.AutoLearn, n, def, "train clean mail as ham on arrival (--autolearn=false to turn off)")
		case "submission-rate":
			def := c.SubmissionRate
			if v := env(n, ""); v != "" {
				if p, err := strconv.Atoi(v); err == nil {
					def = p
				}
			}
			fs.IntVar(&c.SubmissionRate, n, def, "submissions an account may make per 15 minutes")
		case "log-level":
			fs.StringVar(&c.LogLevel, n, env(n, c.LogLevel), "log level: debug, info, warn, error")
		case "thresholds":
			if v := env(n, ""); v != "" {
				if err := c.Thresholds.Set(v); err != nil {
					fatalf("MAILWARDEN_THRESHOLDS: %v", err)
				}
			}
			fs.Var(&c.Thresholds, n, "detection thresholds as name=value,... (see README: Thresholds); unnamed ones keep their defaults")
		case "demo":
			fs.BoolVar(&c.Demo, n, env(n, "") == "true" || env(n, "") == "1", "seed an empty account with a few hundred generated messages and submissions")
		default:
			panic("unknown flag " + n)
		}
	}
}

func env(flagName, def string) string {
	if v, ok := os.LookupEnv("MAILWARDEN_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))); ok {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "mailwarden: "+format+"\n", a...)
	os.Exit(1)
}
