#!/usr/bin/env bash
# Real test infrastructure without Docker: Apache Kafka (KRaft, single node, broker+controller in
# one JVM) and Apicurio Registry (in-memory, Confluent-compatible API), fetched from Maven Central
# into ~/.m2 and run natively from .cache/infra/.
#
#   infra/infra.sh up       start both (idempotent; concurrent calls are serialised by flock)
#   infra/infra.sh down     stop what this script started and wait for it to exit
#   infra/infra.sh status   exit 0 only if the broker and the registry both answer
#   infra/infra.sh env      print the export lines tests use (eval "$(infra/infra.sh env)")
#   infra/infra.sh restart-kafka   stop the Kafka JVM (SIGTERM) and start it again on the SAME
#                           data (no format); the registry keeps running, so schema ids stay valid
#   infra/infra.sh kafka topics|consumer-groups|configs [args]   Kafka's own admin tools
#
# Environment (all optional):
#   SAFEGUARD_KAFKA_VERSION     Kafka to run, default 3.9.1; 4.x works too (e.g. 4.1.1)
#   SAFEGUARD_APICURIO_VERSION  Apicurio Registry, default 3.3.3 (needs Java 21+, found automatically)
#   SAFEGUARD_INFRA_TIMEOUT_S   readiness deadline per component in seconds, default 180
#   SAFEGUARD_INFRA_DIR         state directory (data, logs, pids), default <repo>/.cache/infra
#   SAFEGUARD_INFRA_DIST_DIR    downloads (classpath, unpacked registry), default <repo>/.cache/infra/dist
#
# A second, private instance (e.g. a test that restarts its broker without disturbing the shared
# one) takes its own state directory and ports; everything else is shared:
#   SAFEGUARD_KAFKA_PORT (9092), SAFEGUARD_CONTROLLER_PORT (9093), SAFEGUARD_REGISTRY_PORT (8081),
#   SAFEGUARD_REGISTRY_MGMT_PORT (8091)
#   SAFEGUARD_INFRA_OWNER_PID   with `up`: a watchdog runs `down` for this state directory once
#                               that process has exited (a test runner that dies cleans up)
set -euo pipefail
shopt -s inherit_errexit

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${SAFEGUARD_INFRA_DIR:-$ROOT/.cache/infra}"
DEFAULT_KAFKA_VERSION=3.9.1
KAFKA_VERSION="${SAFEGUARD_KAFKA_VERSION:-$DEFAULT_KAFKA_VERSION}"
APICURIO_VERSION="${SAFEGUARD_APICURIO_VERSION:-3.3.3}"
TIMEOUT_S="${SAFEGUARD_INFRA_TIMEOUT_S:-180}"

HOST=127.0.0.1
KAFKA_PORT="${SAFEGUARD_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${SAFEGUARD_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${SAFEGUARD_REGISTRY_PORT:-8081}"
# Quarkus serves health and metrics on a separate "management" port (default 9000); keep it on
# loopback and away from ports the services may use.
REGISTRY_MGMT_PORT="${SAFEGUARD_REGISTRY_MGMT_PORT:-8091}"
LOCAL_BROKERS="$HOST:$KAFKA_PORT"
REGISTRY_URL="http://$HOST:$REGISTRY_PORT/apis/ccompat/v7"

KAFKA_DIR="$STATE/kafka"
REGISTRY_DIR="$STATE/registry"
# Shared by every state directory (instances on other ports reuse one download).
DIST_DIR="${SAFEGUARD_INFRA_DIST_DIR:-$ROOT/.cache/infra/dist}"
# A marker on each JVM's command line, so `down` only ever signals processes this checkout started.
KAFKA_MARK="-Dsafeguard.infra=kafka:$STATE"
REGISTRY_MARK="-Dsafeguard.infra=registry:$STATE"

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------------------------

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# A real metadata round trip: the broker must list itself (an unfenced broker) in the answer.
kafka_answers() {
  command -v kcat >/dev/null 2>&1 || return 1
  local out
  out="$(timeout 10 kcat -b "$LOCAL_BROKERS" -L -J -m 5 2>/dev/null)" || return 1
  [[ "$out" =~ \"brokers\":[[:space:]]*\[[[:space:]]*\{ ]]
}

registry_answers() {
  curl -fsS -m 5 -o /dev/null "$REGISTRY_URL/subjects" 2>/dev/null
}

# pid from a pid file if that process is alive and carries our marker.
owned_pid() {
  local pidfile="$1" mark="$2" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$mark" || return 1
  echo "$pid"
}

# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------

# Major Java version of a java binary (17, 21, 25, ...).
java_major() {
  local bin="$1" home release
  home="$(dirname "$(dirname "$(readlink -f "$bin")")")"
  release="$home/release"
  if [[ -f "$release" ]]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release"
  else
    "$bin" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p'
  fi
}

# First java whose major version is at least $1: $SAFEGUARD_JAVA_HOME, $JAVA_HOME, PATH, then
# every JDK under /usr/lib/jvm (the machine ships OpenJDK 17 as default and a newer Temurin beside it).
find_java() {
  local min="$1" cand major
  local -a cands=()
  [[ -n "${SAFEGUARD_JAVA_HOME:-}" ]] && cands+=("$SAFEGUARD_JAVA_HOME/bin/java")
  [[ -n "${JAVA_HOME:-}" ]] && cands+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && cands+=("$(command -v java)")
  for cand in /usr/lib/jvm/*/bin/java; do cands+=("$cand"); done
  for cand in "${cands[@]}"; do
    [[ -x "$cand" ]] || continue
    major="$(java_major "$cand")"
    if [[ -n "$major" && "$major" -ge "$min" ]]; then echo "$cand"; return 0; fi
  done
  return 1
}

require_tools() {
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) is required to fetch Kafka and Apicurio from Maven Central."
  command -v curl >/dev/null 2>&1 || die "curl is required (registry readiness)."
  if ! command -v kcat >/dev/null 2>&1; then
    log "kcat is missing (used for the broker readiness check); running infra/install-system-deps.sh"
    bash "$ROOT/infra/install-system-deps.sh"
  fi
}

mvn_quiet() {
  # -B: no colours or progress bars; output goes to a log that is shown only on failure.
  local logf="$1"; shift
  if ! mvn -B -q "$@" >"$logf" 2>&1; then
    tail -n 40 "$logf" >&2
    die "mvn $* failed (full output: $logf)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Downloads (cached in ~/.m2 and under $DIST_DIR)
# ---------------------------------------------------------------------------------------------

# Serialises downloads into $DIST_DIR between instances with different state directories (their
# own locks do not exclude each other). Call it in the subshell of a command substitution: the
# lock is released when that subshell ends.
lock_dist() {
  mkdir -p "$DIST_DIR"
  exec 8>"$DIST_DIR/lock"
  flock -w 900 8 || die "could not get $DIST_DIR/lock within 15 minutes"
}

# Resolves Kafka's full runtime classpath (broker, its CLI tools, a logging binding) with a
# generated POM; prints the classpath file. Re-resolves when the POM changes or a jar is gone.
kafka_classpath_file() {
  local dir="$DIST_DIR/kafka-$KAFKA_VERSION" binding
  local cpfile="$dir/classpath.txt"
  lock_dist
  mkdir -p "$dir"
  case "$KAFKA_VERSION" in
    3.*) # Kafka 3.x logs through slf4j 1.7 to log4j 1.x (reload4j), which it does not bundle.
      binding='<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>' ;;
    *) # Kafka 4.x depends on log4j2 core and slf4j 1.7; the slf4j-to-log4j2 bridge is not in its POM.
      binding='<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>' ;;
  esac
  cat >"$dir/pom.xml.$$" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.safeguard.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    $binding
  </dependencies>
</project>
EOF
  if [[ -s "$cpfile" ]] && cmp -s "$dir/pom.xml.$$" "$dir/pom.xml" &&
    tr ':' '\n' <"$cpfile" | while read -r jar; do [[ -f "$jar" ]] || exit 1; done; then
    rm -f "$dir/pom.xml.$$"
    echo "$cpfile"; return 0
  fi
  mv "$dir/pom.xml.$$" "$dir/pom.xml"
  log "resolving Kafka $KAFKA_VERSION runtime classpath from Maven Central (cached in ~/.m2)"
  mvn_quiet "$dir/mvn.log" -f "$dir/pom.xml" dependency:build-classpath \
    -Dmdep.includeScope=runtime -Dmdep.outputFile="$cpfile.tmp"
  mv "$cpfile.tmp" "$cpfile"
  echo "$cpfile"
}

# Unpacks the Apicurio Registry Quarkus app; prints its directory.
apicurio_home() {
  local dir="$DIST_DIR/apicurio-$APICURIO_VERSION"
  if [[ -f "$dir/app/quarkus-run.jar" ]]; then echo "$dir/app"; return 0; fi
  lock_dist
  if [[ -f "$dir/app/quarkus-run.jar" ]]; then echo "$dir/app"; return 0; fi
  rm -rf "$dir"; mkdir -p "$dir"
  log "fetching Apicurio Registry $APICURIO_VERSION from Maven Central (cached in ~/.m2; ~160 MB the first time)"
  (cd "$dir" && mvn_quiet "$dir/mvn.log" dependency:unpack \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$dir/app.tmp" -DmarkersDirectory="$dir/markers")
  [[ -f "$dir/app.tmp/quarkus-run.jar" ]] || die "the Apicurio archive has no quarkus-run.jar (version $APICURIO_VERSION uses another layout; 3.3.1+ is supported)"
  mv "$dir/app.tmp" "$dir/app"
  echo "$dir/app"
}

# Java major version a jar's classes were compiled for (class file major - 44); 21 if unknown.
jar_java_major() {
  python3 - "$1" <<'PY' 2>/dev/null || echo 21
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.startswith("io/apicurio/") and n.endswith(".class"))
    print(int.from_bytes(z.read(name)[6:8], "big") - 44)
PY
}

# ---------------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------------

write_kafka_config() {
  local major="${KAFKA_VERSION%%.*}"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by infra/infra.sh for Kafka $KAFKA_VERSION: one KRaft node, broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data

# The code creates every topic explicitly; a typo must fail, not create a topic.
auto.create.topics.enable=false
delete.topic.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Internal topics default to 50 partitions; 8 keeps the first group join and the first
# transaction fast on two cores while still spreading coordinators.
offsets.topic.num.partitions=8
transaction.state.log.num.partitions=8

# Fast tests: groups form at once, and tests may use short session timeouts to exercise failover.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000

# Modest threads for a shared two-core machine.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4

# Segments and retention for short-lived test data. Compacted topics (the matcher's indicator
# lists) are cleaned soon after their segments roll: topics that test compaction set a small
# segment.ms / segment.bytes themselves; the cleaner checks every second and needs little memory.
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
log.cleaner.enable=true
log.cleaner.threads=1
log.cleaner.backoff.ms=1000
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.min.cleanable.ratio=0.1
log.cleaner.delete.retention.ms=60000
EOF
  if [[ "$major" -ge 4 ]]; then
    cat >>"$KAFKA_DIR/server.properties" <<EOF

# Kafka 4.x: share groups keep state in an internal topic, replicated once here.
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
  fi
}

write_kafka_logging() {
  # Console output goes to kafka.log; INFO for lifecycle, WARN for per-partition chatter.
  cat >"$KAFKA_DIR/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.log=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.cluster=WARN
log4j.logger.kafka.server.ReplicaFetcherManager=WARN
log4j.logger.org.apache.kafka.storage=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.coordinator=INFO
log4j.logger.org.apache.kafka.clients=WARN
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.stdout.ref = STDOUT
logger.log.name = kafka.log
logger.log.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.cluster.name = kafka.cluster
logger.cluster.level = warn
logger.storage.name = org.apache.kafka.storage
logger.storage.level = warn
logger.clients.name = org.apache.kafka.clients
logger.clients.level = warn
EOF
}

# Kafka cluster ids are 16 random bytes, base64url without padding, not starting with '-'.
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
    [[ "$id" != -* ]] && { echo "$id"; return; }
  done
}

kafka_jvm_opts() {
  KAFKA_JVM=(-Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    "-Dlog4j.configuration=file:$KAFKA_DIR/log4j.properties"
    "-Dlog4j2.configurationFile=$KAFKA_DIR/log4j2.properties")
}

start_kafka() {
  local java cpfile cp
  java="$(find_java 17)" || die "Kafka needs Java 17 or newer; none found (set SAFEGUARD_JAVA_HOME)."
  cpfile="$(kafka_classpath_file)"
  cp="$(cat "$cpfile")"
  mkdir -p "$KAFKA_DIR"
  # Fresh data on every start: the registry is in memory, so records from an earlier run would
  # carry schema ids that no longer exist (or now name a different schema).
  rm -rf "$KAFKA_DIR/data"
  write_kafka_config
  write_kafka_logging
  kafka_jvm_opts
  log "formatting KRaft storage (Kafka $KAFKA_VERSION)"
  if ! "$java" "${KAFKA_JVM[@]}" -cp "$cp" kafka.tools.StorageTool format \
      -t "$(new_cluster_id)" -c "$KAFKA_DIR/server.properties" >"$KAFKA_DIR/format.log" 2>&1; then
    tail -n 30 "$KAFKA_DIR/format.log" >&2
    die "kafka storage format failed; see $KAFKA_DIR/format.log"
  fi
  : >"$KAFKA_DIR/kafka.log"
  launch_kafka "$java" "$cp"
  echo "$KAFKA_VERSION" >"$KAFKA_DIR/version"
}

# launch_kafka JAVA CLASSPATH: runs the broker on the formatted data directory.
launch_kafka() {
  local java="$1" cp="$2"
  kafka_jvm_opts
  log "starting Kafka $KAFKA_VERSION on $LOCAL_BROKERS (controller $HOST:$CONTROLLER_PORT); log: $KAFKA_DIR/kafka.log"
  # setsid + nohup: the broker outlives this shell and the terminal or CI step that ran `up`;
  # 8>&- 9>&- keep the lock descriptors out of the long-lived JVM (it would hold a lock forever).
  setsid nohup "$java" "$KAFKA_MARK" "${KAFKA_JVM[@]}" -cp "$cp" kafka.Kafka "$KAFKA_DIR/server.properties" \
    >>"$KAFKA_DIR/kafka.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$KAFKA_DIR/kafka.pid"
}

# ---------------------------------------------------------------------------------------------
# Apicurio Registry
# ---------------------------------------------------------------------------------------------

start_registry() {
  local home java need
  home="$(apicurio_home)"
  need="$(jar_java_major "$(ls "$home"/app/apicurio-registry-app-*.jar | head -n 1)")"
  java="$(find_java "$need")" || die "Apicurio Registry $APICURIO_VERSION needs Java $need or newer; none found under JAVA_HOME, PATH or /usr/lib/jvm (set SAFEGUARD_JAVA_HOME)."
  mkdir -p "$REGISTRY_DIR"
  log "starting Apicurio Registry $APICURIO_VERSION (Java $(java_major "$java")) on http://$HOST:$REGISTRY_PORT; log: $REGISTRY_DIR/registry.log"
  # Settings (see README "Infrastructure"):
  # - in-memory storage: the default H2 in-memory SQL store; nothing survives `down`.
  # - rules.global.compatibility=BACKWARD: Confluent's default, so incompatible schema changes
  #   are refused at registration exactly as on a Confluent registry (Apicurio has no rule by default).
  # - ccompat legacy-id-mode off: ids handed out by the Confluent API are content ids, so the
  #   same schema under two subjects gets one id, and GET /schemas/ids/{id} resolves the id a
  #   serializer wrote (Confluent semantics; legacy mode would hand out per-version global ids).
  setsid nohup "$java" "$REGISTRY_MARK" -Xms128m -Xmx512m -Djava.awt.headless=true \
    -Dquarkus.http.host="$HOST" -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host="$HOST" -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dquarkus.http.access-log.enabled=false \
    -Dquarkus.otel.sdk.disabled=true \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=h2 \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -Dapicurio.ccompat.legacy-id-mode.enabled=false \
    -Dapicurio.ccompat.max-subjects=100000 \
    -Dapicurio.storage.snapshot.location="$REGISTRY_DIR" -Dapicurio.import.work-dir="$REGISTRY_DIR" \
    -jar "$home/quarkus-run.jar" >"$REGISTRY_DIR/registry.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$REGISTRY_DIR/registry.pid"
  echo "$APICURIO_VERSION" >"$REGISTRY_DIR/version"
}

# ---------------------------------------------------------------------------------------------
# Lifecycle
# ---------------------------------------------------------------------------------------------

# wait_ready NAME PROBE PIDFILE MARK LOGFILE: polls PROBE until it succeeds or the deadline
# passes; fails at once if the process dies.
wait_ready() {
  local name="$1" probe="$2" pidfile="$3" mark="$4" logfile="$5"
  local deadline=$((SECONDS + TIMEOUT_S)) start=$SECONDS
  until "$probe"; do
    if ! owned_pid "$pidfile" "$mark" >/dev/null; then
      tail -n 40 "$logfile" >&2 || true
      die "$name exited during start-up; see $logfile (last lines above)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$logfile" >&2 || true
      stop_one "$name" "$pidfile" "$mark"
      die "$name did not become ready within ${TIMEOUT_S}s (SAFEGUARD_INFRA_TIMEOUT_S); see $logfile (last lines above)"
    fi
    sleep 0.5
  done
  log "$name ready after $((SECONDS - start))s"
}

stop_one() {
  local name="$1" pidfile="$2" mark="$3" pid i
  if pid="$(owned_pid "$pidfile" "$mark")"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 120; i++)); do
      owned_pid "$pidfile" "$mark" >/dev/null || break
      sleep 0.5
    done
    if owned_pid "$pidfile" "$mark" >/dev/null; then
      log "$name did not stop within 60s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    fi
  fi
  rm -f "$pidfile"
}

with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  if ! flock -n 9; then
    log "another infra.sh is running; waiting for it"
    flock -w 900 9 || die "could not get $STATE/lock within 15 minutes"
  fi
}

cmd_up() {
  with_lock
  local t0=$SECONDS kafka_needed=0 registry_needed=0
  if kafka_answers; then
    local running; running="$(cat "$KAFKA_DIR/version" 2>/dev/null || echo unknown)"
    if [[ -n "${SAFEGUARD_KAFKA_VERSION:-}" && "$running" != "$KAFKA_VERSION" ]]; then
      die "Kafka $running is already running on $LOCAL_BROKERS; run 'infra/infra.sh down' before switching to $KAFKA_VERSION"
    fi
    log "Kafka $running already answers on $LOCAL_BROKERS"
  else
    kafka_needed=1
  fi
  if registry_answers; then
    log "schema registry already answers at $REGISTRY_URL"
  else
    registry_needed=1
  fi
  [[ -n "${SAFEGUARD_INFRA_OWNER_PID:-}" ]] && start_watchdog "$SAFEGUARD_INFRA_OWNER_PID"
  if ((kafka_needed + registry_needed == 0)); then print_env_hint; return 0; fi

  require_tools
  # The registry boots slowest, so it starts first; both JVMs then boot in parallel.
  if ((registry_needed)); then
    if owned_pid "$REGISTRY_DIR/registry.pid" "$REGISTRY_MARK" >/dev/null; then
      log "registry process exists but does not answer yet; waiting for it"
    else
      port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is in use by a process this checkout did not start; stop it or point SCHEMA_REGISTRY_URL at it"
      port_open "$REGISTRY_MGMT_PORT" && die "port $REGISTRY_MGMT_PORT (registry management) is in use by another process"
      start_registry
    fi
  fi
  if ((kafka_needed)); then
    if owned_pid "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK" >/dev/null; then
      log "Kafka process exists but does not answer yet; waiting for it"
    else
      port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by a process this checkout did not start; stop it or point KAFKA_BROKERS at it"
      port_open "$CONTROLLER_PORT" && die "port $CONTROLLER_PORT (KRaft controller) is in use by another process"
      start_kafka
    fi
  fi
  if ((kafka_needed)); then
    wait_ready "Kafka" kafka_answers "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK" "$KAFKA_DIR/kafka.log"
  fi
  if ((registry_needed)); then
    wait_ready "schema registry" registry_answers "$REGISTRY_DIR/registry.pid" "$REGISTRY_MARK" "$REGISTRY_DIR/registry.log"
  fi
  log "up in $((SECONDS - t0))s: Kafka $(cat "$KAFKA_DIR/version" 2>/dev/null || echo '?') at $LOCAL_BROKERS, Apicurio at $REGISTRY_URL"
  print_env_hint
}

# Stops the Kafka JVM of this state directory (SIGTERM: a controlled shutdown) and starts it
# again on the same data directory and configuration, without formatting: topics, records and
# committed offsets survive; the registry is not touched (it is in memory: restarting it would
# invalidate the schema ids in the records). Clients see the broker go away and come back.
cmd_restart_kafka() {
  with_lock
  local java cpfile running t0=$SECONDS
  [[ -f "$KAFKA_DIR/server.properties" && -d "$KAFKA_DIR/data" ]] || die "no Kafka data in $KAFKA_DIR; run 'up' first"
  owned_pid "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK" >/dev/null || die "Kafka of $STATE is not running (restart-kafka only restarts a broker this state directory started)"
  running="$(cat "$KAFKA_DIR/version" 2>/dev/null || echo "$KAFKA_VERSION")"
  KAFKA_VERSION="$running"
  java="$(find_java 17)" || die "Kafka needs Java 17 or newer; none found (set SAFEGUARD_JAVA_HOME)."
  cpfile="$(kafka_classpath_file)"
  stop_one "Kafka" "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK"
  # The listeners must be free before the new JVM binds them.
  local i
  for ((i = 0; i < 60; i++)); do port_open "$KAFKA_PORT" || port_open "$CONTROLLER_PORT" || break; sleep 0.5; done
  if port_open "$KAFKA_PORT" || port_open "$CONTROLLER_PORT"; then die "ports $KAFKA_PORT/$CONTROLLER_PORT are still in use after stopping Kafka"; fi
  launch_kafka "$java" "$(cat "$cpfile")"
  wait_ready "Kafka" kafka_answers "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK" "$KAFKA_DIR/kafka.log"
  log "Kafka restarted in $((SECONDS - t0))s on its data in $KAFKA_DIR/data"
}

# With SAFEGUARD_INFRA_OWNER_PID: a detached watchdog that runs `down` for this state directory
# (same environment) once the owner process has exited, however it ended.
start_watchdog() {
  local owner="$1"
  [[ "$owner" =~ ^[0-9]+$ ]] || die "SAFEGUARD_INFRA_OWNER_PID must be a process id"
  if owned_pid "$STATE/watchdog.pid" "infra-watchdog:$STATE" >/dev/null; then return 0; fi
  setsid nohup bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done; exec bash "$2" down' \
    "infra-watchdog:$STATE" "$owner" "$ROOT/infra/infra.sh" >"$STATE/watchdog.log" 2>&1 </dev/null 8>&- 9>&- &
  echo $! >"$STATE/watchdog.pid"
  log "watchdog (pid $!) stops this instance once process $owner has exited"
}

stop_watchdog() {
  local pid
  if pid="$(owned_pid "$STATE/watchdog.pid" "infra-watchdog:$STATE")" && [[ "$pid" != "$$" ]]; then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/watchdog.pid"
}

print_env_hint() {
  log "export KAFKA_BROKERS=$LOCAL_BROKERS SCHEMA_REGISTRY_URL=$REGISTRY_URL"
}

cmd_down() {
  with_lock
  stop_watchdog
  stop_one "schema registry" "$REGISTRY_DIR/registry.pid" "$REGISTRY_MARK"
  stop_one "Kafka" "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK"
  local still=""
  port_open "$KAFKA_PORT" && still+=" $KAFKA_PORT"
  port_open "$REGISTRY_PORT" && still+=" $REGISTRY_PORT"
  if [[ -n "$still" ]]; then
    log "stopped what this checkout started, but something else still listens on port(s)$still"
  else
    log "down"
  fi
}

cmd_status() {
  local ok=0 pid
  if kafka_answers; then
    pid="$(owned_pid "$KAFKA_DIR/kafka.pid" "$KAFKA_MARK" || echo 'not ours')"
    echo "kafka     up    $LOCAL_BROKERS  version $(cat "$KAFKA_DIR/version" 2>/dev/null || echo '?')  pid $pid  log $KAFKA_DIR/kafka.log"
  else
    echo "kafka     down  $LOCAL_BROKERS"; ok=1
  fi
  if registry_answers; then
    pid="$(owned_pid "$REGISTRY_DIR/registry.pid" "$REGISTRY_MARK" || echo 'not ours')"
    echo "registry  up    $REGISTRY_URL  apicurio $(cat "$REGISTRY_DIR/version" 2>/dev/null || echo '?')  pid $pid  log $REGISTRY_DIR/registry.log"
  else
    echo "registry  down  $REGISTRY_URL"; ok=1
  fi
  return $ok
}

# Kafka's own admin tools on the cached classpath, e.g.
#   infra/infra.sh kafka topics --list
#   infra/infra.sh kafka consumer-groups --describe --group hasher
# --bootstrap-server defaults to $KAFKA_BROKERS, else the local broker. Same version as the
# running broker unless SAFEGUARD_KAFKA_VERSION says otherwise.
cmd_kafka() {
  local tool="${1:-}" main java cpfile
  [[ $# -gt 0 ]] && shift
  case "$tool" in
    topics) main=org.apache.kafka.tools.TopicCommand ;;
    consumer-groups) main=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    configs) main=kafka.admin.ConfigCommand ;;
    *) echo "usage: $0 kafka topics|consumer-groups|configs [args...]" >&2; exit 2 ;;
  esac
  if [[ -z "${SAFEGUARD_KAFKA_VERSION:-}" && -s "$KAFKA_DIR/version" ]]; then KAFKA_VERSION="$(cat "$KAFKA_DIR/version")"; fi
  java="$(find_java 17)" || die "Kafka's tools need Java 17 or newer"
  # Resolve (or reuse) the classpath under the lock; the subshell releases it before the tool runs.
  cpfile="$(with_lock; kafka_classpath_file)"
  local -a args=("$@")
  if [[ " ${args[*]} " != *" --bootstrap-server "* ]]; then
    args=(--bootstrap-server "${KAFKA_BROKERS:-$LOCAL_BROKERS}" "${args[@]}")
  fi
  mkdir -p "$STATE"
  printf 'log4j.rootLogger=WARN, stderr\nlog4j.appender.stderr=org.apache.log4j.ConsoleAppender\nlog4j.appender.stderr.Target=System.err\nlog4j.appender.stderr.layout=org.apache.log4j.PatternLayout\nlog4j.appender.stderr.layout.ConversionPattern=%%p %%m%%n\n' >"$STATE/tools-log4j.properties"
  printf 'status = warn\nappender.err.type = Console\nappender.err.name = STDERR\nappender.err.target = SYSTEM_ERR\nappender.err.layout.type = PatternLayout\nappender.err.layout.pattern = %%p %%m%%n\nrootLogger.level = warn\nrootLogger.appenderRef.err.ref = STDERR\n' >"$STATE/tools-log4j2.properties"
  exec "$java" -Xmx256m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$STATE/tools-log4j.properties" \
    "-Dlog4j2.configurationFile=$STATE/tools-log4j2.properties" \
    -cp "$(cat "$cpfile")" "$main" "${args[@]}"
}

cmd_env() {
  echo "export KAFKA_BROKERS=$LOCAL_BROKERS"
  echo "export SCHEMA_REGISTRY_URL=$REGISTRY_URL"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart-kafka) cmd_restart_kafka ;;
  kafka) shift; cmd_kafka "$@" ;;
  *) echo "usage: $0 up|down|status|env|restart-kafka|kafka <tool> [args]" >&2; exit 2 ;;
esac
