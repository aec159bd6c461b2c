#!/usr/bin/env bash
# A real single-node Apache Cassandra on 127.0.0.1:9042 for Hearth's tests and benches, without
# Docker: `tests/cassandra/cassandra.sh {install|start|stop|status|wipe}`.
#
#   install  fetch org.apache.cassandra:cassandra-all and its dependencies from Maven Central with
#            mvn into $HEARTH_CACHE/cassandra-<version>/lib (once; later runs reuse the cache)
#   start    install if needed, write a minimal cassandra.yaml (loopback only, small heap, data in
#            $HEARTH_CASSANDRA_DIR), run CassandraDaemon in the background and wait until CQL
#            answers; a no-op when it already answers
#   stop     stop the daemon (SIGTERM, then SIGKILL after a deadline); data is kept, so a later
#            start finds everything that was written
#   status   exit 0 when CQL answers on the port, 1 otherwise
#   wipe     stop and remove the data directory
#
# Environment: CASSANDRA_VERSION (default below), HEARTH_CACHE (default ~/.cache/hearth),
# HEARTH_CASSANDRA_DIR (default ${TMPDIR:-/tmp}/hearth-cassandra-$UID), CASSANDRA_PORT (9042),
# CASSANDRA_STORAGE_PORT (7000), CASSANDRA_HEAP (1g), CASSANDRA_START_TIMEOUT (seconds, 240).
set -euo pipefail

CASSANDRA_VERSION="${CASSANDRA_VERSION:-5.0.9}"
CACHE="${HEARTH_CACHE:-$HOME/.cache/hearth}"
HOME_DIR="$CACHE/cassandra-$CASSANDRA_VERSION"
LIB="$HOME_DIR/lib"
RUN_DIR="${HEARTH_CASSANDRA_DIR:-${TMPDIR:-/tmp}/hearth-cassandra-$(id -u)}"
PORT="${CASSANDRA_PORT:-9042}"
STORAGE_PORT="${CASSANDRA_STORAGE_PORT:-7000}"
HEAP="${CASSANDRA_HEAP:-1g}"
START_TIMEOUT="${CASSANDRA_START_TIMEOUT:-240}"
PID_FILE="$RUN_DIR/cassandra.pid"
LOG_FILE="$RUN_DIR/cassandra.log"

say() { printf 'cassandra.sh: %s\n' "$*" >&2; }

# True when a CQL server answers an OPTIONS frame on the port with SUPPORTED (opcode 0x06): a
# real protocol exchange, not just an open socket. Native protocol v4 frame header: version,
# flags, stream (2 octets), opcode, body length (4 octets).
cql_answers() {
  local reply
  reply=$(
    timeout 3 bash -c '
      exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
      printf "\x04\x00\x00\x01\x05\x00\x00\x00\x00" >&3
      head -c 9 <&3 | od -An -tx1
    ' _ "$PORT" 2>/dev/null
  ) || return 1
  # Response version 0x84, opcode 0x06 (SUPPORTED) in the fifth octet.
  set -- $reply
  [ "${1:-}" = "84" ] && [ "${5:-}" = "06" ]
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # Make sure the pid is still our daemon, not a recycled number.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q CassandraDaemon || return 1
  echo "$pid"
}

install() {
  if [ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ] && [ -f "$LIB/.complete" ]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || { say "mvn is missing (apt-get install maven)"; exit 1; }
  command -v java >/dev/null 2>&1 || { say "java is missing (apt-get install openjdk-17-jre-headless)"; exit 1; }
  say "fetching cassandra-all $CASSANDRA_VERSION and its dependencies into $LIB"
  mkdir -p "$HOME_DIR"
  cat >"$HOME_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hearth.test</groupId>
  <artifactId>cassandra-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.cassandra</groupId>
      <artifactId>cassandra-all</artifactId>
      <version>$CASSANDRA_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIB"
  (cd "$HOME_DIR" && mvn -q -B dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIB") || {
    say "mvn could not fetch cassandra-all $CASSANDRA_VERSION"
    exit 1
  }
  [ -f "$LIB/cassandra-all-$CASSANDRA_VERSION.jar" ] || { say "cassandra-all jar missing in $LIB"; exit 1; }
  touch "$LIB/.complete"
}

write_config() {
  mkdir -p "$RUN_DIR"/{data,commitlog,saved_caches,hints,cdc_raw,conf}
  cat >"$RUN_DIR/conf/cassandra.yaml" <<EOF
# Written by tests/cassandra/cassandra.sh: a single test node on the loopback interface.
cluster_name: hearth-test
num_tokens: 4
allocate_tokens_for_local_replication_factor: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$STORAGE_PORT"
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $STORAGE_PORT
start_native_transport: true
native_transport_port: $PORT
endpoint_snitch: SimpleSnitch
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
data_file_directories:
  - $RUN_DIR/data
commitlog_directory: $RUN_DIR/commitlog
saved_caches_directory: $RUN_DIR/saved_caches
hints_directory: $RUN_DIR/hints
cdc_raw_directory: $RUN_DIR/cdc_raw
# Writes are acknowledged once in the commit log; the log is fsynced every 10 s (Cassandra's
# default). A node crash can lose those seconds; a clean stop (SIGTERM) flushes.
commitlog_sync: periodic
commitlog_sync_period: 10000ms
commitlog_segment_size: 32MiB
disk_failure_policy: stop
commit_failure_policy: stop
auto_snapshot: false
snapshot_on_duplicate_row_detection: false
read_request_timeout: 5000ms
range_request_timeout: 10000ms
write_request_timeout: 2000ms
cas_contention_timeout: 1000ms
truncate_request_timeout: 60000ms
request_timeout: 10000ms
concurrent_reads: 16
concurrent_writes: 16
concurrent_counter_writes: 4
memtable_heap_space: 128MiB
memtable_offheap_space: 128MiB
key_cache_size: 16MiB
counter_cache_size: 0MiB
prepared_statements_cache_size: 16MiB
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 640KiB
compaction_throughput: 64MiB/s
hinted_handoff_enabled: false
dynamic_snitch: false
EOF
  cat >"$RUN_DIR/conf/logback.xml" <<EOF
<configuration scan="false">
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$RUN_DIR/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter"><level>INFO</level></filter>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="FILE" />
    <appender-ref ref="STDOUT" />
  </root>
</configuration>
EOF
}

start() {
  if cql_answers; then
    say "already answering CQL on 127.0.0.1:$PORT"
    return 0
  fi
  if pid=$(running_pid); then
    say "daemon $pid is starting; waiting for CQL"
  else
    install
    write_config
    local jamm agent=()
    jamm=$(ls "$LIB"/jamm-*.jar 2>/dev/null | head -n 1 || true)
    [ -n "$jamm" ] && agent=("-javaagent:$jamm")
    # The JDK 17 flags of Cassandra 5.0's conf/jvm17-server.options (JPMS exports and opens,
    # G1, Netty), a small heap, and start-up shortcuts for a single node.
    local jvm=(
      -Xms512m "-Xmx$HEAP" -Xss512k
      -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:MaxGCPauseMillis=300
      -XX:+ExitOnOutOfMemoryError
      -Djdk.attach.allowAttachSelf=true
      --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
      --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
      --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
      --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
      --add-exports java.sql/java.sql=ALL-UNNAMED
      --add-exports java.base/java.lang.ref=ALL-UNNAMED
      --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
      --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
      --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
      --add-opens java.base/java.lang.module=ALL-UNNAMED
      --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
      --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
      --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
      --add-opens java.base/jdk.internal.math=ALL-UNNAMED
      --add-opens java.base/jdk.internal.module=ALL-UNNAMED
      --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
      --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
      --add-opens java.base/sun.nio.ch=ALL-UNNAMED
      --add-opens java.base/java.io=ALL-UNNAMED
      --add-opens java.base/java.lang.reflect=ALL-UNNAMED
      --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
      --add-opens java.base/java.lang=ALL-UNNAMED
      --add-opens java.base/java.util=ALL-UNNAMED
      -Dio.netty.tryReflectionSetAccessible=true
      -Dio.netty.allocator.useCacheForAllThreads=true
      -Dio.netty.allocator.maxOrder=11
      "-Dcassandra.config=file://$RUN_DIR/conf/cassandra.yaml"
      "-Dlogback.configurationFile=file://$RUN_DIR/conf/logback.xml"
      "-Dcassandra.logdir=$RUN_DIR"
      "-Dcassandra.storagedir=$RUN_DIR"
      -Dcassandra-foreground=yes
      -Dcassandra.skip_wait_for_gossip_to_settle=0
      -Dcassandra.ring_delay_ms=100
      -Dcassandra.superuser_setup_delay_ms=0
    )
    say "starting Cassandra $CASSANDRA_VERSION on 127.0.0.1:$PORT (data in $RUN_DIR, log $LOG_FILE)"
    : >"$LOG_FILE"
    # setsid: the daemon outlives this script and the shell that ran it.
    setsid java "${agent[@]}" "${jvm[@]}" -cp "$RUN_DIR/conf:$LIB/*" \
      org.apache.cassandra.service.CassandraDaemon >>"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  local deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if cql_answers; then
      say "CQL answers on 127.0.0.1:$PORT after $((SECONDS))s"
      return 0
    fi
    if ! running_pid >/dev/null; then
      say "Cassandra exited during start-up; last lines of $LOG_FILE:"
      tail -n 40 "$LOG_FILE" >&2 || true
      exit 1
    fi
    sleep 1
  done
  say "CQL did not answer within ${START_TIMEOUT}s; last lines of $LOG_FILE:"
  tail -n 40 "$LOG_FILE" >&2 || true
  exit 1
}

stop() {
  local pid
  if ! pid=$(running_pid); then
    say "not running"
    rm -f "$PID_FILE"
    return 0
  fi
  say "stopping Cassandra (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 60s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status)
    if cql_answers; then
      say "CQL answers on 127.0.0.1:$PORT"
    else
      say "no CQL on 127.0.0.1:$PORT"
      exit 1
    fi
    ;;
  wipe)
    stop
    rm -rf "$RUN_DIR"
    ;;
  *)
    echo "usage: $0 {install|start|stop|status|wipe}" >&2
    exit 2
    ;;
esac
