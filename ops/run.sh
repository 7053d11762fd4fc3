#!/usr/bin/env bash
# `make run`: a local hub in one terminal. Starts Apache Kafka (unless HUB_KAFKA_BOOTSTRAP
# points at one), creates topics, runs a worker, the HTTP gateway and a simulated province.
# Ctrl-C stops everything this script started and exits 0.
#
# Ports (README "Running it"): HUB_KAFKA_PORT (9092) and HUB_KAFKA_CONTROLLER_PORT (9093) for the
# broker it starts, whose address then is 127.0.0.1:HUB_KAFKA_PORT unless HUB_KAFKA_BOOTSTRAP says
# otherwise; HUB_GATEWAY_PORT (8080), HUB_GATEWAY_OPS_PORT (0: none), HUB_WORKER_METRICS_PORT (8081).
# Errors are one line on stderr; the details are in the logs under var/run.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-.venv/bin}
logs=var/run
mkdir -p "$logs"
pids=()
declare -A names=()
started_kafka=0

cleanup() {
  trap - INT TERM EXIT
  # Keep going even if the terminal or a pipe reading our output is gone already.
  trap '' PIPE
  set +e
  [ "${#pids[@]}" -gt 0 ] || [ "$started_kafka" = 1 ] || return 0  # nothing started: nothing to say
  echo
  echo "run: stopping..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [ "$started_kafka" = 1 ]; then ops/kafka/kafka.sh down > "$logs/kafka.log" 2>&1 || true; fi
  echo "run: stopped."
}
# Ctrl-C (and a service manager's TERM) is how a demo ends: not an error. Anything else that ends
# the script early (a failed step below) keeps its own exit status.
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

fail() { echo "run: $*" >&2; exit 1; }

# The last meaningful line a failed command wrote to its log: what went wrong, in one line.
last_line() { grep -v '^[[:space:]]*$' "$1" 2>/dev/null | grep -v '^Traceback\|^  ' | tail -n 1; }

# step NAME LOG CMD...: run CMD with its output in LOG; on failure one line naming the step and why.
step() {
  local name=$1 log=$2; shift 2
  "$@" >> "$log" 2>&1 || fail "$name failed: $(last_line "$log") (details: $log)"
}

port_free() {
  "$bin/python" - "$1" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

need_port() {  # need_port VARIABLE VALUE: one line, naming the variable to change, when it is taken
  [ "$2" = 0 ] || port_free "$2" || fail "port $2 ($1) is in use; set $1 to a free port"
}

answers() {  # whether something accepts connections at every host:port of a bootstrap list
  "$bin/python" - "$1" <<'PY'
import socket, sys
for hostport in sys.argv[1].split(","):
    host, _, port = hostport.strip().rpartition(":")
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=3).close()
        sys.exit(0)
    except (OSError, ValueError):
        pass
sys.exit(1)
PY
}

# A local demo pseudonymizes with the public dev key unless a real secret is given.
if [ -z "${HUB_PSEUDONYM_KEY:-}" ]; then export HUB_DEV_MODE=1; fi
export PYTHONUNBUFFERED=1

gateway_port=${HUB_GATEWAY_PORT:-8080}
ops_port=${HUB_GATEWAY_OPS_PORT:-0}
metrics_port=${HUB_WORKER_METRICS_PORT:-8081}
need_port HUB_GATEWAY_PORT "$gateway_port"
need_port HUB_GATEWAY_OPS_PORT "$ops_port"
need_port HUB_WORKER_METRICS_PORT "$metrics_port"

if [ -z "${HUB_KAFKA_BOOTSTRAP:-}" ]; then
  : > "$logs/kafka.log"
  step "checking for Java and Maven" "$logs/kafka.log" ops/preflight.sh kafka
  # Our own broker: every process connects to the port it was started on. A broker on another port
  # than the default gets its own folder (the jars are shared), so it runs beside the default one.
  kafka_port=${HUB_KAFKA_PORT:-9092}
  export HUB_KAFKA_BOOTSTRAP="127.0.0.1:$kafka_port"
  if [ "$kafka_port" != 9092 ] && [ -z "${HUB_KAFKA_HOME:-}" ]; then
    export HUB_KAFKA_HOME="$PWD/var/kafka-$kafka_port"
    [ -n "${HUB_KAFKA_LIBS:-}" ] || [ ! -f var/kafka/libs/.complete ] || export HUB_KAFKA_LIBS="$PWD/var/kafka/libs"
  fi
  if ! ops/kafka/kafka.sh status > /dev/null 2>&1; then
    need_port HUB_KAFKA_PORT "${HUB_KAFKA_PORT:-9092}"
    need_port HUB_KAFKA_CONTROLLER_PORT "${HUB_KAFKA_CONTROLLER_PORT:-9093}"
    started_kafka=1
  fi
  step "starting Kafka" "$logs/kafka.log" ops/kafka/kafka.sh up
fi
bootstrap=$HUB_KAFKA_BOOTSTRAP
answers "$bootstrap" || fail "no Kafka broker answers at $bootstrap (HUB_KAFKA_BOOTSTRAP); start one there," \
  "or leave HUB_KAFKA_BOOTSTRAP unset and make run starts its own on HUB_KAFKA_PORT"

: > "$logs/setup.log"
step "creating topics" "$logs/setup.log" "$bin/hub" topics create
echo "run: topics ready on $bootstrap"
# A reader for the dashboard and the read API; re-registering gives a new key (the old one stops working).
reader_key=$("$bin/hub" systems add --id dashboard --role reader 2>> "$logs/setup.log") ||
  fail "registering the dashboard reader failed: $(last_line "$logs/setup.log") (details: $logs/setup.log)"
# A demo province account for people (hub users); a new password at every start, like the reader key.
demo_password=$("$bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')
printf '%s\n' "$demo_password" | "$bin/hub" users add --name demo.tinh --role province --password-stdin \
    >> "$logs/setup.log" 2>&1 ||
  printf '%s\n' "$demo_password" | "$bin/hub" users reset --name demo.tinh --password-stdin \
    >> "$logs/setup.log" 2>&1 ||
  fail "creating the demo account failed: $(last_line "$logs/setup.log") (details: $logs/setup.log)"

# setsid: each service in its own process group, so Ctrl-C cleanup reaches its children too.
start() { local name=$1; shift; setsid "$@" > "$logs/$name.log" 2>&1 < /dev/null & pids+=($!); names[$!]=$name; }
start worker "$bin/hub" worker
start gateway "$bin/hub" gateway

deadline=$((SECONDS + 60))
until "$bin/python" -c "import sys, urllib.request; urllib.request.urlopen('http://127.0.0.1:$gateway_port/healthz', timeout=1)" 2>/dev/null; do
  [ $SECONDS -lt $deadline ] ||
    fail "the gateway did not become healthy in 60 s: $(last_line "$logs/gateway.log") (details: $logs/gateway.log)"
  sleep 0.5
done
start simulator "$bin/hub" simulate --communes "${SIM_COMMUNES:-135}" --rate "${SIM_RATE:-20}" \
  --duration "${SIM_DURATION:-86400}" --gateway "http://127.0.0.1:$gateway_port"

ops_base="http://127.0.0.1:$gateway_port"
[ "$ops_port" = 0 ] || ops_base="http://127.0.0.1:$ops_port"
cat <<MSG

The hub is running: a simulated Gia Lai province (${SIM_COMMUNES:-135} communes, ${SIM_RATE:-20} events/s) feeds
commune one-stop dossiers, documents, targets and progress reports through the SDK and the HTTP gateway.

  Watch normalized dossiers:   $bin/hub tail feed.dossier.v1
  Watch documents:             $bin/hub tail feed.document.v1
  Watch target progress:       $bin/hub tail feed.target.progress.v1 --from-beginning
  Operator overview:           $bin/hub status
  Dead letters by reason:      $bin/hub dlq list
  Dashboard:                   http://127.0.0.1:$gateway_port/dashboard
    log in as demo.tinh, password $demo_password   (a province account; more with \`hub users add\`)
    reader key (log in with it; also 'Authorization: Bearer <key>' for /v1/kpi, /v1/directives, /v1/freshness):
                               $reader_key
  Gateway API (OpenAPI):       $ops_base/docs   (spec: http://127.0.0.1:$gateway_port/openapi.json)
  Metrics:                     $ops_base/metrics   (worker: http://127.0.0.1:$metrics_port/metrics)
  Schema registry:             http://127.0.0.1:$gateway_port/registry/subjects
  Logs (JSON lines):           $logs/worker.log  $logs/gateway.log  $logs/simulator.log
  (other commands in another terminal need HUB_KAFKA_BOOTSTRAP=$bootstrap unless it is 127.0.0.1:9092)

Press Ctrl-C to stop everything.
MSG

# A few dossiers normalized by this run (read from the feed's end as it is now, so never a previous
# run's records) prove that the whole path works.
echo "run: the first dossiers of this run, as the feed has them:"
"$bin/hub" tail feed.dossier.v1 --max 3 --timeout 120 2>> "$logs/tail.log" ||
  echo "run: no dossier reached the feed in 120 s; see $logs/worker.log" >&2
echo "run: (the feed keeps flowing; use the commands above in another terminal)"
while true; do
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || fail "the ${names[$pid]} exited: $(last_line "$logs/${names[$pid]}.log") (details: $logs/${names[$pid]}.log)"
  done
  sleep 2
done
