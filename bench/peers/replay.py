#!/usr/bin/env python3
"""Feedback-loop replay of the corpus through a peer (stdlib only).

The corpus is replayed in a fixed order (sorted by sha1 of the labels.tsv path), the peer
starting with an EMPTY Bayes. Each message is classified; with corrections on, every
mistake (ham flagged, spam/phish not flagged) is fed back at once as a correction
(rspamd: POST /learnham|/learnspam on the controller; SpamAssassin: spamc -L ham|spam to
spamd --allow-tell). Correct verdicts are not learned (train-on-error), as an admin
correcting only what users report would do. With corrections off nothing is ever learned.
Extra mode `learnall` (--modes learnall): every message is learned with its true label
right after it is classified (full feedback, an upper bound for the loop).

  python3 replay.py --peer rspamd            # both modes
  python3 replay.py --peer sa --modes feedback,static
  python3 replay.py --peer rspamd --modes feedback --min-learns 50   # -> replay-rspamd-min50.*

Writes results/replay-{peer}.tsv: one row per block of 500 messages and mode
(errors, ham FP, spam/phish missed, learned so far) and results/replay-{peer}.md.
Both peers need >= 200 learned ham AND 200 learned spam before their Bayes says
anything (rspamd min_learns, SpamAssassin bayes_min_ham_num/bayes_min_spam_num).
--min-learns N sets that minimum to N for the run: a marked line is appended to the copies
setup.sh made under $PEER_WORK (rspamd: local.d/classifier-bayes.conf `min_learns = N;`;
SpamAssassin: site local.cf `bayes_min_ham_num N` + `bayes_min_spam_num N`), the peer is
(re)started with it, and the lines are removed again at the end. Results then go to
replay-{peer}-min{N}.* (or --tag), so the default files are not overwritten. Without the
option the configs are as setup.sh wrote them (any marked line left by an interrupted run
is removed first), i.e. the packaged default of 200.
"""
import argparse
import json
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import peers

BLOCK = 500
MARK = "# replay.py --min-learns"


def bayes_min_files(peer):
    """The $PEER_WORK config file the Bayes minimum goes into, and its lines for N."""
    if peer == "rspamd":
        return (os.path.join(peers.W, "rspamd", "etc", "local.d", "classifier-bayes.conf"),
                lambda n: ["min_learns = %d; %s" % (n, MARK)])
    return (os.path.join(peers.W, "sa", "site", "local.cf"),
            lambda n: ["bayes_min_ham_num %d %s" % (n, MARK), "bayes_min_spam_num %d %s" % (n, MARK)])


def set_bayes_min(peer, n):
    """Remove our marked lines from the peer's config; with n, append the minimum = n.
    The file is rewritten in place (owner and mode kept). The peer reads it when
    run_mode (re)starts it."""
    fn, lines = bayes_min_files(peer)
    with open(fn) as f:
        keep = [l for l in f.read().splitlines() if MARK not in l]
    if n is not None:
        keep += lines(n)
    new = "\n".join(keep) + "\n"
    if new != open(fn).read():
        with open(fn, "w") as f:
            f.write(new)


def run_mode(peer, order, feedback, static_par=2, learn_all=False):
    if peer == "rspamd":
        peers.stop_rspamd()
        peers.start_redis()
        peers.rspamd_reset_bayes()
        peers.start_rspamd()
    else:
        peers.sa_reset_bayes()
        # one child: the same process learns and scans, strictly in order
        peers.start_spamd(children=1 if feedback else static_par, allow_tell=feedback)
    verdicts = []
    bayes_seen = []  # rspamd: seq of messages whose scan carried BAYES_SPAM/BAYES_HAM
    learned = {"ham": 0, "spam": 0}
    learn_fail = 0
    learn_errors = {}
    t0 = time.time()

    def classify(path):
        f = peers.abspath(path)
        if peer == "rspamd":
            with open(f, "rb") as fh:
                a, s, flagged, syms = peers.rspamd_check(fh.read())
            if any(x.startswith("BAYES_") for x in syms):
                bayes_seen.append(path)
            return flagged, s, a
        flagged, s = peers.spamc_check(f)
        return flagged, s, "spam" if flagged else "ham"

    if feedback:
        for i, (c, p) in enumerate(order):
            flagged, s, a = classify(p)
            wrong = flagged if c == "ham" else not flagged
            if wrong or learn_all:
                spam = c != "ham"
                if peer == "rspamd":
                    with open(peers.abspath(p), "rb") as fh:
                        r = peers.rspamd_learn(fh.read(), spam)
                    ok = r.get("success", False)
                    if not ok:
                        e = re.sub(r"<[^>]*>", "<id>", r.get("error", "?"))[:120]
                        learn_errors[e] = learn_errors.get(e, 0) + 1
                else:
                    rc, out = peers.spamc_learn(peers.abspath(p), spam)
                    ok = rc == 0
                if ok:
                    learned["spam" if spam else "ham"] += 1
                else:
                    learn_fail += 1
            verdicts.append((c, p, flagged, s, a, learned["ham"], learned["spam"]))
            if (i + 1) % 1000 == 0:
                print("%s feedback %d/%d %.0fs learned=%s" % (peer, i + 1, len(order), time.time() - t0, learned), flush=True)
    else:
        # nothing is learned, so order does not matter: scan 2 at a time
        with ThreadPoolExecutor(static_par if peer == "sa" else 2) as ex:
            for (c, p), (flagged, s, a) in zip(order, ex.map(lambda cp: classify(cp[1]), order)):
                verdicts.append((c, p, flagged, s, a, 0, 0))
    if peer == "sa":
        peers.stop_spamd()
    info = {"seconds": time.time() - t0, "learned": learned, "learn_failed": learn_fail,
            "learn_errors": learn_errors}
    if peer == "rspamd":
        seq = {p: i for i, (_, p) in enumerate(order)}
        s = sorted(seq[p] for p in bayes_seen)
        info["bayes_symbol_msgs"] = len(s)
        info["bayes_first_seq"] = s[0] if s else None
    return verdicts, info


def blocks(verdicts):
    out = []
    for b in range(0, len(verdicts), BLOCK):
        part = verdicts[b:b + BLOCK]
        row = {"block": b // BLOCK, "first": b, "n": len(part)}
        for cls in ("ham", "spam", "phish"):
            xs = [v for v in part if v[0] == cls]
            row[cls] = len(xs)
            row[cls + "_wrong"] = sum(1 for v in xs if (v[2] if cls == "ham" else not v[2]))
        row["errors"] = row["ham_wrong"] + row["spam_wrong"] + row["phish_wrong"]
        row["learned_ham"], row["learned_spam"] = part[-1][5], part[-1][6]
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=("rspamd", "sa"), required=True)
    ap.add_argument("--modes", default="feedback,static")
    ap.add_argument("--limit", type=int, default=0, help="replay only the first N messages")
    ap.add_argument("--static-par", type=int, default=2, help="SA: spamd children in static mode")
    ap.add_argument("--report-only", action="store_true", help="rewrite the reports from results/")
    ap.add_argument("--min-learns", type=int, default=None,
                    help="Bayes minimum of learned ham AND spam for the run (rspamd min_learns, SA "
                         "bayes_min_ham_num/bayes_min_spam_num); default: as configured (200)")
    ap.add_argument("--tag", default=None,
                    help="suffix of the result files (default: '-minN' with --min-learns, else none)")
    a = ap.parse_args()
    tag = a.tag if a.tag is not None else ("-min%d" % a.min_learns if a.min_learns is not None else "")
    name = a.peer + tag
    if not a.report_only:
        set_bayes_min(a.peer, a.min_learns)
    try:
        run_all(a, name)
    finally:
        if not a.report_only and a.min_learns is not None:
            set_bayes_min(a.peer, None)
            if a.peer == "sa":
                peers.stop_spamd()


def run_all(a, name):
    order = peers.sha1_order(peers.load_labels())
    if a.limit:
        order = order[:a.limit]
    os.makedirs(peers.RESULTS, exist_ok=True)
    meta_fn = os.path.join(peers.RESULTS, "replay-%s.json" % name)
    meta = json.load(open(meta_fn)) if os.path.exists(meta_fn) else {}
    meta.setdefault("modes", {})
    if a.report_only:
        # rebuild modes from per-message TSVs (e.g. a run stopped after its feedback mode)
        for mode in ("feedback", "static", "learnall"):
            fn = os.path.join(peers.RESULTS, "replay-%s-%s-messages.tsv" % (name, mode))
            if mode in meta["modes"] or not os.path.exists(fn):
                continue
            v = []
            with open(fn) as f:
                next(f)
                for line in f:
                    i, p, c, fl, sc, act, lh, ls = line.rstrip("\n").split("\t")
                    v.append((c, p, fl == "1", float(sc), act, int(lh), int(ls)))
            meta["modes"][mode] = {"seconds": float("nan"), "learned": {"ham": v[-1][5], "spam": v[-1][6]},
                                   "learn_failed": -1, "blocks": blocks(v), "n": len(v),
                                   "total_errors": sum(r["errors"] for r in blocks(v)),
                                   "note": "rebuilt from the per-message TSV (--report-only)"}
    for mode in ([] if a.report_only else a.modes.split(",")):
        v, info = run_mode(a.peer, order, mode in ("feedback", "learnall"), a.static_par,
                           learn_all=mode == "learnall")
        info["blocks"] = blocks(v)
        info["total_errors"] = sum(r["errors"] for r in info["blocks"])
        info["n"] = len(v)
        info["bayes_min_learns"] = a.min_learns if a.min_learns is not None else 200
        meta["modes"][mode] = info
        with open(os.path.join(peers.RESULTS, "replay-%s-%s-messages.tsv" % (name, mode)), "w") as f:
            f.write("seq\tpath\tclass\tflagged\tscore\taction\tlearned_ham\tlearned_spam\n")
            for i, (c, p, fl, s, act, lh, ls) in enumerate(v):
                f.write("%d\t%s\t%s\t%d\t%.2f\t%s\t%d\t%d\n" % (i, p, c, fl, s, act, lh, ls))
        print("%s %s: %d errors / %d in %.0fs" % (a.peer, mode, info["total_errors"], len(v), info["seconds"]), flush=True)
        meta["commands"] = peers.COMMANDS
        json.dump(meta, open(meta_fn, "w"), indent=1)
        write_reports(a.peer, meta, len(order), name)
    meta["machine"] = meta.get("machine") or peers.machine_info()
    meta["order"] = "sorted by sha1(path as in labels.tsv)"
    json.dump(meta, open(meta_fn, "w"), indent=1)
    if a.peer == "rspamd" and not a.report_only:
        peers.stop_rspamd()
    write_reports(a.peer, meta, len(order), name)


def write_reports(peer, meta, n_order, name=None):
    name = name or peer
    meta.setdefault("machine", peers.machine_info())
    a = argparse.Namespace(peer=peer)
    # TSV: one row per block and mode
    cols = ["mode", "block", "first", "n", "errors", "error_rate", "ham", "ham_wrong", "spam",
            "spam_wrong", "phish", "phish_wrong", "learned_ham", "learned_spam"]
    with open(os.path.join(peers.RESULTS, "replay-%s.tsv" % name), "w") as f:
        f.write("\t".join(cols) + "\n")
        for mode in ("feedback", "static", "learnall"):
            for r in meta["modes"].get(mode, {}).get("blocks", []):
                r = dict(r, mode=mode, error_rate="%.4f" % (r["errors"] / r["n"]))
                f.write("\t".join(str(r[c]) for c in cols) + "\n")
    # markdown view
    pname = "rspamd" if a.peer == "rspamd" else "SpamAssassin"
    mins = sorted({meta["modes"][m].get("bayes_min_learns", 200) for m in meta["modes"]})
    md = ["# Feedback-loop replay: %s%s" % (pname, "" if mins == [200] else
                                            " (Bayes minimum %s learned ham and spam)" % "/".join(map(str, mins))), "",
          "Order: sorted by sha1(path); peer starts with an empty Bayes. `feedback` = every "
          "mistake is learned at once (train-on-error); `static` = corrections off; `learnall` (extra, "
          "if run) = every message is learned with its true label right after it is classified. Error = ham "
          "flagged, or spam/phish not flagged. Blocks of %d messages. Bayes gives an opinion only once "
          "it has learned >= %s ham AND >= %s spam (%s)." % (
              BLOCK, "/".join(map(str, mins)), "/".join(map(str, mins)),
              "rspamd `min_learns`" if a.peer == "rspamd" else "SpamAssassin `bayes_min_ham_num`/`bayes_min_spam_num`"), ""]
    if n_order < 8577:
        md += ["**Only the first %d messages of that order were replayed** (time limit)." % n_order, ""]
    modes = [m for m in ("feedback", "static", "learnall") if m in meta["modes"]]
    md.append("| block | " + " | ".join("%s errors (ham FP, spam missed, phish missed)" % m for m in modes) + " | learned ham/spam (feedback) |")
    md.append("|---|" + "---|" * len(modes) + "---|")
    nb = max(len(meta["modes"][m]["blocks"]) for m in modes)
    for i in range(nb):
        cells = []
        for m in modes:
            r = meta["modes"][m]["blocks"][i]
            cells.append("%.1f%% (%d/%d; %d/%d, %d/%d, %d/%d)" % (
                100.0 * r["errors"] / r["n"], r["errors"], r["n"], r["ham_wrong"], r["ham"],
                r["spam_wrong"], r["spam"], r["phish_wrong"], r["phish"]))
        fb = meta["modes"].get("feedback", {}).get("blocks", [])
        lcell = "%d/%d" % (fb[i]["learned_ham"], fb[i]["learned_spam"]) if i < len(fb) else ""
        md.append("| %d | %s | %s |" % (i, " | ".join(cells), lcell))
    md.append("")
    for m in modes:
        info = meta["modes"][m]
        md.append("- %s: %d errors in %d messages (%.2f%%), %.0f s, learned %s, learn failures %d%s" % (
            m, info["total_errors"], info["n"], 100.0 * info["total_errors"] / info["n"], info["seconds"],
            info["learned"], info["learn_failed"], " (%s)" % info["note"] if info.get("note") else ""))
        if "bayes_symbol_msgs" in info:
            md.append("  - %s: BAYES_SPAM/BAYES_HAM in the scan of %d messages (first at seq %s)" % (
                m, info["bayes_symbol_msgs"], info["bayes_first_seq"]))
    md.append("- %s; nproc %s; CPU `%s`" % (meta["machine"]["date"], meta["machine"]["nproc"], meta["machine"]["cpu"]))
    md.append("")
    with open(os.path.join(peers.RESULTS, "replay-%s.md" % name), "w") as f:
        f.write("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
