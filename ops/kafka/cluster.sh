#!/usr/bin/env bash
# A local 3-node Apache Kafka (KRaft) cluster on loopback: node ids 1-3, each one broker and controller
# (a static quorum of three voters), topics replicated 3 times with min.insync.replicas=2 — the
# production shape of DESIGN.md on one machine, for fail-over tests (tests/chaos) and for trying it.
#   ops/kafka/cluster.sh up          format once, start the three nodes, wait until every one is ready
#   ops/kafka/cluster.sh down        stop every node (SIGTERM, waits; SIGKILL after 60 s)
#   ops/kafka/cluster.sh start N     start node N (1-3) and wait until it is ready
#   ops/kafka/cluster.sh stop N      stop node N (SIGTERM, waits)
#   ops/kafka/cluster.sh kill N      SIGKILL node N (no clean shutdown: the fault a crash is)
#   ops/kafka/cluster.sh status      one line per node; exit 0 when all three answer
#   ops/kafka/cluster.sh bootstrap   print the bootstrap servers (for HUB_KAFKA_BOOTSTRAP)
# Environment: HUB_KAFKA_CLUSTER_HOME (default var/kafka-cluster), HUB_KAFKA_CLUSTER_PORTS (client
# ports of nodes 1,2,3; default 29092,29093,29094), HUB_KAFKA_CLUSTER_CONTROLLER_PORTS (default
# 29192,29193,29194), HUB_KAFKA_HEAP (per node, 512m), HUB_KAFKA_START_TIMEOUT (180 s), HUB_KAFKA_JVM_OPTS
# (more JVM options for every node).
# Jars: those of ops/kafka/kafka.sh (var/kafka/libs, resolved from Maven Central once).
# The hub on it: HUB_KAFKA_BOOTSTRAP=$(ops/kafka/cluster.sh bootstrap) HUB_REPLICATION_FACTOR=3
# HUB_MIN_INSYNC_REPLICAS=2 hub topics create.
set -euo pipefail
# Logs and data are this user's only (topics, clients, principals; every record): umask 077 for the
# script and the nodes it starts (folders 0700, files 0600); format_once narrows older folders.
umask 077

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
home=${HUB_KAFKA_CLUSTER_HOME:-$root/var/kafka-cluster}
IFS=, read -r -a ports <<< "${HUB_KAFKA_CLUSTER_PORTS:-29092,29093,29094}"
IFS=, read -r -a cports <<< "${HUB_KAFKA_CLUSTER_CONTROLLER_PORTS:-29192,29193,29194}"
heap=${HUB_KAFKA_HEAP:-512m}
timeout=${HUB_KAFKA_START_TIMEOUT:-180}
libs=${HUB_KAFKA_LIBS:-$root/var/kafka/libs}
NODES=(1 2 3)

die() { echo "kafka-cluster: $*" >&2; exit 1; }

[ "${#ports[@]}" -eq 3 ] && [ "${#cports[@]}" -eq 3 ] \
  || die "HUB_KAFKA_CLUSTER_PORTS and HUB_KAFKA_CLUSTER_CONTROLLER_PORTS need three comma-separated ports each"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_of() { echo "${ports[$(($1 - 1))]}"; }
node_dir() { echo "$home/node-$1"; }

running_pid() {
  local pidfile; pidfile="$(node_dir "$1")/kafka.pid"
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

check_node() {
  case "${1:-}" in 1|2|3) ;; *) die "node must be 1, 2 or 3 (got '${1:-}')" ;; esac
}

jars() {
  [ -f "$libs/.complete" ] && return 0
  ls "$libs"/kafka_*.jar >/dev/null 2>&1 && [ -n "${HUB_KAFKA_LIBS:-}" ] && return 0  # jars given as they are
  # kafka.sh resolves into $HUB_KAFKA_HOME/libs only when HUB_KAFKA_LIBS is unset (else it takes them as given)
  env -u HUB_KAFKA_LIBS HUB_KAFKA_HOME="$(dirname "$libs")" "$here/kafka.sh" jars
}

voters() {
  local out="" n
  for n in "${NODES[@]}"; do out+="${out:+,}$n@127.0.0.1:${cports[$((n - 1))]}"; done
  echo "$out"
}

bootstrap() {
  local out="" p
  for p in "${ports[@]}"; do out+="${out:+,}127.0.0.1:$p"; done
  echo "$out"
}

write_config() {
  local n=$1 dir; dir=$(node_dir "$n")
  local port=${ports[$((n - 1))]} cport=${cports[$((n - 1))]}
  mkdir -p "$dir/data" "$dir/logs"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=16777216
PROPS
  cat > "$dir/log4j2.yaml" <<'YAML'
Configuration:
  Appenders:
    File:
      name: File
      fileName: "${sys:kafka.logs.dir}/server.log"
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: File
YAML
}

jvm_opts() {
  local dir; dir=$(node_dir "$1")
  echo "-Xmx$heap -Xms$heap -XX:+UseG1GC -Djava.awt.headless=true -Dkafka.logs.dir=$dir/logs" \
       "-Dlog4j2.configurationFile=$dir/log4j2.yaml" "${HUB_KAFKA_JVM_OPTS:-}"
}

format_once() {
  mkdir -p "$home"
  chmod -R go-rwx "$home" 2>/dev/null || true
  [ -f "$home/cluster.id" ] || java -XX:TieredStopAtLevel=1 -cp "$libs/*" kafka.tools.StorageTool random-uuid > "$home/cluster.id"
  local id n dir pids=() failed=0; id=$(cat "$home/cluster.id")
  for n in "${NODES[@]}"; do
    dir=$(node_dir "$n")
    write_config "$n"
    [ -f "$dir/data/meta.properties" ] && continue
    # A short-lived tool: the quick JIT only (starts faster on a busy machine).
    java -XX:TieredStopAtLevel=1 -Xmx256m -cp "$libs/*" kafka.tools.StorageTool format --cluster-id "$id" \
      --config "$dir/server.properties" > "$dir/logs/format.log" 2>&1 &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || failed=1; done
  [ "$failed" -eq 0 ] || { cat "$home"/node-*/logs/format.log >&2; die "storage format failed"; }
}

launch() {
  local n=$1 dir; dir=$(node_dir "$n")
  if running_pid "$n" >/dev/null; then return 0; fi
  port_open "$(port_of "$n")" && die "port 127.0.0.1:$(port_of "$n") of node $n is taken by another process"
  # A fresh log per start: readiness is the "Kafka Server started" line of THIS start.
  [ -f "$dir/logs/server.log" ] && mv "$dir/logs/server.log" "$dir/logs/server.log.prev"
  # shellcheck disable=SC2046
  nohup java $(jvm_opts "$n") -cp "$libs/*" kafka.Kafka "$dir/server.properties" \
    > "$dir/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$dir/kafka.pid"
}

wait_ready() {
  local start=$SECONDS n dir pid
  for n in "$@"; do
    dir=$(node_dir "$n")
    pid=$(cat "$dir/kafka.pid")
    while ! { port_open "$(port_of "$n")" && grep -q "Kafka Server started" "$dir/logs/server.log" 2>/dev/null; }; do
      kill -0 "$pid" 2>/dev/null || { tail -n 30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2 2>/dev/null
                                      rm -f "$dir/kafka.pid"; die "node $n exited during start-up (logs in $dir/logs)"; }
      [ $((SECONDS - start)) -lt "$timeout" ] || die "node $n not ready after ${timeout}s (logs in $dir/logs)"
      sleep 0.2
    done
  done
  echo "kafka-cluster: node(s) $* ready in $((SECONDS - start))s; bootstrap $(bootstrap)"
}

# Signal the given nodes together, then wait for all (one by one, the last nodes' controlled
# shutdown would wait for a quorum that the first ones already took away).
stop_nodes() {
  local signal=$1 n pid dir; shift
  local pids=()
  for n in "$@"; do
    dir=$(node_dir "$n")
    if pid=$(running_pid "$n"); then kill "-$signal" "$pid"; pids+=("$n:$pid"); else rm -f "$dir/kafka.pid"; fi
  done
  local start=$SECONDS item
  for item in "${pids[@]}"; do
    n=${item%%:*}; pid=${item#*:}
    while kill -0 "$pid" 2>/dev/null; do
      if [ $((SECONDS - start)) -ge 60 ]; then kill -9 "$pid" 2>/dev/null || true; fi
      sleep 0.1
    done
    rm -f "$(node_dir "$n")/kafka.pid"
    echo "kafka-cluster: node $n stopped (SIG$signal, pid $pid)"
  done
}

status() {
  local n ok=0
  for n in "${NODES[@]}"; do
    if port_open "$(port_of "$n")"; then echo "node $n: up on 127.0.0.1:$(port_of "$n")"
    else echo "node $n: down"; ok=1; fi
  done
  return $ok
}

need_java() {
  command -v java >/dev/null || die "Java 17+ is required (apt-get install openjdk-17-jre-headless)"
}

case "${1:-}" in
  up) need_java; jars; format_once; for n in "${NODES[@]}"; do launch "$n"; done; wait_ready "${NODES[@]}" ;;
  down) stop_nodes TERM "${NODES[@]}" ;;
  start) check_node "${2:-}"; need_java; jars; format_once; launch "$2"; wait_ready "$2" ;;
  stop) check_node "${2:-}"; stop_nodes TERM "$2" ;;
  kill) check_node "${2:-}"; stop_nodes KILL "$2" ;;
  status) status ;;
  bootstrap) bootstrap ;;
  *) echo "usage: $0 up|down|status|bootstrap|start N|stop N|kill N" >&2; exit 2 ;;
esac
