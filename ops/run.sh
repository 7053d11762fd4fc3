#!/usr/bin/env bash
# `make run`: a local hub in one terminal. Starts Apache Kafka (unless HUB_KAFKA_BOOTSTRAP
# points at one), creates topics, runs a worker, the HTTP gateway and a simulated province.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.venv/bin}
logs=var/run
mkdir -p "$logs"
pids=()
started_kafka=0

cleanup() {
  trap - INT TERM EXIT
  # Keep going even if the terminal or a pipe reading our output is gone already.
  trap '' PIPE
  set +e
  echo
  echo "run: stopping..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [ "$started_kafka" = 1 ]; then ops/kafka/kafka.sh down || true; fi
  echo "run: stopped."
}
trap cleanup INT TERM EXIT

# A local demo pseudonymizes with the public dev key unless a real secret is given.
if [ -z "${HUB_PSEUDONYM_KEY:-}" ]; then export HUB_DEV_MODE=1; fi
export PYTHONUNBUFFERED=1

if [ -z "${HUB_KAFKA_BOOTSTRAP:-}" ]; then
  ops/preflight.sh kafka
  if ! ops/kafka/kafka.sh status; then started_kafka=1; fi
  ops/kafka/kafka.sh up
fi
bootstrap=${HUB_KAFKA_BOOTSTRAP:-127.0.0.1:9092}
port=${HUB_GATEWAY_PORT:-8080}

"$bin/hub" topics create > "$logs/topics.log"
echo "run: topics ready on $bootstrap"
# A reader for the dashboard and the read API; re-registering gives a new key (the old one stops working).
reader_key=$("$bin/hub" systems add --id dashboard --role reader 2>> "$logs/topics.log")
# A demo province account for people (hub users); a new password at every start, like the reader key.
demo_password=$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')
printf '%s\n' "$demo_password" | "$bin/hub" users add --name demo.tinh --role province --password-stdin \
    2>> "$logs/topics.log" ||
  printf '%s\n' "$demo_password" | "$bin/hub" users reset --name demo.tinh --password-stdin 2>> "$logs/topics.log"

# setsid: each service in its own process group, so Ctrl-C cleanup reaches its children too.
start() { local name=$1; shift; setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null & pids+=($!); }
start worker "$bin/hub" worker
start gateway "$bin/hub" gateway

deadline=$((SECONDS + 60))
until "$bin/python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { echo "run: the gateway did not become healthy; see $logs/gateway.log" >&2; tail -n 20 "$logs/gateway.log" >&2; exit 1; }
  sleep 0.5
done
start simulator "$bin/hub" simulate --communes "${SIM_COMMUNES:-135}" --rate "${SIM_RATE:-20}" \
  --duration "${SIM_DURATION:-86400}" --gateway "http://127.0.0.1:$port"

cat <<MSG

The hub is running: a simulated Gia Lai province (${SIM_COMMUNES:-135} communes, ${SIM_RATE:-20} events/s) feeds
commune one-stop dossiers, documents, targets and progress reports through the SDK and the HTTP gateway.

  Watch normalized dossiers:   $bin/hub tail feed.dossier.v1
  Watch documents:             $bin/hub tail feed.document.v1
  Watch target progress:       $bin/hub tail feed.target.progress.v1 --from-beginning
  Operator overview:           $bin/hub status
  Dead letters by reason:      $bin/hub dlq list
  Dashboard:                   http://127.0.0.1:$port/dashboard
    log in as demo.tinh, password $demo_password   (a province account; more with \`hub users add\`)
    reader key (log in with it; also 'Authorization: Bearer <key>' for /v1/kpi, /v1/directives, /v1/freshness):
                               $reader_key
  Gateway API (OpenAPI):       http://127.0.0.1:$port/docs   (spec: /openapi.json)
  Metrics:                     http://127.0.0.1:$port/metrics
  Schema registry:             http://127.0.0.1:$port/registry/subjects
  Logs (JSON lines):           $logs/worker.log  $logs/gateway.log  $logs/simulator.log

Press Ctrl-C to stop everything.
MSG

# Show a few normalized dossiers here so the first run proves the whole path works.
"$bin/hub" tail feed.dossier.v1 --from-beginning --max 3 --timeout 120 || true
echo "run: (the feed keeps flowing; use the commands above in another terminal)"
while true; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "run: a service exited; see $logs/" >&2; exit 1; }
  done
  sleep 2
done
