#!/usr/bin/env python3
"""Shared helpers for the peer benchmarks (SpamAssassin, rspamd). Python 3 stdlib only.

Daemons are started by hand (no systemd): dnsmasq (local DNS answering everything at once),
redis-server (rspamd Bayes), rspamd (one `normal` worker), spamd (-L, N children).
Everything lives under $PEER_WORK (default /tmp/mailwarden-peers), prepared by setup.sh.

CLI:  python3 peers.py start|stop|status|configtest
"""
import hashlib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.environ.get("PEER_RESULTS", os.path.join(HERE, "results"))
CORPUS = os.environ.get("PEER_CORPUS", "/work/shared/corpus")
W = os.environ.get("PEER_WORK", "/tmp/mailwarden-peers")
NICE = ["nice", "-n", "10"]
SPAMD_PORT = int(os.environ.get("PEER_SPAMD_PORT", "7830"))
RSPAMD_NORMAL = ("127.0.0.1", 11333)
RSPAMD_CONTROLLER = ("127.0.0.1", 11334)
# spamc's default -s is 500 KB: bigger messages would be passed through unscanned.
SPAMC_MAX = 4 * 1024 * 1024

COMMANDS = []  # every external command run, for the summary ("exact commands")


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def dns_port():
    return int(_read(os.path.join(W, "dns_port"), "53"))


def redis_port():
    return int(_read(os.path.join(W, "redis_port"), "6390"))


def log_cmd(cmd, note=""):
    nfiles = sum(1 for c in cmd if c.startswith(CORPUS + "/"))
    if nfiles > 1:
        first = next(i for i, c in enumerate(cmd) if c.startswith(CORPUS + "/"))
        cmd = cmd[:first] + ["<%d message files>" % nfiles] + [c for c in cmd[first:] if not c.startswith(CORPUS + "/")]
    s = " ".join(shlex.quote(c) if not c.startswith("<") else c for c in cmd)
    if len(s) > 400:
        s = s[:400] + " ... (file list elided)"
    if note:
        s += "   # " + note
    COMMANDS.append(s)


def run(cmd, check=True, capture=False, note="", **kw):
    log_cmd(cmd, note)
    if capture:
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
    return subprocess.run(cmd, check=check, **kw)


# ---------------------------------------------------------------- corpus, folds
def load_labels():
    out = []
    with open(os.path.join(CORPUS, "labels.tsv")) as f:
        for i, line in enumerate(f):
            line = line.rstrip("\n")
            if i == 0 and line.startswith("class\t"):
                continue
            if not line:
                continue
            cls, path = line.split("\t", 1)
            out.append((cls, path))
    return out


def fold_of(path):
    """Shared fold definition: crc32(path) % 5 (== Go hash/crc32.ChecksumIEEE)."""
    return zlib.crc32(path.encode()) % 5


def sha1_order(labels):
    return sorted(labels, key=lambda cp: hashlib.sha1(cp[1].encode()).hexdigest())


def abspath(path):
    return os.path.join(CORPUS, path)


def machine_info():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": os.uname().release,
        "spamassassin": _first_line(["spamassassin", "--version"]),
        "rspamd": _first_line(["rspamd", "--version"]),
        "redis": _first_line(["redis-server", "--version"]),
    }


def _first_line(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True).stdout.strip().splitlines()[0]
    except Exception as e:  # noqa
        return "? (%s)" % e


# ---------------------------------------------------------------- process helpers
def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def pidfile_pid(path):
    p = _read(path)
    try:
        return int(p)
    except (TypeError, ValueError):
        return None


def wait_port(host, port, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("port %s:%d did not open in %ds" % (host, port, timeout))


def stop_pidfile(path, name, timeout=60):
    pid = pidfile_pid(path)
    if not pid or not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    t0 = time.time()
    while pid_alive(pid) and time.time() - t0 < timeout:
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    # a zombie (our own child) still answers kill -0: reap it if it is ours
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def children_of(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = _read("/proc/%s/stat" % d)
        if not st:
            continue
        rest = st[st.rfind(")") + 2:].split()
        if int(rest[1]) == pid:
            out.append(int(d))
    return out


def cmdline(pid):
    c = _read("/proc/%d/cmdline" % pid, "")
    return c.replace("\0", " ").strip()


def cpu_ticks(pid, with_reaped_children=True):
    """utime+stime (+cutime+cstime of reaped children) of one process, in seconds."""
    st = _read("/proc/%d/stat" % pid)
    if not st:
        return 0.0
    f = st[st.rfind(")") + 2:].split()
    # fields after ')' start at field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    ut, stt, cut, cst = (int(f[i - 3]) for i in (14, 15, 16, 17))
    hz = os.sysconf("SC_CLK_TCK")
    tot = ut + stt + ((cut + cst) if with_reaped_children else 0)
    return tot / hz


def tree_cpu(root_pid):
    """CPU seconds of a process tree: every live process' utime+stime plus what reaped
    children left in cutime/cstime. Returns (total, {pid: (cmdline, secs)})."""
    per = {}
    stack = [root_pid]
    while stack:
        p = stack.pop()
        per[p] = (cmdline(p), cpu_ticks(p))
        stack.extend(children_of(p))
    return sum(v[1] for v in per.values()), per


# ---------------------------------------------------------------- dnsmasq, redis
def start_dns():
    pf = os.path.join(W, "dnsmasq.pid")
    if pid_alive(pidfile_pid(pf)):
        return
    run(["dnsmasq", "--no-resolv", "--no-hosts", "--local=/#/", "--listen-address=127.0.0.1",
         "--bind-interfaces", "--port=%d" % dns_port(), "--pid-file=" + pf,
         "--log-facility=" + os.path.join(W, "dnsmasq.log")])
    time.sleep(0.3)


def start_redis():
    pf = os.path.join(W, "redis", "redis.pid")
    if pid_alive(pidfile_pid(pf)):
        return
    run(["redis-server", "--port", str(redis_port()), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "yes", "--dir", os.path.join(W, "redis"),
         "--pidfile", pf, "--logfile", os.path.join(W, "redis", "redis.log")])
    wait_port("127.0.0.1", redis_port(), 30)


def redis_pid():
    return pidfile_pid(os.path.join(W, "redis", "redis.pid"))


def redis_cli(*args):
    return run(["redis-cli", "-p", str(redis_port())] + list(args), capture=True).stdout.strip()


# ---------------------------------------------------------------- rspamd
RSPAMD_PIDFILE = os.path.join(W, "rspamd", "run", "rspamd.pid")


def rspamd_vars():
    v = []
    for k, d in (("LOCAL_CONFDIR", "rspamd/etc"), ("DBDIR", "rspamd/db"),
                 ("RUNDIR", "rspamd/run"), ("LOGDIR", "rspamd/log")):
        v.append("--var=%s=%s" % (k, os.path.join(W, d)))
    return v


def start_rspamd():
    start_dns()
    start_redis()
    if pid_alive(pidfile_pid(RSPAMD_PIDFILE)):
        return
    run(NICE + ["rspamd", "-c", "/etc/rspamd/rspamd.conf"] + rspamd_vars() +
        ["-u", "_rspamd", "-g", "_rspamd"])
    wait_port(*RSPAMD_NORMAL)
    wait_port(*RSPAMD_CONTROLLER)
    # wait until the normal worker answers a scan (hyperscan compile etc.)
    for _ in range(300):
        try:
            rspamd_check(b"Subject: ping\r\n\r\nping\r\n")
            return
        except Exception:
            time.sleep(0.5)
    raise RuntimeError("rspamd did not answer")


def stop_rspamd():
    stop_pidfile(RSPAMD_PIDFILE, "rspamd")


def rspamd_main_pid():
    return pidfile_pid(RSPAMD_PIDFILE)


def rspamd_workers():
    """{pid: title} of the rspamd main's children."""
    m = rspamd_main_pid()
    return {p: cmdline(p) for p in children_of(m)} if m else {}


def rspamd_reset_bayes():
    redis_cli("FLUSHALL")


def _http(host_port, path, body, headers=None, timeout=120):
    req = urllib.request.Request("http://%s:%d%s" % (host_port + (path,)), data=body,
                                 method="POST", headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read().decode("utf-8", "replace")
        try:
            return json.loads(raw)
        except ValueError:
            # e.g. 208 "already learned" comes back without a JSON body
            return {"success": False, "error": "HTTP %d non-JSON reply %r" % (r.status, raw[:100])}


def rspamd_check(body):
    """One scan over HTTP (/checkv2); returns (action, score, is_spam_flag, symbols)."""
    r = _http(RSPAMD_NORMAL, "/checkv2", body)
    action = r.get("action", "?")
    return action, float(r.get("score", 0.0)), rspamd_flagged(action), sorted(r.get("symbols", {}))


def rspamd_learn(body, spam):
    """Returns the controller's JSON; on an HTTP error {"success": False, "error": ...}
    (e.g. 208 already learned, 400 too few tokens)."""
    try:
        return _http(RSPAMD_CONTROLLER, "/learnspam" if spam else "/learnham", body)
    except urllib.error.HTTPError as e:
        try:
            msg = e.read().decode("utf-8", "replace")
        except Exception:  # noqa
            msg = ""
        return {"success": False, "error": "HTTP %d %s %s" % (e.code, e.reason, msg[:200])}


FLAG_ACTIONS = {"reject", "add header", "rewrite subject"}


def rspamd_flagged(action):
    # spam verdict = one of rspamd's spam actions; "greylist" (score >= 4, below add header)
    # and "no action" are not flagged; "soft reject" is a temp failure, not a verdict.
    return action in FLAG_ACTIONS


def rspamc_learn(files, spam, note=""):
    """Learn many files with one rspamc call (controller). Returns (ok, failed, msgs)."""
    cmd = NICE + ["rspamc", "-h", "%s:%d" % RSPAMD_CONTROLLER, "-n", "2", "-t", "120",
                  "learn_spam" if spam else "learn_ham"] + files
    p = run(cmd, capture=True, note=note, check=False)
    ok = len(re.findall(r"^success = true;", p.stdout, re.M))
    errs = {}
    for m in re.finditer(r'^error = "(.*)";$', p.stdout, re.M):
        e = re.sub(r"<[^>]*>", "<id>", m.group(1))
        errs[e] = errs.get(e, 0) + 1
    if p.returncode not in (0, 1) and not ok:
        raise RuntimeError("rspamc learn failed: %s" % p.stderr[-1500:])
    return ok, len(files) - ok, errs


_RES_RE = re.compile(r"^Results for file: (.+?) \([\d.]+ seconds\)$", re.M)


def rspamc_scan(files, par=2, note=""):
    """Scan many files with one rspamc call; returns {abs_file: (action, score)}."""
    cmd = NICE + ["rspamc", "-h", "%s:%d" % RSPAMD_NORMAL, "-n", str(par), "-t", "120"] + files
    p = run(cmd, capture=True, note=note, check=False)
    out = {}
    parts = _RES_RE.split(p.stdout)
    # parts = [pre, file1, body1, file2, body2, ...]
    for i in range(1, len(parts) - 1, 2):
        f, body = parts[i], parts[i + 1]
        ma = re.search(r"^Action: (.+)$", body, re.M)
        ms = re.search(r"^Score: (-?[\d.]+) / ", body, re.M)
        if ma and ms:
            out[f] = (ma.group(1).strip(), float(ms.group(1)))
    return out, p


# ---------------------------------------------------------------- SpamAssassin
SPAMD_PIDFILE = os.path.join(W, "sa", "spamd.pid")
SITE = os.path.join(W, "sa", "site")


def sa_learn_cmd(*args):
    return (["runuser", "-u", "debian-spamd", "--"] + NICE +
            ["sa-learn", "-L", "--siteconfigpath=" + SITE] + list(args))


def sa_reset_bayes():
    stop_spamd()
    d = os.path.join(W, "sa", "bayes")
    run(["rm", "-rf", d])
    os.makedirs(d)
    subprocess.run(["chown", "debian-spamd:", d], check=True)


def sa_train(files, spam, chunk=800, note=""):
    for i in range(0, len(files), chunk):
        part = files[i:i + chunk]
        p = run(sa_learn_cmd("--spam" if spam else "--ham", "--no-sync") + part, capture=True,
                check=False, note=note if i == 0 else "")
        if p.returncode not in (0, 1):  # 1 = nothing learned (all already learned)
            raise RuntimeError("sa-learn failed: %s %s" % (p.stdout[-500:], p.stderr[-1500:]))
    run(sa_learn_cmd("--sync"), capture=True)


def sa_bayes_counts():
    p = run(sa_learn_cmd("--dump", "magic"), capture=True, check=False)
    n = {}
    for line in p.stdout.splitlines():
        m = re.search(r"\s(\d+)\s+0\s+non-token data: (nspam|nham|ntokens)", line)
        if m:
            n[m.group(2)] = int(m.group(1))
    return n


def start_spamd(children=1, allow_tell=False):
    if pid_alive(pidfile_pid(SPAMD_PIDFILE)):
        stop_spamd()
    cmd = NICE + ["spamd", "-d", "-L", "-x", "-u", "debian-spamd",
                  "--siteconfigpath=" + SITE, "-i", "127.0.0.1", "-p", str(SPAMD_PORT),
                  "-m", str(children), "--min-children=%d" % children,
                  "--min-spare=%d" % min(1, children), "--max-spare=%d" % children,
                  "--max-conn-per-child=1000000", "-r", SPAMD_PIDFILE,
                  "-s", os.path.join(W, "sa", "spamd.log")]
    if allow_tell:
        cmd.append("--allow-tell")
    run(cmd)
    wait_port("127.0.0.1", SPAMD_PORT, 180)
    for _ in range(600):
        p = subprocess.run(["spamc", "-p", str(SPAMD_PORT), "-K"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode == 0:
            break
        time.sleep(0.3)
    # wait until all children are up (they preforks after the parent listens)
    t0 = time.time()
    while time.time() - t0 < 120:
        if len(children_of(pidfile_pid(SPAMD_PIDFILE))) >= children:
            break
        time.sleep(0.3)


def stop_spamd():
    stop_pidfile(SPAMD_PIDFILE, "spamd")


def spamd_pid():
    return pidfile_pid(SPAMD_PIDFILE)


SPAMC = ["spamc", "-p", str(SPAMD_PORT), "-x", "-s", str(SPAMC_MAX), "-t", "300"]


def spamc_check(path):
    """spamc -c: prints 'score/threshold' (score rounded to 0.1) and exits 1 if spamd found
    the message spam, 0 if not. The verdict is taken from the exit code: a score printed
    as 5.0 may be 4.95..4.999 (not spam). Returns (is_spam, score)."""
    with open(path, "rb") as f:
        p = subprocess.run(SPAMC + ["-c"], stdin=f, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    out = p.stdout.decode().strip()
    m = re.match(r"^(-?[\d.]+)/(-?[\d.]+)$", out)
    if not m or p.returncode not in (0, 1):
        raise RuntimeError("spamc failed on %s: rc=%d out=%r err=%r" %
                           (path, p.returncode, out, p.stderr[-300:]))
    return p.returncode == 1, float(m.group(1))


def spamc_learn(path, spam):
    with open(path, "rb") as f:
        p = subprocess.run(SPAMC + ["-L", "spam" if spam else "ham"], stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode().strip()


def spamc_many(paths, par=2):
    """Scan many files with `par` concurrent spamc; returns {path: (is_spam, score)}."""
    with ThreadPoolExecutor(par) as ex:
        return dict(zip(paths, ex.map(spamc_check, paths)))


# ---------------------------------------------------------------- CLI
def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "status"
    if cmd == "start":
        start_rspamd()
        start_spamd(int(os.environ.get("SPAMD_CHILDREN", "1")))
    elif cmd == "stop":
        stop_spamd()
        stop_rspamd()
        stop_pidfile(os.path.join(W, "redis", "redis.pid"), "redis")
        stop_pidfile(os.path.join(W, "dnsmasq.pid"), "dnsmasq")
    elif cmd == "configtest":
        p = subprocess.run(["runuser", "-u", "debian-spamd", "--", "spamassassin", "-L",
                            "--siteconfigpath=" + SITE, "--lint"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        print("spamassassin --lint:", "OK" if p.returncode == 0 else "FAIL\n" + p.stdout[-3000:])
        p = subprocess.run(["rspamadm"] + rspamd_vars() +
                           ["configtest", "-c", "/etc/rspamd/rspamd.conf"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        print("rspamadm configtest:", p.stdout.strip()[-3000:])
    elif cmd == "status":
        for name, pf in (("dnsmasq", os.path.join(W, "dnsmasq.pid")),
                         ("redis", os.path.join(W, "redis", "redis.pid")),
                         ("rspamd", RSPAMD_PIDFILE), ("spamd", SPAMD_PIDFILE)):
            pid = pidfile_pid(pf)
            print(name, pid, "running" if pid_alive(pid) else "stopped")
            if pid_alive(pid):
                for c in children_of(pid):
                    print("   ", c, cmdline(c))
    else:
        sys.exit("usage: peers.py start|stop|status|configtest")


if __name__ == "__main__":
    main()
