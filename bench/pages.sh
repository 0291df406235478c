#!/usr/bin/env bash
# Console page latency on a large store: logs in with curl and times each page.
# Usage: bench/pages.sh DATA_DIR [REQUESTS]   (e.g. the 1,000,000-message store of bench/apibench)
# "first" is each page's first request after the server started (nothing is
# cached by the console; SQLite's page cache is cold for it).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=$1; n=${2:-20}
work=$(mktemp -d); trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
(cd "$here" && go build -o "$work/mailwarden" ./cmd/mailwarden)
echo benchpass-123456 | "$work/mailwarden" user create --data "$data" --email "pages-$$@bench.test" --role admin --password-stdin >/dev/null
"$work/mailwarden" serve --data "$data" --smtp 127.0.0.1:0 --http 127.0.0.1:8699 --dns-zone /dev/null >/dev/null 2>"$work/log" & pid=$!
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:8699/healthz && break; sleep 0.2; done
jar=$work/jar
csrf=$(curl -s -c "$jar" http://127.0.0.1:8699/login | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1)
curl -s -b "$jar" -c "$jar" -o /dev/null -d "csrf_token=$csrf&email=pages-$$@bench.test&password=benchpass-123456&next=/investigation" http://127.0.0.1:8699/login
id=$(curl -s -b "$jar" "http://127.0.0.1:8699/investigation" | grep -o '/messages/[a-z0-9]*' | head -1)
echo "| page | first ms | p50 ms | p95 ms | max ms |"
echo "|---|---:|---:|---:|---:|"
for page in /investigation "/investigation?q=invoice" "/investigation?disposition=MALICIOUS" "$id" /reclassifications /overview /settings; do
  for i in $(seq "$n"); do
    curl -s -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:8699$page"
  done | python3 -c "
import sys
rows=[l.split() for l in sys.stdin]
bad=[r for r in rows if r[0]!='200']
first=float(rows[0][1])*1000
t=sorted(float(r[1])*1000 for r in rows)
print(f'| {sys.argv[1]} | {first:.1f} | {t[len(t)//2]:.1f} | {t[int(len(t)*0.95)-1]:.1f} | {t[-1]:.1f} |' + (f' ({len(bad)} not 200: {bad[0][0]})' if bad else ''))
" "$page"
done
