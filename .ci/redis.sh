#!/usr/bin/env bash
# The README's keyed and cluster examples for pacer-redis, each against a Redis of its own:
# one redis-server for redis_keyed, and a private 3-master Redis Cluster (cluster mode on
# three servers, joined by `redis-cli --cluster create`) for redis_cluster. Ports 6392 to
# 6395 (and the cluster buses on 16393 to 16395) are used by no other step.
set -euo pipefail
cd "$(dirname "$0")/.."

# redis-cli comes with redis-tools, which Debian's redis-server package depends on; install
# it if this machine has a redis-server without it.
if ! command -v redis-cli >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools
fi

work=$(mktemp -d)
ports=(6392 6393 6394 6395)
cleanup() {
    for port in "${ports[@]}"; do
        redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

start() { # port, then settings
    local port=$1
    shift
    mkdir -p "$work/$port"
    redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$work/$port" --daemonize yes "$@" >/dev/null
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server on port $port did not answer" >&2
    return 1
}

start 6392
REDIS_URL="redis://127.0.0.1:6392/" timeout 120 \
    cargo run --release -p pacer-examples-redis --example redis_keyed

for port in 6393 6394 6395; do
    start "$port" --cluster-enabled yes --cluster-config-file nodes.conf \
        --cluster-node-timeout 1000
done
redis-cli --cluster create 127.0.0.1:6393 127.0.0.1:6394 127.0.0.1:6395 \
    --cluster-replicas 0 --cluster-yes >/dev/null
for _ in $(seq 100); do
    ok=0
    for port in 6393 6394 6395; do
        redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && ok=$((ok + 1))
    done
    [[ $ok == 3 ]] && break
    sleep 0.1
done
REDIS_CLUSTER="redis://127.0.0.1:6393/,redis://127.0.0.1:6394/,redis://127.0.0.1:6395/" \
    timeout 120 cargo run --release -p pacer-examples-redis --example redis_cluster
