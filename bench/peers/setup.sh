#!/usr/bin/env bash
# Install and configure the peer filters (SpamAssassin + rspamd) for offline benchmarking.
# Idempotent. Needs root (apt-get). Does not need systemd: daemons are started by hand
# (see peers.py / `python3 bench/peers/peers.py start|stop`), never by init scripts.
#   PEER_WORK  work dir for configs, Bayes DBs, logs, pids (default /tmp/mailwarden-peers)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
W=${PEER_WORK:-/tmp/mailwarden-peers}
REDIS_PORT=${PEER_REDIS_PORT:-6390}

export DEBIAN_FRONTEND=noninteractive
# Debian postinst scripts try to start the daemons (rspamd, redis). Without systemd they
# fall back to init scripts that would start them on default ports/dirs: forbid that.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
apt-get update -qq
# dnsmasq-base: the binary without the system service (the `dnsmasq` package would start
# a resolver on :53 for the whole machine).
apt-get install -y -qq --no-install-recommends \
  spamassassin spamd spamc rspamd redis-server redis-tools dnsmasq-base procps iproute2 >/dev/null

# --- local DNS: port 53 on 127.0.0.1 if free, else 5353 ---
DNS_PORT=53
if ss -Hlun "sport = :53" | grep -q . ; then DNS_PORT=5353; fi
if [ -f "$W/dns_port" ] && [ -f "$W/dnsmasq.pid" ] && kill -0 "$(cat "$W/dnsmasq.pid")" 2>/dev/null; then
  DNS_PORT=$(cat "$W/dns_port")   # ours is already running
fi

mkdir -p "$W"/{sa/site,sa/bayes,rspamd/etc/local.d,rspamd/db,rspamd/run,rspamd/log,redis}
echo "$DNS_PORT" > "$W/dns_port"
echo "$REDIS_PORT" > "$W/redis_port"

# --- SpamAssassin: own site config dir (plugins from the Debian .pre files, minus the
# network-only ones), own Bayes dir; nothing under $HOME or /etc/spamassassin is used.
for f in /etc/spamassassin/*.pre /etc/spamassassin/65_debian.cf; do
  sed -E 's/^(loadplugin[[:space:]]+Mail::SpamAssassin::Plugin::(Razor2|Pyzor|DCC))/# off for offline bench: \1/' \
    "$f" > "$W/sa/site/$(basename "$f")"
done
sed "s#@SA_DIR@#$W/sa#g" "$HERE/conf/sa/local.cf" > "$W/sa/site/local.cf"
chown -R debian-spamd: "$W/sa"
chmod 755 "$W" "$W/sa"

# --- rspamd: system config in /etc/rspamd untouched; our local.d is used via
# --var LOCAL_CONFDIR=$W/rspamd/etc (DBDIR/RUNDIR/LOGDIR likewise under $W).
rm -f "$W"/rspamd/etc/local.d/*
for f in "$HERE"/conf/rspamd/local.d/*; do
  sed -e "s#@DNS_PORT@#$DNS_PORT#g" -e "s#@REDIS_PORT@#$REDIS_PORT#g" "$f" > "$W/rspamd/etc/local.d/$(basename "$f")"
done
chown -R _rspamd: "$W/rspamd"

echo "setup done: work dir $W (dns port $DNS_PORT, redis port $REDIS_PORT)"
spamassassin --version | head -1
rspamd --version | head -1
redis-server --version
dnsmasq --version | head -1
python3 "$HERE/peers.py" configtest
