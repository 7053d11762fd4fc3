#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars, for development and CI.
#   ops/kafka/kafka.sh up     resolve jars (cached), format storage once, start, wait until ready
#   ops/kafka/kafka.sh down   stop the broker started by `up` (by PID file)
#   ops/kafka/kafka.sh status exit 0 when the broker answers
#   ops/kafka/kafka.sh jars   only resolve the jars into $HUB_KAFKA_HOME/libs (ops/kafka/cluster.sh uses them)
# Environment: HUB_KAFKA_HOME (default var/kafka), HUB_KAFKA_PORT (9092),
# HUB_KAFKA_CONTROLLER_PORT (9093), HUB_KAFKA_HEAP (1g), HUB_KAFKA_START_TIMEOUT (120 s).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
home=${HUB_KAFKA_HOME:-$root/var/kafka}
port=${HUB_KAFKA_PORT:-9092}
cport=${HUB_KAFKA_CONTROLLER_PORT:-9093}
heap=${HUB_KAFKA_HEAP:-1g}
timeout=${HUB_KAFKA_START_TIMEOUT:-120}
libs=$home/libs
data=$home/data
logs=$home/logs
pidfile=$home/kafka.pid
conf=$home/server.properties

die() { echo "kafka: $*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid; pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

need_tools() {
  command -v java >/dev/null || die "Java 17+ is required (apt-get install openjdk-17-jre-headless), or use 'docker compose up'."
  local v; v=$(java -version 2>&1 | awk -F'"' '/version/ {print $2}' | cut -d. -f1)
  [ "${v:-0}" -ge 17 ] 2>/dev/null || die "Java 17+ is required, found '${v:-none}' (apt-get install openjdk-17-jre-headless), or use 'docker compose up'."
  command -v mvn >/dev/null || [ -f "$libs/.complete" ] || die "Maven is required to fetch the Kafka jars (apt-get install maven), or use 'docker compose up'."
}

fetch_jars() {
  [ -f "$libs/.complete" ] && return 0
  echo "kafka: resolving Apache Kafka jars from Maven Central into $libs"
  mkdir -p "$libs"
  (cd "$here" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$libs") || die "could not fetch the Kafka jars with Maven (see output above)"
  touch "$libs/.complete"
}

write_config() {
  mkdir -p "$data" "$logs"
  cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
PROPS
  cat > "$home/log4j2.yaml" <<'YAML'
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

up() {
  if pid=$(running_pid); then
    port_open "$port" && { echo "kafka: already running (pid $pid) on 127.0.0.1:$port"; return 0; }
  elif port_open "$port"; then
    die "port 127.0.0.1:$port is taken by another process; set HUB_KAFKA_BOOTSTRAP to use that broker"
  fi
  need_tools
  fetch_jars
  write_config
  local cp="$libs/*"
  local jvm=(-Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true
             -Dkafka.logs.dir="$logs" -Dlog4j2.configurationFile="$home/log4j2.yaml")
  if [ ! -f "$data/meta.properties" ]; then
    local id; id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid)
    java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format --standalone \
      --cluster-id "$id" --config "$conf" > "$logs/format.log" 2>&1 \
      || { cat "$logs/format.log" >&2; die "storage format failed"; }
  fi
  local start=$SECONDS
  nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$conf" > "$logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  local pid; pid=$(cat "$pidfile")
  while ! { port_open "$port" && grep -q "Kafka Server started" "$logs/server.log" 2>/dev/null; }; do
    kill -0 "$pid" 2>/dev/null || { tail -n 30 "$logs/stdout.log" "$logs/server.log" >&2 2>/dev/null; rm -f "$pidfile"; die "broker exited during start-up (logs in $logs)"; }
    [ $((SECONDS - start)) -lt "$timeout" ] || { kill "$pid" 2>/dev/null; rm -f "$pidfile"; die "broker not ready after ${timeout}s (logs in $logs)"; }
    sleep 0.2
  done
  echo "kafka: started (pid $pid) on 127.0.0.1:$port in $((SECONDS - start))s; logs in $logs"
}

down() {
  local pid
  if ! pid=$(running_pid); then rm -f "$pidfile"; echo "kafka: not running"; return 0; fi
  kill "$pid"
  local start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge 60 ]; then kill -9 "$pid" 2>/dev/null || true; fi
    sleep 0.2
  done
  rm -f "$pidfile"
  echo "kafka: stopped (pid $pid)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) port_open "$port" ;;
  jars) need_tools; fetch_jars ;;
  *) echo "usage: $0 up|down|status|jars" >&2; exit 2 ;;
esac
