#!/usr/bin/env python3
"""5-fold cross-validation of the peer filters on the shared folds (stdlib only).

fold(path) = zlib.crc32(path) % 5 over labels.tsv paths. For fold k: reset Bayes, train on
the other four folds (ham as ham; spam AND phish as spam), classify fold k.

  python3 cv.py --peer rspamd            # all 5 folds
  python3 cv.py --peer sa --par 2        # spamd with 2 children, 2 concurrent spamc
  python3 cv.py --summary                # results/summary.md from the per-fold TSVs

Per message: results/{peer}-fold{k}.tsv  (path, class, verdict, score, action)
Per run:     results/{peer}-cv-meta.json (timings, Bayes counts, commands, machine)
Run setup.sh first. Daemons are started/stopped by this script (peers.py).
"""
import argparse
import glob
import json
import math
import os
import re
import sys
import time

import peers

PEERS = ("rspamd", "sa")
NAMES = {"rspamd": "rspamd", "sa": "SpamAssassin"}


def split(labels, k):
    train = [(c, p) for c, p in labels if peers.fold_of(p) != k]
    test = [(c, p) for c, p in labels if peers.fold_of(p) == k]
    return train, test


def rspamd_stat():
    """learn counters straight from redis (rspamc stat can lag behind)."""
    raw = peers.redis_cli("HGETALL", "RS").split("\n")
    d = dict(zip(raw[0::2], raw[1::2]))
    return {k: int(v) for k, v in d.items() if k.startswith("learns_")}


def fold_rspamd(k, labels, par):
    train, test = split(labels, k)
    t = {}
    peers.stop_rspamd()
    peers.start_redis()
    peers.rspamd_reset_bayes()
    peers.start_rspamd()
    t0 = time.time()
    learned = {"ham": [0, 0], "spam": [0, 0]}
    errors = {}
    for spam in (False, True):
        files = [peers.abspath(p) for c, p in train if (c != "ham") == spam]
        for i in range(0, len(files), 1000):
            ok, bad, errs = peers.rspamc_learn(files[i:i + 1000], spam,
                                            note="fold %d train, %d files" % (k, len(files[i:i + 1000])))
            learned["spam" if spam else "ham"][0] += ok
            learned["spam" if spam else "ham"][1] += bad
            for e, n in errs.items():
                errors[e] = errors.get(e, 0) + n
    t["train_s"] = time.time() - t0
    t["learned_ok_failed"] = learned
    t["learn_errors"] = errors
    t["bayes_stat"] = rspamd_stat()
    t0 = time.time()
    rows = []
    files = [peers.abspath(p) for c, p in test]
    res = {}
    for i in range(0, len(files), 1000):
        r, _ = peers.rspamc_scan(files[i:i + 1000], par=par, note="fold %d classify" % k)
        res.update(r)
    missing = [f for f in files if f not in res]
    for f in missing:  # retry one by one over HTTP
        try:
            with open(f, "rb") as fh:
                a, s, _, _ = peers.rspamd_check(fh.read())
            res[f] = (a, s)
        except Exception as e:  # noqa
            res[f] = ("error", float("nan"))
    for c, p in test:
        a, s = res[peers.abspath(p)]
        v = "error" if a == "error" else ("spam" if peers.rspamd_flagged(a) else "ham")
        rows.append((p, c, v, s, a))
    t["classify_s"] = time.time() - t0
    t["retried"] = len(missing)
    return rows, t


def fold_sa(k, labels, par):
    train, test = split(labels, k)
    t = {}
    peers.sa_reset_bayes()
    t0 = time.time()
    for spam in (False, True):
        files = [peers.abspath(p) for c, p in train if (c != "ham") == spam]
        peers.sa_train(files, spam, note="fold %d train, %d files in chunks of 800" % (k, len(files)))
    t["train_s"] = time.time() - t0
    t["bayes_magic"] = peers.sa_bayes_counts()
    peers.start_spamd(children=par)
    t0 = time.time()
    files = [peers.abspath(p) for c, p in test]
    res = {}

    def one(f):
        try:
            return peers.spamc_check(f)
        except Exception as e:  # noqa
            print("error:", e, file=sys.stderr)
            return None

    from concurrent.futures import ThreadPoolExecutor
    peers.log_cmd(peers.SPAMC + ["-c"], note="fold %d classify: one spamc per message, %d concurrent" % (k, par))
    with ThreadPoolExecutor(par) as ex:
        for f, r in zip(files, ex.map(one, files)):
            res[f] = r
    rows = []
    for c, p in test:
        r = res[peers.abspath(p)]
        if r is None:
            rows.append((p, c, "error", float("nan"), "error"))
        else:
            rows.append((p, c, "spam" if r[0] else "ham", r[1], "spam" if r[0] else "ham"))
    t["classify_s"] = time.time() - t0
    peers.stop_spamd()
    return rows, t


def write_rows(peer, k, rows):
    os.makedirs(peers.RESULTS, exist_ok=True)
    with open(os.path.join(peers.RESULTS, "%s-fold%d.tsv" % (peer, k)), "w") as f:
        f.write("path\tclass\tverdict\tscore\taction\n")
        for r in rows:
            f.write("%s\t%s\t%s\t%.2f\t%s\n" % r)


def run_cv(peer, folds, par):
    labels = peers.load_labels()
    meta_path = os.path.join(peers.RESULTS, "%s-cv-meta.json" % peer)
    meta = {"peer": peer, "par": par, "machine": peers.machine_info(), "folds": {}}
    if os.path.exists(meta_path):
        old = json.load(open(meta_path))
        meta["folds"] = {k: v for k, v in old.get("folds", {}).items() if int(k) not in folds}
    for k in folds:
        t0 = time.time()
        rows, t = (fold_rspamd if peer == "rspamd" else fold_sa)(k, labels, par)
        t["total_s"] = time.time() - t0
        t["n_test"] = len(rows)
        t["n_train"] = len(labels) - len(rows)
        write_rows(peer, k, rows)
        # re-read before writing: another cv.py (other PEER_WORK) may run other folds at once
        if os.path.exists(meta_path):
            meta["folds"].update({kk: v for kk, v in json.load(open(meta_path)).get("folds", {}).items()
                                  if kk != str(k)})
        meta["folds"][str(k)] = t
        t["peer_work"] = peers.W
        t["par"] = par
        meta["commands"] = peers.COMMANDS[:]
        json.dump(meta, open(meta_path, "w"), indent=1, sort_keys=True)
        print("%s fold %d: %s" % (peer, k, json.dumps(t)), flush=True)
    if peer == "rspamd":
        peers.stop_rspamd()


# ---------------------------------------------------------------- summary
def wilson(x, n, z=1.96):
    if n == 0:
        return (0.0, 0.0)
    p = x / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0, c - h), min(1, c + h))


def pct(x, n):
    lo, hi = wilson(x, n)
    return "%.2f%% (%d/%d; 95%% CI %.2f-%.2f)" % (100.0 * x / n if n else 0, x, n, 100 * lo, 100 * hi)


def source(path):
    parts = path.split("/")
    if parts[0] == "spamassassin":
        return "/".join(parts[:3])
    if parts[0] == "modern-ham":
        return "modern-ham"
    return parts[0]


def load_rows(peer):
    rows, folds = [], []
    for k in range(5):
        fn = os.path.join(peers.RESULTS, "%s-fold%d.tsv" % (peer, k))
        if not os.path.exists(fn):
            continue
        folds.append(k)
        with open(fn) as f:
            next(f)
            for line in f:
                p, c, v, s, a = line.rstrip("\n").split("\t")
                rows.append((k, p, c, v, float(s), a))
    return rows, folds


def summarize():
    out = ["# Peer filters: 5-fold cross-validation on the shared folds", ""]
    out.append("Generated by `bench/peers/cv.py --summary` from `results/{peer}-fold{k}.tsv`. "
               "Folds: `zlib.crc32(path) % 5` over `labels.tsv` paths; each fold trained on the other "
               "four (ham as ham, spam and phish as spam), Bayes reset before each fold. "
               "Flagged = the peer's spam verdict: SpamAssassin `score >= required_score (5.0)`; "
               "rspamd action `add header`, `rewrite subject` or `reject` (score >= 6 with default "
               "actions); rspamd `greylist` (4 <= score < 6) counts as not flagged here and is shown "
               "separately. No network: SpamAssassin `-L`, rspamd with its network modules off and "
               "a local dnsmasq answering NXDOMAIN.")
    out.append("")
    metas = {}
    for peer in PEERS:
        mp = os.path.join(peers.RESULTS, "%s-cv-meta.json" % peer)
        if os.path.exists(mp):
            metas[peer] = json.load(open(mp))
    m0 = next(iter(metas.values()))["machine"] if metas else peers.machine_info()
    out.append("Machine: %s; nproc %s; CPU `%s`; kernel %s. Versions: %s; %s; %s." % (
        m0["date"], m0["nproc"], m0["cpu"], m0["kernel"], m0["spamassassin"], m0["rspamd"],
        m0["redis"]))
    out.append("")
    # headline table
    out.append("| peer | folds | ham FP rate | spam caught | phish flagged | errors |")
    out.append("|---|---|---|---|---|---|")
    per_peer = {}
    for peer in PEERS:
        rows, folds = load_rows(peer)
        if not rows:
            continue
        per_peer[peer] = (rows, folds)
        cnt = {}
        for k, p, c, v, s, a in rows:
            cnt.setdefault(c, [0, 0, 0])
            cnt[c][0 if v == "spam" else (2 if v == "error" else 1)] += 1
        def r(c):
            x = cnt.get(c, [0, 0, 0])
            return pct(x[0], sum(x[:2]))
        out.append("| %s | %s | %s | %s | %s | %d |" % (
            NAMES[peer], ",".join(map(str, folds)), r("ham"), r("spam"), r("phish"),
            sum(v[2] for v in cnt.values())))
    out.append("")
    for peer, (rows, folds) in per_peer.items():
        out.append("## %s" % NAMES[peer])
        out.append("")
        nerr = sum(1 for r in rows if r[3] == "error")
        if nerr:
            out.append("Errors (%d) are messages the peer could not scan, left out of the rates: "
                       "the corpus' one empty file, `phishing_pot/phish/sample-2227.eml` (spamc exits 74 "
                       "on empty input; rspamd scores it 0 = not flagged)." % nerr)
            out.append("")
        if len(folds) < 5:
            out.append("**Only folds %s were run** (not all 5)." % ",".join(map(str, folds)))
            out.append("")
        out.append("Confusion table (all tested folds):")
        out.append("")
        out.append("| class | flagged | not flagged | errors | total |")
        out.append("|---|---:|---:|---:|---:|")
        for c in ("ham", "spam", "phish"):
            xs = [v for k, p, cc, v, s, a in rows if cc == c]
            out.append("| %s | %d | %d | %d | %d |" % (c, xs.count("spam"), xs.count("ham"),
                                                      xs.count("error"), len(xs)))
        out.append("")
        out.append("Per fold (flagged/total):")
        out.append("")
        out.append("| fold | ham FP | spam caught | phish flagged |")
        out.append("|---|---|---|---|")
        for k in folds:
            cells = []
            for c in ("ham", "spam", "phish"):
                xs = [v for kk, p, cc, v, s, a in rows if cc == c and kk == k]
                cells.append("%d/%d (%.2f%%)" % (xs.count("spam"), len(xs),
                                                  100.0 * xs.count("spam") / max(1, len(xs))))
            out.append("| %d | %s |" % (k, " | ".join(cells)))
        out.append("")
        out.append("Per source (flagged/total):")
        out.append("")
        out.append("| source | class | flagged | rate |")
        out.append("|---|---|---:|---:|")
        srcs = {}
        for k, p, c, v, s, a in rows:
            key = (source(p), c)
            srcs.setdefault(key, [0, 0])
            srcs[key][1] += 1
            srcs[key][0] += v == "spam"
        for (sname, c), (x, n) in sorted(srcs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            out.append("| %s | %s | %d/%d | %.2f%% |" % (sname, c, x, n, 100.0 * x / n))
        out.append("")
        if peer == "rspamd":
            out.append("rspamd actions per class:")
            out.append("")
            acts = sorted({a for *_, a in rows})
            out.append("| class | " + " | ".join(acts) + " |")
            out.append("|---|" + "---:|" * len(acts))
            for c in ("ham", "spam", "phish"):
                out.append("| %s | " % c + " | ".join(
                    str(sum(1 for k, p, cc, v, s, a in rows if cc == c and a == act)) for act in acts) + " |")
            out.append("")
            # alternative threshold: greylist or above
            out.append("If `greylist` (score >= 4) also counted as flagged: " + "; ".join(
                "%s %s" % (c, pct(sum(1 for k, p, cc, v, s, a in rows if cc == c and a != "no action" and a != "error"),
                                   sum(1 for k, p, cc, v, s, a in rows if cc == c)))
                for c in ("ham", "spam", "phish")) + ".")
            out.append("")
        meta = metas.get(peer)
        if meta:
            out.append("Timings and Bayes state per fold (wall seconds on a machine shared with other "
                       "builds, some folds side by side: not a speed measure; conc = spamd children "
                       "and concurrent clients):")
            out.append("")
            out.append("| fold | train msgs | test msgs | train s | classify s | conc | Bayes after training |")
            out.append("|---|---:|---:|---:|---:|---:|---|")
            for k in sorted(meta["folds"], key=int):
                t = meta["folds"][k]
                b = t.get("bayes_magic") or t.get("bayes_stat")
                out.append("| %s | %d | %d | %.0f | %.0f | %s | %s |" % (
                    k, t["n_train"], t["n_test"], t["train_s"], t["classify_s"], t.get("par", meta.get("par")),
                    ", ".join("%s=%s" % kv for kv in sorted(b.items())) if b else "?"))
            out.append("")
            out.append("Commands (as run, per fold; file lists elided):")
            out.append("")
            out.append("```")
            seen = set()
            for c in meta.get("commands", []):
                c = re.sub(r"( /\S+/corpus/\S+)+( / \.\.\. \(file list elided\))?( /\S*)?",
                           " <message files>", c)
                c = re.sub(r"\s+#.*$", "", c).replace(" ... (file list elided)", "")
                c = re.sub(r"<\d+ message files>", "<message files>", c)
                if c in seen:
                    continue
                seen.add(c)
                out.append(c)
            out.append("```")
            out.append("")
    with open(os.path.join(peers.RESULTS, "summary.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out[:20]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=PEERS)
    ap.add_argument("--folds", default="0,1,2,3,4")
    ap.add_argument("--par", type=int, default=2,
                    help="concurrency (spamd children and spamc clients / rspamc -n)")
    ap.add_argument("--summary", action="store_true")
    a = ap.parse_args()
    if a.peer:
        run_cv(a.peer, [int(x) for x in a.folds.split(",")], a.par)
    if a.summary:
        summarize()


if __name__ == "__main__":
    main()
