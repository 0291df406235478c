# Sourced by bench scripts: learn_corpus BIN DATA CORPUS trains the content
# model in DATA on the whole corpus, as a team would (ham as NONE, spam as
# SPAM, phish as MALICIOUS), one `mailwarden learn` per class.
learn_corpus() {
  local bin=$1 data=$2 corpus=$3 pair cls disp
  for pair in ham:NONE spam:SPAM phish:MALICIOUS; do
    cls=${pair%%:*}; disp=${pair##*:}
    awk -F'\t' -v c="$cls" -v d="$corpus" '$1==c {print d "/" $2}' "$corpus/labels.tsv" | xargs -d '\n' "$bin" learn --data "$data" --disposition "$disp" >/dev/null
  done
}
