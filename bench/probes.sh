#!/usr/bin/env bash
# Detection on mail outside the training corpus: the hand-written modern probes
# in bench/probes/{ham,phish} (see bench/probes/README.md), or another folder of
# the same layout (bench/probes2: written blind, see its README), scanned offline
# (no DNS) with a model learnt on the whole of ../shared/corpus, as a deployment
# bootstrapped from that corpus would see them.
# Usage: bench/probes.sh [CORPUS_DIR [PROBES_DIR]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/corpus}
probes=${2:-$here/bench/probes}
[ -f "$corpus/labels.tsv" ] || { echo "corpus not found at $corpus (labels.tsv)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$here" && go build -o "$work/mailwarden" ./cmd/mailwarden)
bin=$work/mailwarden
. "$here/bench/learn-corpus.sh"
learn_corpus "$bin" "$work/data" "$corpus"
: > "$work/empty.zone"
for class in ham phish; do
  "$bin" scan --data "$work/data" --dns-zone "$work/empty.zone" --org "$probes/org.json" "$probes/$class"/*.eml > "$work/$class.jsonl" || true
done
python3 - "$work" <<'PY'
import json, sys, collections
work = sys.argv[1]
disps = ["MALICIOUS", "SUSPICIOUS", "SPOOF", "SPAM", "BULK", "NONE"]
print("| probes | n | " + " | ".join(disps) + " |")
print("|---|---:|" + "---:|" * len(disps))
wrong = {}
for cls in ("ham", "phish"):
    rows = [json.loads(l) for l in open(f"{work}/{cls}.jsonl") if l.strip()]
    c = collections.Counter(r.get("disposition", "ERROR") for r in rows)
    print(f"| {cls} | {len(rows)} | " + " | ".join(str(c[d]) for d in disps) + " |")
    bad = (lambda d: d not in ("NONE", "BULK")) if cls == "ham" else (lambda d: d not in ("MALICIOUS", "SUSPICIOUS", "SPOOF"))
    wrong[cls] = [(r["file"].rsplit("/", 1)[-1], r.get("disposition"), [t["name"] for t in r.get("triggers", []) if t.get("score")]) for r in rows if bad(r.get("disposition"))]
for cls, label in (("ham", "ham flagged (not NONE or BULK)"), ("phish", "phish not flagged (not MALICIOUS, SUSPICIOUS or SPOOF)")):
    print(f"\n{label}: {len(wrong[cls])}")
    for f, d, ts in wrong[cls]:
        print(f"- {f}: {d} ({', '.join(ts)})")
PY
