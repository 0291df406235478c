#!/usr/bin/env python3
"""The peers on the hand-written probe sets (bench/probes, bench/probes2, bench/probes3), stdlib only.

Each set is a folder with ham/ and phish/ subfolders of .eml files (see its README.md),
mail outside the training corpus. As bench/probes.sh does for mailwarden, the peer's Bayes
is trained on the WHOLE corpus first (ham as ham; spam AND phish as spam), no network,
then every probe message is scanned once and the peer's verdict kept:
  rspamd: Bayes reset (redis FLUSHALL), all labelled messages learned through the
          controller (rspamc learn_ham|learn_spam, as throughput.py); scan with ONE rspamc
          per set/class folder, -n 1 (one request at a time, one normal worker).
          Flagged = action add header / rewrite subject / reject (score >= 6); greylist
          (4-6) and no action are not flagged, soft reject is a temporary failure, not a
          verdict (counted apart if it ever shows up).
  SpamAssassin: Bayes DB reset and the corpus learned with sa-learn -L (as throughput.py),
          or an existing DB reused (--reuse-bayes, --sa-reuse-cv-fold K); spamd -L with ONE
          child, one spamc -c at a time (verdict = spamc's exit code, i.e. score >= 5.0),
          then one spamc -y per message for the names of the rules hit.

  python3 probes.py --peer rspamd                          # sets probes,probes2,probes3 (those present)
  python3 probes.py --peer sa --sa-reuse-cv-fold 4          # DB cv.py left after fold 4 + fold 4
  python3 probes.py --peer sa --reuse-bayes --sets probes3  # keep the SA DB, offer the corpus again
  python3 probes.py --report-only                           # rewrite results/probes.md

--reuse-bayes (SpamAssassin only) keeps the DB under $PEER_WORK/sa/bayes and offers the whole
corpus again: sa-learn skips what its bayes_seen holds, so the DB ends up holding the whole
corpus either way (re-offering it to a DB that has it changed no count; 81 s here). Not
for rspamd: re-offering the corpus to a trained rspamd learned ~1300
ham and ~900 spam a second time (its learned-digest cache does not remember them all), and
training it from scratch takes under a minute anyway.
Writes results/probes-{peer}.tsv (set, class, file, verdict, score, action, symbols),
results/probes-{peer}.json (timings, Bayes counts, load averages, commands) and
results/probes.md (both peers). Rows of sets not scanned in this run are kept.
Run setup.sh first. Daemons are started/stopped by this script (peers.py).
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import time

import peers
import throughput

BENCH = os.path.dirname(peers.HERE)
DEFAULT_SETS = "probes,probes2,probes3"
NAMES = {"rspamd": "rspamd 3.4", "sa": "SpamAssassin 4.0.1"}
CLASSES = ("ham", "phish")
TSV_HEAD = "set\tclass\tfile\tverdict\tscore\taction\tsymbols\n"


def load():
    return open("/proc/loadavg").read().split()[:3]


def set_dir(name):
    return name if os.path.isabs(name) else os.path.join(BENCH, name)


def probe_files(sets):
    """{set: {class: [abs .eml files, sorted]}} for the sets that have files; [missing sets]."""
    out, missing = {}, []
    for s in sets:
        d = set_dir(s)
        per = {c: sorted(glob.glob(os.path.join(d, c, "*.eml"))) for c in CLASSES}
        if sum(map(len, per.values())):
            out[os.path.basename(d.rstrip("/"))] = per
        else:
            missing.append(s)
    return out, missing


def elide(cmd, files, what):
    """log line for a command with a probe file list (peers.log_cmd only elides corpus files)."""
    fs = set(files)
    first = next(i for i, c in enumerate(cmd) if c in fs)
    rest = [c for c in cmd[first:] if c not in fs]
    return " ".join(map(shlex.quote, cmd[:first])) + " <%s: %d files>" % (what, len(files)) + \
        (" " + " ".join(map(shlex.quote, rest)) if rest else "")


# ---------------------------------------------------------------- training
def corpus_check(peer, counts, labels):
    n_ham = sum(1 for c, p in labels if c == "ham")
    n_spam = len(labels) - n_ham
    if peer == "rspamd":
        h, s = int(counts.get("learns_ham", 0)), int(counts.get("learns_spam", 0))
    else:
        h, s = counts.get("nham", 0), counts.get("nspam", 0)
    # duplicates (rspamd digest, SA Message-ID), tiny and empty messages are refused: a few %
    if h < 0.95 * n_ham or s < 0.93 * n_spam:
        raise RuntimeError("Bayes does not hold the whole corpus: %s (corpus: %d ham, %d spam+phish)"
                           % (counts, n_ham, n_spam))


def rspamd_counts():
    raw = peers.redis_cli("HGETALL", "RS").split("\n")
    return dict(zip(raw[0::2], raw[1::2])) if len(raw) > 1 else {}


def train_rspamd(labels):
    peers.stop_rspamd()
    peers.start_redis()
    peers.rspamd_reset_bayes()
    peers.start_rspamd()
    t = throughput.train_all("rspamd", labels)
    after = rspamd_counts()
    corpus_check("rspamd", after, labels)
    return {"train_s": round(t, 1), "training": "Bayes reset (FLUSHALL), whole corpus learned", "bayes": after}


def train_sa(labels, reuse, cv_fold):
    peers.stop_spamd()
    if reuse or cv_fold is not None:
        before = peers.sa_bayes_counts()
        rest = labels if cv_fold is None else [(c, p) for c, p in labels if peers.fold_of(p) == cv_fold]
        t = throughput.train_all("sa", rest)
        how = ("reused DB (%s), whole corpus offered again (already learned ones skipped)" % before
               if cv_fold is None else
               "DB of cv.py fold %d (%s) + fold %d learned" % (cv_fold, before, cv_fold))
    else:
        peers.sa_reset_bayes()
        t = throughput.train_all("sa", labels)
        how = "Bayes DB reset, whole corpus learned"
    after = peers.sa_bayes_counts()
    corpus_check("sa", after, labels)
    return {"train_s": round(t, 1), "training": how, "bayes": after}


# ---------------------------------------------------------------- scanning
_SYM_RE = re.compile(r"^Symbol: (\S+) \((-?[\d.]+)\)", re.M)


def scan_rspamd(files, what):
    """One rspamc process, one request at a time. Returns {file: (verdict, score, action, symbols)}."""
    res, p = peers.rspamc_scan(files, par=1, note=what)
    cmd = peers.NICE + ["rspamc", "-h", "%s:%d" % peers.RSPAMD_NORMAL, "-n", "1", "-t", "120"] + files
    peers.COMMANDS[-1] = elide(cmd, files, what)
    syms = {}
    parts = peers._RES_RE.split(p.stdout)
    for i in range(1, len(parts) - 1, 2):
        syms[parts[i]] = ",".join("%s(%s)" % m for m in _SYM_RE.findall(parts[i + 1]))
    out = {}
    for f in files:
        if f in res:
            a, s = res[f]
            how = "rspamc"
        else:  # not in rspamc's output (timeout, error): once more over HTTP
            try:
                with open(f, "rb") as fh:
                    a, s, _, sy = peers.rspamd_check(fh.read())
                syms[f] = ",".join(sy)
                how = "http retry"
            except Exception as e:  # noqa
                print("error: %s: %s" % (f, e), file=sys.stderr)
                out[f] = ("error", float("nan"), "error: %s" % e, "")
                continue
        v = "spam" if peers.rspamd_flagged(a) else ("softreject" if a == "soft reject" else "ham")
        out[f] = (v, s, a if how == "rspamc" else a + " (" + how + ")", syms.get(f, ""))
    return out


def sa_tests(path):
    """spamc -y: comma-separated names of the rules hit."""
    with open(path, "rb") as f:
        p = subprocess.run(peers.SPAMC + ["-y"], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.stdout.decode().strip()


def scan_sa(files, what):
    out = {}
    peers.log_cmd(peers.SPAMC + ["-c"], note="%s: one spamc per message, sequential, %d messages" % (what, len(files)))
    peers.log_cmd(peers.SPAMC + ["-y"], note="%s: rule names, again one at a time" % what)
    for f in files:
        try:
            spam, score = peers.spamc_check(f)
        except Exception as e:  # noqa
            print("error:", e, file=sys.stderr)
            out[f] = ("error", float("nan"), "error", "")
            continue
        out[f] = ("spam" if spam else "ham", score, "spam" if spam else "ham", sa_tests(f))
    return out


# ---------------------------------------------------------------- run
def tsv_path(peer):
    return os.path.join(peers.RESULTS, "probes-%s.tsv" % peer)


def read_tsv(peer):
    rows = []
    fn = tsv_path(peer)
    if os.path.exists(fn):
        with open(fn) as f:
            next(f)
            for line in f:
                r = line.rstrip("\n").split("\t")
                rows.append((r[0], r[1], r[2], r[3], float(r[4]), r[5], r[6]))
    return rows


def run(peer, set_names, reuse, cv_fold):
    labels = peers.load_labels()
    sets, missing = probe_files(set_names)
    if not sets:
        sys.exit("no probe files in %s" % set_names)
    for s in missing:
        print("set %s: no .eml files (skipped)" % s, flush=True)
    invocation = " ".join(["%s=%s" % (k, shlex.quote(os.environ[k])) for k in
                           ("PEER_WORK", "PEER_SPAMD_PORT") if k in os.environ] +
                          (["nice", "-n", str(os.nice(0))] if os.nice(0) else []) +
                          ["python3", "probes.py"] + [shlex.quote(a) for a in sys.argv[1:]])
    meta = {"peer": peer, "invocation": invocation, "peer_work": peers.W,
            "machine": peers.machine_info(), "loadavg_start": load(),
            "sets_requested": set_names, "sets_missing": missing}
    t0 = time.time()
    meta.update(train_rspamd(labels) if peer == "rspamd" else train_sa(labels, reuse, cv_fold))
    print("%s trained in %.0f s: %s" % (peer, meta["train_s"], meta["bayes"]), flush=True)
    if peer == "sa":
        peers.start_spamd(children=1)
    rows = []
    meta["scan"] = {}
    for s, per in sets.items():
        ts, la0 = time.time(), load()
        for c in CLASSES:
            files = per[c]
            if not files:
                continue
            what = "%s/%s" % (s, c)
            res = scan_rspamd(files, what) if peer == "rspamd" else scan_sa(files, what)
            for f in files:
                v, sc, a, sy = res[f]
                rows.append((s, c, os.path.basename(f), v, sc, a, sy))
        meta["scan"][s] = {"wall_s": round(time.time() - ts, 1), "loadavg_before": la0,
                           "loadavg_after": load(), "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
                           "n": {c: len(per[c]) for c in CLASSES}}
        print("%s %s: %s" % (peer, s, json.dumps(meta["scan"][s])), flush=True)
    if peer == "sa":
        peers.stop_spamd()
    else:
        peers.stop_rspamd()
    meta["total_s"] = round(time.time() - t0, 1)
    meta["loadavg_end"] = load()
    meta["commands"] = peers.COMMANDS[:]
    # keep rows (and their run's metadata) of sets not scanned now
    os.makedirs(peers.RESULTS, exist_ok=True)
    old = [r for r in read_tsv(peer) if r[0] not in sets]
    jp = os.path.join(peers.RESULTS, "probes-%s.json" % peer)
    runs = []
    if os.path.exists(jp):
        for r in json.load(open(jp)).get("runs", []):
            r["scan"] = {k: v for k, v in r.get("scan", {}).items() if k not in sets}
            if r["scan"]:
                runs.append(r)
    runs.append(meta)
    order = {s: i for i, s in enumerate(sorted({r[0] for r in old + rows}))}
    allrows = sorted(old + rows, key=lambda r: (order[r[0]], CLASSES.index(r[1]), r[2]))
    with open(tsv_path(peer), "w") as f:
        f.write(TSV_HEAD)
        for r in allrows:
            f.write("%s\t%s\t%s\t%s\t%.2f\t%s\t%s\n" % r)
    json.dump({"peer": peer, "runs": runs}, open(jp, "w"), indent=1)


# ---------------------------------------------------------------- report
def frac(rows, c, v="spam"):
    xs = [r for r in rows if r[1] == c]
    return "%d/%d" % (sum(1 for r in xs if r[3] == v), len(xs))


# symbols that fire here because the setup is offline: rspamc passes no client IP/hostname (the
# IP then comes from the Received headers; hfilter skips local IPs) and dnsmasq answers NXDOMAIN.
# With an MTA in front (IP, hostname) and DNS most of them would not fire on real senders.
OFFLINE_SYMS = ("HFILTER_HOSTNAME_UNKNOWN", "HFILTER_FROMHOST_NORES_A_OR_MX", "RDNS_NONE")


def offline_score(sy):
    """sum of an rspamd row's symbol scores without OFFLINE_SYMS (approximate: 2 decimals)."""
    tot = 0.0
    for p in sy.split(","):
        m = re.match(r"^(.+)\((-?[\d.]+)\)$", p)
        if m and m.group(1) not in OFFLINE_SYMS:
            tot += float(m.group(2))
    return tot


def top_syms(sy, n=6):
    """the n highest-scoring rspamd symbols, or the SA rule names (no scores from spamc -y)."""
    parts = [p for p in sy.split(",") if p]
    scored = []
    for p in parts:
        m = re.match(r"^(.+)\((-?[\d.]+)\)$", p)
        scored.append((abs(float(m.group(2))) if m else 0.0, p))
    if any(s for s, _ in scored):
        parts = [p for s, p in sorted(scored, key=lambda x: -x[0]) if s][:n]
        return ", ".join(parts)
    return ", ".join(parts)


def report():
    data = {}
    for peer in ("rspamd", "sa"):
        jp = os.path.join(peers.RESULTS, "probes-%s.json" % peer)
        if os.path.exists(jp) and os.path.exists(tsv_path(peer)):
            data[peer] = (json.load(open(jp)), read_tsv(peer))
    out = ["# Peers on the hand-written probe sets", "",
           "Generated by `bench/peers/probes.py` from `results/probes-{peer}.tsv|json`. Each peer's "
           "Bayes was trained on the whole corpus (`/work/shared/corpus/labels.tsv`: ham as ham, "
           "spam and phish as spam), then every `.eml` in `bench/<set>/ham` and `bench/<set>/phish` "
           "was scanned once, offline (SpamAssassin `-L`, no Razor/Pyzor/DCC, no DNS; rspamd with "
           "its network modules off and a local dnsmasq answering NXDOMAIN). Flagged = the peer's "
           "spam verdict: SpamAssassin score >= 5.0 (spamc's exit code); rspamd action `add header`, "
           "`rewrite subject` or `reject` (score >= 6). rspamd `greylist` (score 4-6) is not "
           "flagged and is shown apart. The probes are few and hand-written: read the counts as "
           "a check for blind spots, not as rates.", ""]
    sets = sorted({r[0] for _, rows in data.values() for r in rows})
    for s in sets:
        out.append("## %s" % s)
        out.append("")
        out.append("| peer | ham flagged (spam verdict) | phish flagged (spam verdict) | notes |")
        out.append("|---|---:|---:|---|")
        for peer, (meta, rows) in data.items():
            rs = [r for r in rows if r[0] == s]
            if not rs:
                continue
            notes = []
            if peer == "rspamd":
                g = {c: sum(1 for r in rs if r[1] == c and r[5].startswith("greylist")) for c in CLASSES}
                notes.append("greylist (not flagged): ham %d, phish %d" % (g["ham"], g["phish"]))
                o = {c: sum(1 for r in rs if r[1] == c and r[3] == "spam" and offline_score(r[6]) < 6.0) for c in CLASSES}
                notes.append("flagged only with the offline DNS symbols (%s): ham %d, phish %d"
                             % ("/".join(sorted(OFFLINE_SYMS)), o["ham"], o["phish"]))
                other = sorted({r[5] for r in rs if r[3] != "spam" and r[5] != "no action"
                                and not r[5].startswith("greylist")})
                if other:
                    notes.append("other actions, not flagged: " + ", ".join(other))
            else:
                near = {c: sum(1 for r in rs if r[1] == c and r[3] != "spam" and r[4] >= 4.0) for c in CLASSES}
                notes.append("score 4.0-4.9 (not flagged): ham %d, phish %d" % (near["ham"], near["phish"]))
            errs = sum(1 for r in rs if r[3] in ("error", "softreject"))
            if errs:
                notes.append("%d errors/soft rejects (left in N, not flagged)" % errs)
            out.append("| %s | %s | %s | %s |" % (NAMES[peer], frac(rs, "ham"), frac(rs, "phish"), "; ".join(notes)))
        out.append("")
        for peer, (meta, rows) in data.items():
            rs = [r for r in rows if r[0] == s]
            if not rs:
                continue
            fp = [r for r in rs if r[1] == "ham" and r[3] == "spam"]
            fn = [r for r in rs if r[1] == "phish" and r[3] != "spam"]
            out.append("%s, ham flagged (%d):%s" % (NAMES[peer], len(fp), "" if fp else " none"))
            for r in fp:
                out.append("- `%s` %.2f (%s): %s" % (r[2], r[4], r[5], top_syms(r[6])))
            out.append("")
            out.append("%s, phish not flagged (%d), by score:" % (NAMES[peer], len(fn)))
            out.append("")
            out.append(", ".join("`%s` %.2f%s" % (r[2], r[4], " (greylist)" if r[5].startswith("greylist") else "")
                                 for r in sorted(fn, key=lambda r: -r[4])) or "none")
            out.append("")
    out.append("## Runs")
    out.append("")
    for peer, (meta, rows) in data.items():
        for m in meta["runs"]:
            out.append("### %s: sets %s" % (NAMES[peer], ", ".join(sorted(m["scan"]))))
            out.append("")
            mi = m["machine"]
            out.append("- started %s; %s; nproc %s; CPU `%s`" % (mi["date"], mi["spamassassin"] if peer == "sa"
                                                                 else mi["rspamd"], mi["nproc"], mi["cpu"]))
            out.append("- run as: `%s` (PEER_WORK %s)" % (m["invocation"], m["peer_work"]))
            out.append("- Bayes: %s in %.0f s; counts after: %s" % (m["training"], m["train_s"],
                                                                  ", ".join("%s=%s" % kv for kv in sorted(m["bayes"].items()))))
            out.append("- load average at start %s, at end %s; total %.0f s" % (
                " ".join(m["loadavg_start"]), " ".join(m["loadavg_end"]), m["total_s"]))
            for s, sc in sorted(m["scan"].items()):
                out.append("- %s scanned %s: %s ham + %s phish in %.0f s, load average before/after %s / %s" % (
                    s, sc["date"], sc["n"]["ham"], sc["n"]["phish"], sc["wall_s"],
                    " ".join(sc["loadavg_before"]), " ".join(sc["loadavg_after"])))
            if m.get("sets_missing"):
                out.append("- sets requested but without .eml files: %s" % ", ".join(m["sets_missing"]))
            out.append("")
            out.append("```")
            out.extend(m["commands"])
            out.append("```")
            out.append("")
    with open(os.path.join(peers.RESULTS, "probes.md"), "w") as f:
        f.write("\n".join(out) + "\n")
    print("\n".join(out[:40]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=("rspamd", "sa"))
    ap.add_argument("--sets", default=DEFAULT_SETS,
                    help="comma-separated folders under bench/ (or absolute paths), each with ham/ and phish/")
    ap.add_argument("--reuse-bayes", action="store_true",
                    help="SA: keep the trained Bayes DB and offer the corpus again (already learned ones are skipped)")
    ap.add_argument("--sa-reuse-cv-fold", type=int, default=None,
                    help="SA: start from the Bayes DB cv.py left after fold K and learn only fold K")
    ap.add_argument("--report-only", action="store_true", help="rewrite results/probes.md only")
    a = ap.parse_args()
    if not a.report_only:
        if not a.peer:
            ap.error("--peer is required (or --report-only)")
        if a.peer == "rspamd" and (a.reuse_bayes or a.sa_reuse_cv_fold is not None):
            ap.error("--reuse-bayes/--sa-reuse-cv-fold are for --peer sa: rspamd is always retrained")
        run(a.peer, [s for s in a.sets.split(",") if s], a.reuse_bayes, a.sa_reuse_cv_fold)
    report()


if __name__ == "__main__":
    main()
