#!/usr/bin/env bash
# Whole-process scan throughput over ../shared/corpus on one core (GOMAXPROCS=1),
# with a model trained on the whole corpus and no DNS (an empty zone file).
# Reports messages per CPU-second (user+sys), per wall-second, and peak RSS.
# Usage: bench/throughput.sh [CORPUS_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/corpus}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && go build -o "$work/mailwarden" ./cmd/mailwarden)
bin=$work/mailwarden
n=$(tail -n +2 "$corpus/labels.tsv" | wc -l)
. "$here/bench/learn-corpus.sh"
learn_corpus "$bin" "$work/data" "$corpus"
: > "$work/empty.zone"
for mode in trained untrained; do
  data=$work/data
  [ $mode = untrained ] && data=$work/none
  /usr/bin/time -f '%U %S %e %M' -o "$work/time" env GOMAXPROCS=1 "$bin" scan --data "$data" --dns-zone "$work/empty.zone" "$corpus" > "$work/out.jsonl" || true
  read -r user sys wall rss < "$work/time"
  lines=$(wc -l < "$work/out.jsonl")
  python3 - "$mode" "$n" "$lines" "$user" "$sys" "$wall" "$rss" <<'PY'
import sys
mode, n, lines, user, sys_, wall, rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *map(float, sys.argv[4:7]), int(sys.argv[7])
cpu = user + sys_
print(f"| {mode} model | {n} | {lines} | {cpu:.1f} | {n/cpu:.0f} | {wall:.1f} | {n/wall:.0f} | {rss/1024:.0f} |")
PY
done
