#!/usr/bin/env bash
# 5-fold cross-validation of mailwarden over ../shared/corpus, with the same folds
# as bench/peers (fold = crc32(path as in labels.tsv) % 5): for each fold, a fresh
# data directory learns the other four folds with `mailwarden learn` (ham as NONE,
# spam as SPAM, phish as MALICIOUS) and `mailwarden scan` judges the fold.
# Usage: bench/cv.sh [CORPUS_DIR] [OUT_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/corpus}
out=${2:-$here/bench/results/cv}
[ -f "$corpus/labels.tsv" ] || { echo "corpus not found at $corpus (labels.tsv)"; exit 1; }
mkdir -p "$out"
bin=$out/mailwarden
(cd "$here" && go build -o "$bin" ./cmd/mailwarden)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$corpus" "$work" <<'PY'
import sys, zlib, os
corpus, work = sys.argv[1], sys.argv[2]
for line in open(os.path.join(corpus, "labels.tsv")):
    cls, path = line.rstrip("\n").split("\t")
    if cls == "class": continue
    k = zlib.crc32(path.encode()) % 5
    for f in range(5):
        name = f"test{f}.{cls}" if f == k else f"train{f}.{cls}"
        with open(os.path.join(work, name), "a") as fh:
            fh.write(os.path.join(corpus, path) + "\n")
PY
for k in 0 1 2 3 4; do
  data=$work/data$k
  for pair in ham:NONE spam:SPAM phish:MALICIOUS; do
    cls=${pair%%:*}; disp=${pair##*:}
    [ -s "$work/train$k.$cls" ] || continue
    xargs -a "$work/train$k.$cls" -d '\n' "$bin" learn --data "$data" --disposition "$disp" >/dev/null
  done
  cat "$work"/test$k.* | xargs -d '\n' "$bin" scan --data "$data" --dns-zone /dev/null > "$out/fold$k.jsonl" || true
  echo "fold $k scanned: $(wc -l < "$out/fold$k.jsonl") messages" >&2
done
python3 "$here/bench/confusion.py" "$corpus/labels.tsv" "$out"/fold*.jsonl | tee "$out/summary.md"
