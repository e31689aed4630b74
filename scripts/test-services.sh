#!/usr/bin/env bash
# Real services for spanline's integration tests, on 127.0.0.1.
#
#   bash scripts/test-services.sh up [names...]     provision (first time) and start; reuse what runs
#   bash scripts/test-services.sh down [names...]   stop what this script started
#   bash scripts/test-services.sh status [names...] show what runs (exit 3 if a named one does not)
#
# names: zipkin mariadb opensearch elasticsearch kafka, or `all`. Without names, `up` starts what the
# test suite needs today (DEFAULT_SERVICES below) and `down`/`status` cover every service.
#
#   service        port (127.0.0.1)        what
#   zipkin         19411                   io.zipkin:zipkin-server 3.6.1 exec jar, STORAGE_TYPE=mem
#   mariadb        13306                   Debian's mariadb-server; database, user and password `zipkin`
#   opensearch     19200 (transport 19300) OpenSearch 2.19.6 integ-test zip (no security plugin)
#   elasticsearch  19201 (transport 19301) Elasticsearch 8.19.21 integ-test zip, security disabled
#   kafka          19092 (controller 19093) Kafka 4.1.2 broker+controller in KRaft mode, from its jars
#
# The ports are not the services' defaults, so that they do not clash with spanline's own (its zipkin
# receiver listens on :9411) or a developer's; SPANLINE_<SERVICE>_PORT overrides one.
#
# Everything lives under the cache directory .cache/services/ (gitignored), a link to one directory per
# user that every clone shares, /var/tmp/spanline-<uid>/services (SPANLINE_SHARED_CACHE moves it;
# SPANLINE_SERVICES_DIR uses another directory instead of the link): the Maven repository the downloads
# go to (m2/), and per service its installation, data, `<name>.log` and `<name>.pid`. A second `up`
# downloads nothing and reuses instances that are already running and healthy. Endpoints are written
# to .cache/services/env as KEY=VALUE lines, which test/helpers/services.ts reads.
#
# Needs: bash, Java 17+, Maven (downloads from Maven Central), Node (health probes); for mariadb, Debian's
# mariadb-server (installed with apt-get when missing, as root or with sudo); for opensearch and
# elasticsearch, running as root creates the user `searchtest` (they refuse to run as root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# .cache/services is a link to one cache per user, so that every clone (CI runs on a fresh one) shares
# the downloads and the running services instead of starting a second set on the same ports. It is not
# under $HOME: the search servers run as another user, who must be able to reach their installation.
SHARED_CACHE=${SPANLINE_SHARED_CACHE:-/var/tmp/spanline-$(id -u)/services}
if [ -z "${SPANLINE_SERVICES_DIR:-}" ] && [ ! -e "$ROOT/.cache/services" ] && [ ! -L "$ROOT/.cache/services" ]; then
  mkdir -p "$SHARED_CACHE" "$ROOT/.cache"
  ln -s "$SHARED_CACHE" "$ROOT/.cache/services"
fi
# By its real path: a clone in a private directory (mktemp -d) must not be on the path of what the
# search servers' user runs or reads.
mkdir -p "${SPANLINE_SERVICES_DIR:-$ROOT/.cache/services}"
CACHE=$(cd "${SPANLINE_SERVICES_DIR:-$ROOT/.cache/services}" && pwd -P)
M2=$CACHE/m2
ENV_FILE=$CACHE/env

# What `up` starts without names: what the test suite needs today.
DEFAULT_SERVICES=(zipkin mariadb opensearch elasticsearch)
ALL_SERVICES=(zipkin mariadb opensearch elasticsearch kafka)

ZIPKIN_VERSION=3.6.1
ZIPKIN_PORT=${SPANLINE_ZIPKIN_PORT:-19411}
MARIADB_PORT=${SPANLINE_MARIADB_PORT:-13306}
OPENSEARCH_VERSION=2.19.6
OPENSEARCH_PORT=${SPANLINE_OPENSEARCH_PORT:-19200}
OPENSEARCH_TRANSPORT_PORT=$((OPENSEARCH_PORT + 100))
ELASTICSEARCH_VERSION=8.19.21
ELASTICSEARCH_PORT=${SPANLINE_ELASTICSEARCH_PORT:-19201}
ELASTICSEARCH_TRANSPORT_PORT=$((ELASTICSEARCH_PORT + 100))
KAFKA_VERSION=4.1.2
LOG4J_VERSION=2.25.4
KAFKA_PORT=${SPANLINE_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
SEARCH_USER=searchtest
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

# ---- helpers

say() { printf 'test-services: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (needed for $2)"; }

is_root() { [ "$(id -u)" = 0 ]; }

# Runs a command as root: directly, or with sudo when it needs no password.
as_root() {
  if is_root; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

java_home() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then echo "$JAVA_HOME"; return; fi
  local java
  java=$(readlink -f "$(command -v java)")
  dirname "$(dirname "$java")"
}

check_java() {
  need java "$1"
  local major
  major=$(java -XshowSettings:properties -version 2>&1 | awk -F' = ' '/java.specification.version/ { print $2 }')
  [ "${major%%.*}" -ge 17 ] 2>/dev/null || die "$1 needs Java 17 or newer; \`java\` is version ${major:-unknown}"
}

# mvn_get SERVICE ARTIFACT: resolves one artifact (no transitive deps) into the cache's Maven repository.
mvn_get() {
  local service=$1 artifact=$2 log=$CACHE/$1/download.log
  need mvn "downloading $service"
  say "$service: downloading $artifact with Maven (log: $log)"
  if ! mvn -B -C -ntp -Dstyle.color=never -Dmaven.repo.local="$M2" "$DEPENDENCY_PLUGIN:get" \
    -Dartifact="$artifact" -Dtransitive=false >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "$service: could not download $artifact from Maven Central; see $log"
  fi
}

# m2_path GROUP ARTIFACT VERSION FILE: where Maven keeps a downloaded file.
m2_path() { echo "$M2/${1//.//}/$2/$3/$4"; }

# Extracts a zip into DIR (atomically: a half-extracted tree is never taken for a finished one).
extract_zip() {
  local zip=$1 dir=$2 tmp=$2.tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$zip" -d "$tmp"
  else
    (cd "$tmp" && jar xf "$zip")
    chmod -R a+x "$tmp"/*/bin
  fi
  rm -rf "$dir" && mv "$tmp" "$dir"
}

# A GET that prints the body and fails unless the status is 2xx. Node is always there (curl may not be).
http_get() {
  node -e '
    fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then(
      async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); },
      () => process.exit(1));' "$1" 2>/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Pid files hold the process group (session) id of what we started, see `launch`.
pid_of() {
  local f=$CACHE/$1/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 -- "-$pid" 2>/dev/null || return 1
  echo "$pid"
}

# launch SERVICE CMD...: starts CMD in its own session, detached from our stdio, logging to <name>.log
# (the previous log is kept as <name>.log.1). The session id is the process group we stop on `down`.
launch() {
  local service=$1
  shift
  local log=$CACHE/$service/$service.log
  [ -f "$log" ] && mv -f "$log" "$log.1"
  # A background job of a non-interactive shell is not a group leader, so setsid(1) does not fork:
  # $! is the new session's id. It must not inherit the lock (fd 9).
  setsid "$@" >"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$CACHE/$service/$service.pid"
  port_of "$service" >"$CACHE/$service/$service.port"
}

# wait_healthy SERVICE TIMEOUT_S: polls `<service>_healthy` until it succeeds.
wait_healthy() {
  local service=$1 timeout=$2 log=$CACHE/$1/$1.log deadline=$((SECONDS + $2))
  until "${service}_healthy"; do
    if ! pid_of "$service" >/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "$service exited during start-up; see its log: $log"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$log" >&2 || true
      die "$service did not become healthy within ${timeout}s; see its log: $log (it is left running: \`bash scripts/test-services.sh down $service\`)"
    fi
    sleep 1
  done
}

# env_set PREFIX [KEY=VALUE...]: replaces every PREFIX* line of the env file with the given lines.
env_set() {
  local prefix=$1
  shift
  local tmp=$ENV_FILE.tmp.$$
  { [ -f "$ENV_FILE" ] && grep -v "^${prefix}" "$ENV_FILE" || true; } >"$tmp"
  for kv in "$@"; do echo "$kv" >>"$tmp"; done
  mv -f "$tmp" "$ENV_FILE"
}

# ---- zipkin: the real Zipkin server (exec jar), in-memory storage

ZIPKIN_JAR=$(m2_path io.zipkin zipkin-server "$ZIPKIN_VERSION" "zipkin-server-$ZIPKIN_VERSION-exec.jar")

zipkin_provision() {
  check_java zipkin
  [ -f "$ZIPKIN_JAR" ] || mvn_get zipkin "io.zipkin:zipkin-server:$ZIPKIN_VERSION:jar:exec"
}
zipkin_healthy() { http_get "http://127.0.0.1:$ZIPKIN_PORT/health" | grep -q '"status" *: *"UP"'; }
zipkin_start() {
  launch zipkin env QUERY_PORT="$ZIPKIN_PORT" STORAGE_TYPE=mem COLLECTOR_GRPC_ENABLED=false \
    java -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.net.preferIPv4Stack=true \
    -jar "$ZIPKIN_JAR" --armeria.ports[0].ip=127.0.0.1 --armeria.ports[0].port="$ZIPKIN_PORT" \
    --armeria.ports[0].protocols[0]=http
}
zipkin_timeout=120
zipkin_env() {
  env_set ZIPKIN_ "ZIPKIN_SERVER_URL=http://127.0.0.1:$ZIPKIN_PORT" "ZIPKIN_SERVER_VERSION=$ZIPKIN_VERSION" \
    "ZIPKIN_SERVER_JAR=$ZIPKIN_JAR"
}

# ---- mariadb: Debian's mariadb-server, private datadir and socket, database and user `zipkin`

MARIADB_DIR=$CACHE/mariadb
MARIADB_SOCKET=$MARIADB_DIR/mysqld.sock
# Unix socket paths are limited to 107 bytes.
if [ ${#MARIADB_SOCKET} -gt 100 ]; then
  MARIADB_SOCKET=/tmp/spanline-mariadb-$(echo "$MARIADB_DIR" | cksum | cut -d' ' -f1).sock
fi

mariadb_bin() {
  local name
  for name in "$@"; do
    for dir in /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
      [ -x "$dir/$name" ] && { echo "$dir/$name"; return; }
    done
    command -v "$name" 2>/dev/null && return
  done
  return 1
}

mariadb_install() {
  say "mariadb: installing Debian's mariadb-server with apt-get"
  local log=$MARIADB_DIR/download.log policy=/usr/sbin/policy-rc.d created_policy=
  command -v apt-get >/dev/null 2>&1 || die "mariadb: mariadbd is missing and there is no apt-get; install MariaDB Server"
  as_root true || die "mariadb: mariadbd is missing; install it as root: apt-get install mariadb-server"
  # Keep the package from starting a system-wide server on :3306; ours runs from the cache.
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod +x $policy" && created_policy=1
  fi
  local ok=1
  { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends mariadb-server; } >"$log" 2>&1 || ok=
  [ -n "$created_policy" ] && as_root rm -f "$policy"
  [ -n "$ok" ] || { tail -n 20 "$log" >&2; die "mariadb: apt-get install mariadb-server failed; see $log"; }
}

mariadb_provision() {
  mariadb_bin mariadbd mysqld >/dev/null || mariadb_install
  MARIADBD=$(mariadb_bin mariadbd mysqld) || die "mariadb: mariadbd not found after installing"
  MARIADB_CLIENT=$(mariadb_bin mariadb mysql) || die "mariadb: the mariadb client is not installed"
  if [ ! -d "$MARIADB_DIR/data/mysql" ]; then
    local install_db log=$MARIADB_DIR/download.log
    install_db=$(mariadb_bin mariadb-install-db mysql_install_db) || die "mariadb: mariadb-install-db not found"
    say "mariadb: initialising the data directory $MARIADB_DIR/data"
    rm -rf "$MARIADB_DIR/data" "$MARIADB_DIR/data.tmp"
    "$install_db" --no-defaults --datadir="$MARIADB_DIR/data.tmp" --user="$(id -un)" \
      --auth-root-authentication-method=normal --skip-test-db >"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; die "mariadb: mariadb-install-db failed; see $log"; }
    mv "$MARIADB_DIR/data.tmp" "$MARIADB_DIR/data"
  fi
}
mariadb_sql() { "$MARIADB_CLIENT" --no-defaults "$@"; }
mariadb_root_ready() { mariadb_sql --socket="$MARIADB_SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1; }
mariadb_healthy() {
  [ -n "${MARIADB_CLIENT:-}" ] || MARIADB_CLIENT=$(mariadb_bin mariadb mysql) || return 1
  mariadb_sql --protocol=TCP -h127.0.0.1 -P"$MARIADB_PORT" -uzipkin -pzipkin zipkin -e 'SELECT 1' >/dev/null 2>&1
}
mariadb_start() {
  local user=()
  is_root && user=(--user=root)
  launch mariadb "$MARIADBD" --no-defaults "${user[@]}" --datadir="$MARIADB_DIR/data" \
    --socket="$MARIADB_SOCKET" --port="$MARIADB_PORT" --bind-address=127.0.0.1 \
    --pid-file="$MARIADB_DIR/mariadbd.pid" --skip-name-resolve --innodb-buffer-pool-size=256M \
    --max-connections=500 --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
  local deadline=$((SECONDS + 60))
  until mariadb_root_ready; do
    pid_of mariadb >/dev/null || die "mariadb exited during start-up; see its log: $MARIADB_DIR/mariadb.log"
    [ "$SECONDS" -lt "$deadline" ] || die "mariadb did not accept connections within 60s; see its log: $MARIADB_DIR/mariadb.log"
    sleep 0.5
  done
  mariadb_sql --socket="$MARIADB_SOCKET" -uroot -e "
    CREATE DATABASE IF NOT EXISTS zipkin;
    CREATE USER IF NOT EXISTS 'zipkin'@'%' IDENTIFIED BY 'zipkin';
    CREATE USER IF NOT EXISTS 'zipkin'@'localhost' IDENTIFIED BY 'zipkin';
    GRANT ALL PRIVILEGES ON zipkin.* TO 'zipkin'@'%';
    GRANT ALL PRIVILEGES ON zipkin.* TO 'zipkin'@'localhost';" ||
    die "mariadb: could not create the zipkin database and user; see $MARIADB_DIR/mariadb.log"
}
mariadb_timeout=60
mariadb_env() {
  env_set MARIADB_ MARIADB_HOST=127.0.0.1 "MARIADB_PORT=$MARIADB_PORT" MARIADB_USER=zipkin \
    MARIADB_PASSWORD=zipkin MARIADB_DATABASE=zipkin "MARIADB_SOCKET=$MARIADB_SOCKET"
}

# ---- opensearch and elasticsearch: integ-test zips (no bundled JDK, no security plugins)

# search_user_prepare DIR...: as root, the servers run as $SEARCH_USER and must own their directories.
search_user_prepare() {
  is_root || return 0
  id -u "$SEARCH_USER" >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin "$SEARCH_USER" ||
    die "could not create the user $SEARCH_USER"
  chown -R "$SEARCH_USER:" "$@"
}

# search_provision NAME GROUP VERSION
search_provision() {
  local name=$1 group=$2 version=$3
  check_java "$name"
  local home=$CACHE/$name/$name-$version
  if [ ! -x "$home/bin/$name" ]; then
    local zip
    zip=$(m2_path "$group" "$name" "$version" "$name-$version.zip")
    [ -f "$zip" ] || mvn_get "$name" "$group:$name:$version:zip"
    say "$name: extracting $zip"
    extract_zip "$zip" "$CACHE/$name/dist"
    rm -rf "$home" && mv "$CACHE/$name/dist/$name-$version" "$home" && rm -rf "$CACHE/$name/dist"
  fi
  mkdir -p "$CACHE/$name/data" "$CACHE/$name/logs"
  search_user_prepare "$home" "$CACHE/$name/data" "$CACHE/$name/logs"
}

# search_start NAME HTTP_PORT TRANSPORT_PORT JAVA_HOME_VAR JAVA_OPTS_VAR [-E settings...]
search_start() {
  local name=$1 port=$2 tport=$3 home_var=$4 opts_var=$5
  shift 5
  local version_var=${name^^}_VERSION
  local home=$CACHE/$name/$name-${!version_var}
  local as=()
  is_root && as=(runuser -u "$SEARCH_USER" --)
  launch "$name" "${as[@]}" env "$home_var=$(java_home)" "$opts_var=-Xms512m -Xmx512m" \
    "$home/bin/$name" -E discovery.type=single-node -E network.host=127.0.0.1 \
    -E http.port="$port" -E transport.port="$tport" -E cluster.name="spanline-test-$name" \
    -E path.data="$CACHE/$name/data" -E path.logs="$CACHE/$name/logs" \
    -E cluster.routing.allocation.disk.threshold_enabled=false "$@"
}

# search_healthy PORT VERSION: the node is the version we run (the integ-test zips have no `GET /`) and
# the cluster is yellow or green.
search_healthy() {
  http_get "http://127.0.0.1:$1/_nodes/_local?filter_path=nodes.*.version" | grep -q "\"version\":\"$2\"" || return 1
  http_get "http://127.0.0.1:$1/_cluster/health?wait_for_status=yellow&timeout=2s" | grep -Eq '"status" *: *"(green|yellow)"'
}

opensearch_provision() { search_provision opensearch org.opensearch.distribution.integ-test-zip "$OPENSEARCH_VERSION"; }
opensearch_healthy() { search_healthy "$OPENSEARCH_PORT" "$OPENSEARCH_VERSION"; }
opensearch_start() {
  search_start opensearch "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT" OPENSEARCH_JAVA_HOME OPENSEARCH_JAVA_OPTS
}
opensearch_timeout=180
opensearch_env() {
  env_set OPENSEARCH_ "OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_PORT" "OPENSEARCH_VERSION=$OPENSEARCH_VERSION"
}

elasticsearch_provision() { search_provision elasticsearch org.elasticsearch.distribution.integ-test-zip "$ELASTICSEARCH_VERSION"; }
elasticsearch_healthy() { search_healthy "$ELASTICSEARCH_PORT" "$ELASTICSEARCH_VERSION"; }
elasticsearch_start() {
  # The 8.x integ-test zip carries x-pack security, which would otherwise configure itself on the first
  # start (TLS on HTTP, a generated password): plain HTTP without auth, like OpenSearch's.
  search_start elasticsearch "$ELASTICSEARCH_PORT" "$ELASTICSEARCH_TRANSPORT_PORT" ES_JAVA_HOME ES_JAVA_OPTS \
    -E xpack.security.enabled=false -E xpack.security.enrollment.enabled=false
}
elasticsearch_timeout=180
elasticsearch_env() {
  env_set ELASTICSEARCH_ "ELASTICSEARCH_URL=http://127.0.0.1:$ELASTICSEARCH_PORT" \
    "ELASTICSEARCH_VERSION=$ELASTICSEARCH_VERSION"
}

# ---- kafka: a single KRaft node (broker + controller) from the broker's jars, no distribution tarball

KAFKA_DIR=$CACHE/kafka

kafka_provision() {
  check_java kafka
  mkdir -p "$KAFKA_DIR"
  if [ ! -s "$KAFKA_DIR/classpath-$KAFKA_VERSION" ]; then
    need mvn "downloading kafka"
    local log=$KAFKA_DIR/download.log
    cat >"$KAFKA_DIR/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local.spanline</groupId><artifactId>test-kafka</artifactId><version>0</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    say "kafka: downloading org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies with Maven (log: $log)"
    # The classpath points into the Maven repository: nothing is copied.
    if ! mvn -B -C -ntp -Dstyle.color=never -Dmaven.repo.local="$M2" -f "$KAFKA_DIR/pom.xml" \
      "$DEPENDENCY_PLUGIN:build-classpath" -Dmdep.includeScope=runtime \
      -Dmdep.outputFile="$KAFKA_DIR/classpath.tmp" >"$log" 2>&1; then
      tail -n 20 "$log" >&2
      die "kafka: could not download Kafka $KAFKA_VERSION from Maven Central; see $log"
    fi
    mv "$KAFKA_DIR/classpath.tmp" "$KAFKA_DIR/classpath-$KAFKA_VERSION"
  fi
  cat >"$KAFKA_DIR/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
EOF
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cp id log=$KAFKA_DIR/download.log
    cp=$(cat "$KAFKA_DIR/classpath-$KAFKA_VERSION")
    id=$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>>"$log") || die "kafka: StorageTool failed; see $log"
    java -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -cp "$cp" kafka.tools.StorageTool format \
      -t "$id" -c "$KAFKA_DIR/server.properties" >>"$log" 2>&1 ||
      { tail -n 20 "$log" >&2; die "kafka: formatting the KRaft log directory failed; see $log"; }
  fi
}

# An ApiVersions request answered without error: the broker serves requests.
kafka_healthy() {
  port_open "$KAFKA_PORT" || return 1
  node -e '
    const s = require("node:net").connect(+process.argv[1], "127.0.0.1");
    const client = Buffer.from("health");
    const req = Buffer.alloc(14 + client.length);
    req.writeInt32BE(10 + client.length, 0); req.writeInt16BE(18, 4); req.writeInt16BE(0, 6);
    req.writeInt32BE(7, 8); req.writeInt16BE(client.length, 12); client.copy(req, 14);
    let got = Buffer.alloc(0);
    s.setTimeout(3000, () => process.exit(1)).on("error", () => process.exit(1)).write(req);
    s.on("data", (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 10) process.exit(got.readInt32BE(4) === 7 && got.readInt16BE(8) === 0 ? 0 : 1);
    });' "$KAFKA_PORT" 2>/dev/null
}
kafka_start() {
  launch kafka java -Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" -Dkafka.logs.dir="$KAFKA_DIR" \
    -cp "$(cat "$KAFKA_DIR/classpath-$KAFKA_VERSION")" kafka.Kafka "$KAFKA_DIR/server.properties"
}
kafka_timeout=120
kafka_env() { env_set KAFKA_ "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$KAFKA_PORT" "KAFKA_VERSION=$KAFKA_VERSION"; }

port_of() {
  case $1 in
    zipkin) echo "$ZIPKIN_PORT" ;;
    mariadb) echo "$MARIADB_PORT" ;;
    opensearch) echo "$OPENSEARCH_PORT" ;;
    elasticsearch) echo "$ELASTICSEARCH_PORT" ;;
    kafka) echo "$KAFKA_PORT" ;;
  esac
}

# ---- commands

service_up() {
  local service=$1 t0 port
  t0=$(now)
  port=$(port_of "$service")
  mkdir -p "$CACHE/$service"
  if "${service}_healthy"; then
    say "$service: already running and healthy on 127.0.0.1:$port"
    "${service}_env"
    return
  fi
  local timeout_var=${service}_timeout
  if pid=$(pid_of "$service"); then
    local started_port
    started_port=$(cat "$CACHE/$service/$service.port" 2>/dev/null || true)
    [ "$started_port" = "$port" ] ||
      die "$service: this script started it on port ${started_port:-unknown}, not $port; \`bash scripts/test-services.sh down $service\` first"
    local age=$(($(date +%s) - $(stat -c %Y "$CACHE/$service/$service.pid")))
    if [ "$age" -lt "${!timeout_var}" ]; then
      # Ours and still starting, e.g. after an interrupted `up`.
      say "$service: started ${age}s ago (process group $pid) and not healthy yet; waiting"
      "${service}_provision"
      wait_healthy "$service" "${!timeout_var}"
      "${service}_env"
      say "$service: ready on 127.0.0.1:$port ($(since "$t0"))"
      return
    fi
    say "$service: started ${age}s ago but not healthy; restarting it"
    service_down "$service"
  fi
  port_open "$port" && die "$service: port 127.0.0.1:$port is taken by something that is not a healthy $service; free it or set SPANLINE_${service^^}_PORT"
  "${service}_provision"
  local t1
  t1=$(now)
  say "$service: starting on 127.0.0.1:$port (log: $CACHE/$service/$service.log)"
  "${service}_start"
  wait_healthy "$service" "${!timeout_var}"
  "${service}_env"
  say "$service: ready on 127.0.0.1:$port ($(since "$t0") in all, start-up $(since "$t1"))"
}

service_down() {
  local service=$1 pid
  env_set "${service^^}_"
  if ! pid=$(pid_of "$service"); then
    rm -f "$CACHE/$service/$service.pid"
    if "${service}_healthy" 2>/dev/null; then
      say "$service: running on 127.0.0.1:$(port_of "$service") but not started by this script; left alone"
    else
      say "$service: not running"
    fi
    return
  fi
  say "$service: stopping (process group $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 30))
  while kill -0 -- "-$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$service: still running after 30s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 0.5
  done
  rm -f "$CACHE/$service/$service.pid" "$CACHE/$service/$service.port"
  say "$service: stopped"
}

service_status() {
  local service=$1 pid state
  pid=$(pid_of "$service") || pid=-
  if "${service}_healthy" 2>/dev/null; then state=healthy
  elif [ "$pid" != - ]; then state=unhealthy
  else state=stopped; fi
  printf '%-14s %-10s %-22s pid %-8s log %s\n' "$service" "$state" "127.0.0.1:$(port_of "$service")" "$pid" \
    "$CACHE/$service/$service.log"
  [ "$state" = healthy ]
}

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local command=${1:-}
  [ -n "$command" ] || usage
  shift
  local names=("$@")
  if [ ${#names[@]} -eq 0 ]; then
    if [ "$command" = up ]; then names=("${DEFAULT_SERVICES[@]}"); else names=("${ALL_SERVICES[@]}"); fi
  elif [ "${names[*]}" = all ]; then
    names=("${ALL_SERVICES[@]}")
  fi
  for n in "${names[@]}"; do
    [[ " ${ALL_SERVICES[*]} " == *" $n "* ]] || die "unknown service \"$n\" (known: ${ALL_SERVICES[*]})"
  done
  need node "health checks"
  mkdir -p "$CACHE"
  case $command in
    up | down)
      # One `up`/`down` at a time (a concurrent first run may be downloading).
      if command -v flock >/dev/null 2>&1; then
        exec 9>"$CACHE/.lock"
        flock -w 900 9 || die "another test-services.sh has held $CACHE/.lock for 15 minutes"
      fi
      for n in "${names[@]}"; do "service_$command" "$n"; done
      ;;
    status)
      local rc=0
      for n in "${names[@]}"; do service_status "$n" || rc=3; done
      return $rc
      ;;
    *) usage ;;
  esac
}

main "$@"
