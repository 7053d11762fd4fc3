#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft) from Maven Central jars, for development and CI.
#   ops/kafka/kafka.sh up     resolve jars (cached), format storage once, start, wait until ready
#   ops/kafka/kafka.sh down   stop the broker started by `up` (by PID file)
#   ops/kafka/kafka.sh status exit 0 when the broker answers
#   ops/kafka/kafka.sh run    like up, in the foreground (the broker replaces the shell: containers)
#   ops/kafka/kafka.sh jars   only resolve the jars into $HUB_KAFKA_HOME/libs (ops/kafka/cluster.sh uses them)
# Environment: HUB_KAFKA_HOME (default var/kafka), HUB_KAFKA_PORT (9092),
# HUB_KAFKA_CONTROLLER_PORT (9093), HUB_KAFKA_HEAP (1g), HUB_KAFKA_START_TIMEOUT (120 s),
# HUB_KAFKA_JVM_OPTS (more JVM options for the broker; the test suite's brokers run C1 only),
# HUB_KAFKA_LIBS (the Kafka jars; default $HUB_KAFKA_HOME/libs, fetched with Maven; when set, used
# as they are: /opt/kafka/libs in the apache/kafka image).
#
# Secure mode (HUB_KAFKA_SECURITY=scram): the client listener on HUB_KAFKA_PORT is SASL_PLAINTEXT
# with SCRAM-SHA-512, ACLs are enforced (StandardAuthorizer, deny by default) and the operator
# HUB_KAFKA_USERNAME (default hub-operator) / HUB_KAFKA_PASSWORD is a super user, created when the
# storage is formatted (`hub security setup` then creates the hub's other principals and ACLs).
# HUB_KAFKA_TLS_PORT adds a SASL_SSL listener with a self-signed certificate for 127.0.0.1 and
# localhost; clients trust $HUB_KAFKA_HOME/tls/ca.pem (HUB_KAFKA_TLS_CA_FILE). Containers name their
# SASL_SSL listeners instead, NAME=bind-host:port=advertised-host:port, comma separated, in
# HUB_KAFKA_TLS_LISTENERS, give the certificate's names in HUB_KAFKA_TLS_SAN (keytool -ext SAN
# syntax) and have ca.pem copied to HUB_KAFKA_TLS_CA_EXPORT (a folder the hub's containers mount
# read-only; the key store never leaves $HUB_KAFKA_HOME/tls). The broker's own
# principal ("broker", random password in $HUB_KAFKA_HOME/broker.password) talks to the
# controller over SASL/PLAIN: no ANONYMOUS super user. A data directory is formatted for one mode;
# switching modes needs a new HUB_KAFKA_HOME (or `rm -r $HUB_KAFKA_HOME/data`).
set -euo pipefail
# The broker's logs and data are this user's only: they name topics, clients and principals, and the
# data holds every record (raw payloads with personal data among them). umask 077 makes what the script
# and the broker it starts create 0700 (folders) and 0600 (files); private_dirs narrows what an older
# version left readable.
umask 077

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
home=${HUB_KAFKA_HOME:-$root/var/kafka}
port=${HUB_KAFKA_PORT:-9092}
cport=${HUB_KAFKA_CONTROLLER_PORT:-9093}
heap=${HUB_KAFKA_HEAP:-1g}
timeout=${HUB_KAFKA_START_TIMEOUT:-120}
libs=${HUB_KAFKA_LIBS:-$home/libs}
data=$home/data
logs=$home/logs
pidfile=$home/kafka.pid
conf=$home/server.properties
security=${HUB_KAFKA_SECURITY:-plaintext}
tls_port=${HUB_KAFKA_TLS_PORT:-}
tls_listeners=${HUB_KAFKA_TLS_LISTENERS:-${tls_port:+SASL_SSL=127.0.0.1:$tls_port=127.0.0.1:$tls_port}}
tls_san=${HUB_KAFKA_TLS_SAN:-dns:localhost,ip:127.0.0.1}
tls_export=${HUB_KAFKA_TLS_CA_EXPORT:-}
tls=$home/tls

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
  [ -n "${HUB_KAFKA_LIBS:-}" ] || command -v mvn >/dev/null || [ -f "$libs/.complete" ] || die "Maven is required to fetch the Kafka jars (apt-get install maven), or use 'docker compose up'."
}

fetch_jars() {
  [ -f "$libs/.complete" ] && return 0
  [ -z "${HUB_KAFKA_LIBS:-}" ] || { ls "$libs"/kafka_*.jar >/dev/null 2>&1 || die "no Kafka jars in HUB_KAFKA_LIBS=$libs"; return 0; }
  echo "kafka: resolving Apache Kafka jars from Maven Central into $libs"
  mkdir -p "$libs"
  (cd "$here" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
      -DoutputDirectory="$libs") || die "could not fetch the Kafka jars with Maven (see output above)"
  touch "$libs/.complete"
}

# A secret that goes into properties and JAAS lines: no quotes, backslashes, commas or brackets.
check_secret() {
  case "$2" in
    *[\"\\,\]\ ]*|"") die "$1 must be non-empty without quotes, backslashes, commas, ']' or spaces" ;;
  esac
}

# The broker's own password and the TLS key store: random, created once, readable by this user only.
make_secrets() (
  umask 077
  [ -s "$home/broker.password" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$home/broker.password"
  [ -n "$tls_listeners" ] || return 0
  mkdir -p "$tls"
  [ -s "$tls/store.password" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tls/store.password"
  if [ ! -f "$tls/broker.p12" ]; then
    command -v keytool >/dev/null || die "keytool (Java) is needed to make the TLS certificate"
    local pw; pw=$(cat "$tls/store.password")
    keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 -validity 3650 -dname CN=localhost \
      -ext "SAN=$tls_san" -keystore "$tls/broker.p12" -storetype PKCS12 \
      -storepass "$pw" -keypass "$pw" >/dev/null 2>&1 || die "keytool could not make the TLS certificate"
    keytool -exportcert -alias broker -keystore "$tls/broker.p12" -storepass "$pw" -rfc \
      -file "$tls/ca.pem" >/dev/null 2>&1 || die "keytool could not export the TLS certificate"
  fi
  [ -z "$tls_export" ] || { umask 022; cp "$tls/ca.pem" "$tls_export/ca.pem.tmp" && mv "$tls_export/ca.pem.tmp" "$tls_export/ca.pem"; }
)

# SASL_SSL listeners from $tls_listeners: "$1" is listeners, advertised, map or jaas.
tls_props() {
  local item name rest bind adv out=() scram="org.apache.kafka.common.security.scram.ScramLoginModule required"
  local IFS=,
  for item in $tls_listeners; do
    name=${item%%=*} rest=${item#*=}; bind=${rest%%=*} adv=${rest#*=}  # checked by check_tls_listeners
    case "$1" in
      listeners) out+=("$name://$bind") ;;
      advertised) out+=("$name://$adv") ;;
      map) out+=("$name:SASL_SSL") ;;
      jaas) echo "listener.name.$(echo "$name" | tr 'A-Z' 'a-z').scram-sha-512.sasl.jaas.config=$scram;" ;;
    esac
  done
  [ "$1" = jaas ] || echo "${out[*]}"
}

secure_props() {
  local bpw; bpw=$(cat "$home/broker.password")
  local scram="org.apache.kafka.common.security.scram.ScramLoginModule required"
  local plain="org.apache.kafka.common.security.plain.PlainLoginModule required"
  local listeners="SASL_PLAINTEXT://127.0.0.1:$port" advertised="SASL_PLAINTEXT://127.0.0.1:$port"
  local map="CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
  if [ -n "$tls_listeners" ]; then
    listeners="$listeners,$(tls_props listeners)" advertised="$advertised,$(tls_props advertised)"
    map="$map,$(tls_props map)"
  fi
  cat <<PROPS
listeners=$listeners,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$advertised,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=$map
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram username="broker" password="$bpw";
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=$plain username="broker" password="$bpw" user_broker="$bpw";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:$user
allow.everyone.if.no.acl.found=false
PROPS
  [ -n "$tls_listeners" ] || return 0
  tls_props jaas
  cat <<PROPS
ssl.keystore.type=PKCS12
ssl.keystore.location=$tls/broker.p12
ssl.keystore.password=$(cat "$tls/store.password")
ssl.key.password=$(cat "$tls/store.password")
PROPS
}

private_dirs() {
  mkdir -p "$data" "$logs"
  # not fatal: a mount point owned by another user (a container volume) keeps its mode
  chmod 700 "$home" 2>/dev/null || true
  chmod -R go-rwx "$data" "$logs" "$home"/*.properties "$home"/*.yaml "$home"/*.mode "$home"/*.pid 2>/dev/null || true
}

write_config() {  # $1: up (log to a file) or run (log to stdout)
  private_dirs
  local listener_props
  if [ "$security" = scram ]; then
    listener_props=$(secure_props)
  else
    listener_props="listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
  fi
  (umask 077; cat > "$conf" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
controller.listener.names=CONTROLLER
$listener_props
log.dirs=$data
PROPS
)
  cat >> "$conf" <<PROPS
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
  local appender='File:
      name: Out
      fileName: "${sys:kafka.logs.dir}/server.log"'
  [ "$1" != run ] || appender='Console:
      name: Out'  # a container's log is its stdout
  cat > "$home/log4j2.yaml" <<YAML
Configuration:
  Appenders:
    $appender
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: Out
YAML
}

check_tls_listeners() {
  local item rest IFS=,
  for item in $tls_listeners; do
    rest=${item#*=}
    [[ "$item" =~ ^[A-Z][A-Z0-9_]*=[^=]+:[0-9]+=[^=]+:[0-9]+$ ]] && [ "${item%%=*}" != SASL_PLAINTEXT ] \
      && [ "${item%%=*}" != CONTROLLER ] \
      || die "HUB_KAFKA_TLS_LISTENERS: '$item' is not NAME=bind-host:port=advertised-host:port"
  done
}

# Everything `up` and `run` share: tools, jars, secrets, configuration, storage formatted once.
prepare() {
  need_tools
  fetch_jars
  fetch_jars
  case "$security" in
    plaintext) ;;
    scram)
      user=${HUB_KAFKA_USERNAME:-hub-operator}
      check_secret HUB_KAFKA_USERNAME "$user"
      check_secret HUB_KAFKA_PASSWORD "${HUB_KAFKA_PASSWORD:-}"
      check_tls_listeners
      mkdir -p "$home"
      make_secrets ;;
    *) die "HUB_KAFKA_SECURITY must be plaintext or scram" ;;
  esac
  if [ -f "$data/meta.properties" ] && [ "$(cat "$home/security.mode" 2>/dev/null || echo plaintext)" != "$security" ]; then
    die "$data was formatted for HUB_KAFKA_SECURITY=$(cat "$home/security.mode" 2>/dev/null || echo plaintext); use another HUB_KAFKA_HOME or remove $data"
  fi
  write_config "$1"
  cp="$libs/*"
  # shellcheck disable=SC2206  # HUB_KAFKA_JVM_OPTS is a list of options, split on spaces
  jvm=(-Xmx"$heap" -Xms"$heap" -XX:+UseG1GC -Djava.awt.headless=true
             -Dkafka.logs.dir="$logs" -Dlog4j2.configurationFile="$home/log4j2.yaml" ${HUB_KAFKA_JVM_OPTS:-})
  # The storage tool runs for a second: C1 alone compiles what it needs at a fraction of the CPU.
  local tool=(-XX:TieredStopAtLevel=1 -Xmx256m -Djava.awt.headless=true
              -Dkafka.logs.dir="$logs" -Dlog4j2.configurationFile="$home/log4j2.yaml")
  if [ ! -f "$data/meta.properties" ]; then
    local id; id=$(java -XX:TieredStopAtLevel=1 -Xmx256m -cp "$cp" kafka.tools.StorageTool random-uuid)
    local users=()
    if [ "$security" = scram ]; then  # SCRAM users live in the metadata log: created with it
      users=(--add-scram "SCRAM-SHA-512=[name=broker,password=$(cat "$home/broker.password")]"
             --add-scram "SCRAM-SHA-512=[name=$user,password=$HUB_KAFKA_PASSWORD]")
    fi
    java "${tool[@]}" -cp "$cp" kafka.tools.StorageTool format --standalone \
      --cluster-id "$id" --config "$conf" "${users[@]}" > "$logs/format.log" 2>&1 \
      || { cat "$logs/format.log" >&2; die "storage format failed"; }
    echo "$security" > "$home/security.mode"
  fi
  if [ "$security" = scram ]; then
    echo "kafka: secure mode: SASL/SCRAM-SHA-512 on 127.0.0.1:$port, operator $user${tls_listeners:+; SASL_SSL ($tls_listeners), CA $tls/ca.pem}"
  fi
}

up() {
  if pid=$(running_pid); then
    port_open "$port" && { echo "kafka: already running (pid $pid) on 127.0.0.1:$port"; return 0; }
  elif port_open "$port"; then
    die "port 127.0.0.1:$port is taken by another process; set HUB_KAFKA_BOOTSTRAP to use that broker"
  fi
  prepare up
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

# The broker in the foreground, as this process (exec): a container's entry point. No PID file:
# the container runtime supervises it and SIGTERM reaches the JVM directly.
run() {
  prepare run
  exec java "${jvm[@]}" -cp "$cp" kafka.Kafka "$conf" < /dev/null
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
  run) run ;;
  down) down ;;
  status) port_open "$port" ;;
  jars) need_tools; fetch_jars ;;
  *) echo "usage: $0 up|run|down|status|jars" >&2; exit 2 ;;
esac
