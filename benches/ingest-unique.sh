#!/bin/bash
# Durable ingest of distinct deliveries, side by side in one run: the peer of
# ../shared/bench/ingest (the @octokit/webhooks door: verify, parse, dispatch;
# it stores nothing) and `warrant serve` on a fresh SQLite file, each fed by
# benches/ingest_unique.rs signed pull_request.opened deliveries with a
# distinct body each. compare.sh posts one body under many delivery ids, which
# Warrant stores once and answers as replays after; here every answer is a
# new row. See the README, "Ingest".
#
# usage: benches/ingest-unique.sh PATH/TO/warrant [ROUNDS] [SECONDS] [CONNECTIONS]
# Needs node and npm (the peer is installed in a scratch folder) and python3.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=$repo/../shared
bin=$(realpath "$1"); rounds=${2:-3}; secs=${3:-10}; conns=${4:-32}
body=$shared/fixtures/octokit-webhooks/pull_request/opened.payload.json
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
(cd "$repo" && cargo bench --bench ingest_unique --no-run -q)
load() { (cd "$repo" && cargo bench --bench ingest_unique -q -- "$1" "$secs" "$conns" "$body" s3cret); }
cp -r "$shared/bench/ingest/octokit-peer" "$tmp/peer" && (cd "$tmp/peer" && npm ci --silent >/dev/null)
openssl genrsa -out "$tmp/key.pem" 2048 2>/dev/null
PORT=3911 node "$tmp/peer/server.js" >"$tmp/peer.log" 2>&1 &
# A GitHub API that takes connections and never answers: the workers wait on
# the first deliveries they claim, so the figure is the door's alone (with
# compare.sh's one body they have one delivery to claim).
python3 -c "import socket,time;s=socket.socket();s.bind(('127.0.0.1',3913));s.listen(1024);time.sleep(1e9)" &
field() { sed "s|^| |" | sed -n "s|.* $1 \([0-9.]*\).*|\1|p"; }
ratios=""
for r in $(seq 1 "$rounds"); do
  rm -f "$tmp"/w.db*
  WARRANT_LISTEN=127.0.0.1:3912 WARRANT_PUBLIC_URL=http://127.0.0.1:3912 WARRANT_DATABASE_URL=sqlite://$tmp/w.db \
  WARRANT_GITHUB_APP_ID=12345 WARRANT_GITHUB_PRIVATE_KEY_PATH=$tmp/key.pem WARRANT_GITHUB_WEBHOOK_SECRET=s3cret \
  WARRANT_GITHUB_API_URL=http://127.0.0.1:3913 "$bin" serve >"$tmp/w.log" 2>&1 & wpid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:3912/healthz && break; sleep 0.1; done
  sleep 1
  peer=$(load 3911); wout=$(load 3912)
  rss=$(ps -o rss= -p $wpid | awk '{print int($1/1024)}')
  # Killed, not stopped: a worker waiting on the silent API would hold a
  # graceful stop. What was answered 2xx is committed all the same.
  kill -KILL $wpid; wait $wpid 2>/dev/null || true
  rows=$(python3 -c "import sqlite3,sys;print(sqlite3.connect(sys.argv[1]).execute('select count(*) from deliveries').fetchone()[0])" "$tmp/w.db")
  p=$(echo "$peer" | field req/s); w=$(echo "$wout" | field req/s)
  ratio=$(awk -v a="$w" -v b="$p" 'BEGIN{printf "%.2f", a/b}'); ratios="$ratios $ratio"
  echo "round $r: peer $p req/s; warrant $w req/s, p50 $(echo "$wout" | field p50)ms, p99 $(echo "$wout" | field p99)ms (${ratio}x the peer), RSS ${rss} MB, answered $(echo "$wout" | field requests) (non-2xx $(echo "$wout" | field non-2xx)), stored $rows"
done
echo "distinct ingest: warrant/peer median $(echo $ratios | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')x over $rounds rounds"
