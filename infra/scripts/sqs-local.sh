#!/usr/bin/env bash
# An SQS-compatible server (moto) for the queue contract tests and local runs.
#   sqs-local.sh start     install if missing, start, print the endpoint
#   sqs-local.sh stop
#   sqs-local.sh endpoint  print the endpoint of the running instance
# Env: SQS_PORT (default 9324), ONECARD_INFRA_DIR (pid and log files; outside the repo).
set -euo pipefail

port="${SQS_PORT:-9324}"
if [[ -z "${ONECARD_INFRA_DIR:-}" ]]; then
  if mkdir -p /work/.onecard-infra 2>/dev/null; then
    ONECARD_INFRA_DIR=/work/.onecard-infra
  else
    ONECARD_INFRA_DIR="$HOME/.cache/onecard-infra"
  fi
fi
dir="$ONECARD_INFRA_DIR"
pidfile="$dir/sqs-local.pid"
portfile="$dir/sqs-local.port"
logfile="$dir/sqs-local.log"

running() {
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

endpoint() {
  echo "http://127.0.0.1:$(cat "$portfile")"
}

answers() {
  local code
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/" || true)"
  [[ "$code" != "000" && -n "$code" ]]
}

install() {
  mkdir -p "$dir"
  if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl >/dev/null
  fi
  if ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install -q 'moto[server]'
    # pyenv installs console scripts behind shims that need a rehash.
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
    hash -r
  fi
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
    if [[ -n "${SQS_PORT:-}" ]]; then
      echo "port $port is taken" >&2
      exit 1
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  fi
  local server
  server="$(command -v moto_server || true)"
  if [[ -n "$server" ]]; then
    nohup "$server" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 </dev/null &
  else
    nohup python3 -m moto.server -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 </dev/null &
  fi
  echo $! >"$pidfile"
  echo "$port" >"$portfile"
  for _ in $(seq 1 120); do
    if answers "$port"; then
      endpoint
      return
    fi
    if ! running; then
      echo "moto_server exited; see $logfile" >&2
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "moto_server did not answer on port $port; see $logfile" >&2
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
    if running; then endpoint; else echo "moto_server is not running" >&2; exit 1; fi ;;
  *) echo "usage: $0 start|stop|endpoint" >&2; exit 2 ;;
esac
