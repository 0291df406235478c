#!/usr/bin/env python3
"""Scan throughput of the peers, in messages per CPU-second of the daemon and per wall-second.

Bayes is first trained on the whole corpus (ham as ham, spam+phish as spam), no DNS
(local dnsmasq answers NXDOMAIN at once), then:
  rspamd: one `normal` worker (Bayes in redis); every message of the corpus is scanned with
          rspamc -n 4 (4 requests in flight so the single worker never waits for the client).
  SpamAssassin: spamd -L with ONE child (--max-conn-per-child large, so it is never
          recycled); a fixed sample (every k-th message in sha1(path) order, default 500)
          is scanned with one spamc at a time.
CPU = utime+stime from /proc/PID/stat of the daemon processes, read before and after
(plus cutime+cstime, i.e. children that exited and were reaped, if any). A warm-up scan of
a few messages is done before the first reading.

  python3 throughput.py --peer rspamd
  python3 throughput.py --peer sa --sa-sample 500      # 0 = whole corpus
Writes results/throughput-{peer}.json and (re)writes results/throughput.md.
"""
import argparse
import json
import os
import time

import peers


def snapshot(pids):
    return {p: peers.cpu_ticks(p) for p in pids}


def load():
    return open("/proc/loadavg").read().split()[:3]


def train_all(peer, labels):
    t0 = time.time()
    for spam in (False, True):
        files = [peers.abspath(p) for c, p in labels if (c != "ham") == spam]
        if peer == "rspamd":
            for i in range(0, len(files), 1000):
                peers.rspamc_learn(files[i:i + 1000], spam, note="train on all, %d files" % len(files[i:i + 1000]))
        else:
            peers.sa_train(files, spam, note="train on all, %d files in chunks of 800" % len(files))
    return time.time() - t0


def bench_rspamd(labels, conc):
    peers.stop_rspamd()
    peers.start_redis()
    peers.rspamd_reset_bayes()
    peers.start_rspamd()
    train_s = train_all("rspamd", labels)
    files = [peers.abspath(p) for c, p in peers.sha1_order(labels)]
    peers.rspamc_scan(files[:100], par=conc, note="warm-up")
    workers = peers.rspamd_workers()
    normal = [p for p, t in workers.items() if "normal" in t]
    assert len(normal) == 1, workers
    main = peers.rspamd_main_pid()
    rpid = peers.redis_pid()
    allp = [main] + list(workers)
    b_all, b_redis, la0 = snapshot(allp), peers.cpu_ticks(rpid), load()
    t0 = time.time()
    res = {}
    for i in range(0, len(files), 3000):
        r, _ = peers.rspamc_scan(files[i:i + 3000], par=conc, note="timed scan, %d files" % len(files[i:i + 3000]))
        res.update(r)
    wall = time.time() - t0
    a_all, a_redis, la1 = snapshot(allp), peers.cpu_ticks(rpid), load()
    if set(peers.rspamd_workers()) != set(workers):
        raise RuntimeError("rspamd workers changed during the run")
    d = {p: a_all[p] - b_all[p] for p in allp}
    n = len(res)
    cpu_normal = d[normal[0]]
    cpu_all = sum(d.values())
    cpu_redis = a_redis - b_redis
    flagged = sum(1 for a, s in res.values() if peers.rspamd_flagged(a))
    return {
        "peer": "rspamd", "messages": n, "missing": len(files) - n, "wall_s": wall,
        "cpu_normal_worker_s": cpu_normal, "cpu_all_rspamd_s": cpu_all, "cpu_redis_s": cpu_redis,
        "msgs_per_cpu_s_worker": n / cpu_normal,
        "msgs_per_cpu_s_rspamd_plus_redis": n / (cpu_all + cpu_redis),
        "msgs_per_wall_s": n / wall, "client_concurrency": conc, "train_s": train_s,
        "bayes": {k: v for k, v in zip(*[iter(peers.redis_cli("HGETALL", "RS").split("\n"))] * 2)},
        "flagged": flagged, "loadavg_before": la0, "loadavg_after": la1,
        "per_process_cpu_s": {"%d %s" % (p, (workers.get(p) or "main")[:60]): round(v, 2) for p, v in d.items()},
    }


def bench_sa(labels, sample, reuse_cv_fold=None):
    if reuse_cv_fold is None:
        peers.sa_reset_bayes()
        train_s = train_all("sa", labels)
    else:
        # cv.py leaves the Bayes DB of its last fold (trained on the other four folds):
        # learning that fold's messages too gives the same DB as training on everything.
        peers.stop_spamd()
        before = peers.sa_bayes_counts()
        rest = [(c, p) for c, p in labels if peers.fold_of(p) == reuse_cv_fold]
        train_s = train_all("sa", rest)
        train_s = "%.0f s for fold %d only (DB of cv.py fold %d: %s)" % (train_s, reuse_cv_fold, reuse_cv_fold, before)
    magic = peers.sa_bayes_counts()
    if magic.get("nham", 0) + magic.get("nspam", 0) < 0.95 * len(labels):
        raise RuntimeError("Bayes not trained on the corpus: %s" % magic)
    order = peers.sha1_order(labels)
    if sample and sample < len(order):
        step = len(order) / sample
        chosen = [order[int(i * step)] for i in range(sample)]
    else:
        chosen = order
    files = [peers.abspath(p) for c, p in chosen]
    peers.start_spamd(children=1)
    warm = [peers.abspath(p) for c, p in order if (c, p) not in set(chosen)][:10]
    for f in warm:
        peers.spamc_check(f)
    parent = peers.spamd_pid()
    kids = peers.children_of(parent)
    assert len(kids) == 1, kids
    pids = [parent] + kids
    b, la0 = snapshot(pids), load()
    peers.log_cmd(peers.SPAMC + ["-c"], note="timed scan: one spamc per message, sequential, %d messages" % len(files))
    t0 = time.time()
    flagged = 0
    for f in files:
        flagged += peers.spamc_check(f)[0]
    wall = time.time() - t0
    a, la1 = snapshot(pids), load()
    if peers.children_of(parent) != kids:
        raise RuntimeError("spamd child changed during the run")
    d = {p: a[p] - b[p] for p in pids}
    n = len(files)
    peers.stop_spamd()
    return {
        "peer": "sa", "messages": n, "sample": "every %.2fth message in sha1(path) order" % (len(order) / n)
        if n < len(order) else "whole corpus", "classes": {c: sum(1 for cc, p in chosen if cc == c) for c in ("ham", "spam", "phish")},
        "wall_s": wall, "cpu_child_s": d[kids[0]], "cpu_parent_s": d[parent],
        "msgs_per_cpu_s_child": n / d[kids[0]], "msgs_per_cpu_s_spamd_total": n / sum(d.values()),
        "msgs_per_wall_s": n / wall, "train_s": train_s, "bayes_magic": magic, "flagged": flagged,
        "loadavg_before": la0, "loadavg_after": la1,
    }


def write_md():
    out = ["# Peer scan throughput", "",
           "Generated by `bench/peers/throughput.py`. Bayes trained on the whole corpus first; "
           "no network (local dnsmasq answers NXDOMAIN at once). CPU = utime+stime of the daemon "
           "processes from /proc/PID/stat before/after the timed scan (client CPU not counted). "
           "The machine is shared with other builds: check the load averages shown; runs under "
           "load give lower figures, CPU-second ones included.", ""]
    for peer in ("rspamd", "sa"):
        fn = os.path.join(peers.RESULTS, "throughput-%s.json" % peer)
        if not os.path.exists(fn):
            continue
        r = json.load(open(fn))
        m = r["machine"]
        out.append("## %s" % ("rspamd" if peer == "rspamd" else "SpamAssassin"))
        out.append("")
        out.append("%s; nproc %s; CPU `%s`; %s" % (m["date"], m["nproc"], m["cpu"],
                                                   m["rspamd"] if peer == "rspamd" else m["spamassassin"]))
        out.append("")
        if peer == "rspamd":
            out.append("- messages: %d (whole corpus), rspamc -n %d, one `normal` worker" % (r["messages"], r["client_concurrency"]))
            out.append("- **%.0f msgs per CPU-second** of the normal worker (%.1f CPU-s)" % (r["msgs_per_cpu_s_worker"], r["cpu_normal_worker_s"]))
            out.append("- %.0f msgs per CPU-second counting all rspamd processes + redis-server (%.1f + %.1f CPU-s)" % (
                r["msgs_per_cpu_s_rspamd_plus_redis"], r["cpu_all_rspamd_s"], r["cpu_redis_s"]))
            out.append("- %.0f msgs per wall-second (%.1f s)" % (r["msgs_per_wall_s"], r["wall_s"]))
            out.append("- Bayes: %s; flagged %d" % (r["bayes"], r["flagged"]))
        else:
            out.append("- messages: %d (%s; %s), spamd -L with 1 child, sequential spamc" % (r["messages"], r["sample"], r["classes"]))
            out.append("- **%.1f msgs per CPU-second** of the spamd child (%.1f CPU-s)" % (r["msgs_per_cpu_s_child"], r["cpu_child_s"]))
            out.append("- %.1f msgs per CPU-second counting parent + child" % r["msgs_per_cpu_s_spamd_total"])
            out.append("- %.1f msgs per wall-second (%.1f s)" % (r["msgs_per_wall_s"], r["wall_s"]))
            out.append("- Bayes: %s; flagged %d; training: %s" % (r["bayes_magic"], r["flagged"], r["train_s"]))
        out.append("- load average before/after: %s / %s" % (" ".join(r["loadavg_before"]), " ".join(r["loadavg_after"])))
        out.append("")
        u = os.path.join(peers.RESULTS, "throughput-%s-underload.json" % peer)
        if os.path.exists(u):
            ru = json.load(open(u))
            k = "msgs_per_cpu_s_worker" if peer == "rspamd" else "msgs_per_cpu_s_child"
            out.append("- an earlier run of the same, while other builds loaded the machine (load %s), "
                       "gave %.1f msgs/CPU-s and %.1f msgs/wall-s (`%s`): contention inflates CPU "
                       "time as well" % (" ".join(ru["loadavg_before"]), ru[k], ru["msgs_per_wall_s"],
                                         os.path.basename(u)))
        out.append("")
        out.append("```")
        out.extend(r["commands"])
        out.append("```")
        out.append("")
    with open(os.path.join(peers.RESULTS, "throughput.md"), "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", choices=("rspamd", "sa"), required=True)
    ap.add_argument("--sa-sample", type=int, default=500)
    ap.add_argument("--rspamc-n", type=int, default=4)
    ap.add_argument("--sa-reuse-cv-fold", type=int, default=None,
                    help="start from the Bayes DB cv.py left after fold K and learn only fold K")
    a = ap.parse_args()
    labels = peers.load_labels()
    os.makedirs(peers.RESULTS, exist_ok=True)
    r = bench_rspamd(labels, a.rspamc_n) if a.peer == "rspamd" else bench_sa(labels, a.sa_sample, a.sa_reuse_cv_fold)
    r["machine"] = peers.machine_info()
    r["commands"] = peers.COMMANDS
    json.dump(r, open(os.path.join(peers.RESULTS, "throughput-%s.json" % a.peer), "w"), indent=1)
    write_md()
    print(json.dumps({k: v for k, v in r.items() if k not in ("commands", "per_process_cpu_s")}, indent=1))


if __name__ == "__main__":
    main()
