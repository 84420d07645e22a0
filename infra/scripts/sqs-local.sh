#!/usr/bin/env bash
# An SQS-compatible server (moto) for the queue contract tests and local runs.
#   sqs-local.sh start     install if missing, start, print the endpoint
#   sqs-local.sh stop
#   sqs-local.sh endpoint  print the endpoint of the running instance
# Env: SQS_PORT (default 9324), ONECARD_INFRA_DIR (pid and log files; outside the repo).
set -euo pipefail
NAME=moto_server KEY=sqs-local PORT_VAR=SQS_PORT DEFAULT_PORT=9324
source "$(dirname "$0")/service.sh"

install() {
  if ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install -q 'moto[server]'
    # pyenv installs console scripts behind shims that need a rehash.
    command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
    hash -r
  fi
}

launch() {
  local server
  server="$(command -v moto_server || true)"
  if [[ -n "$server" ]]; then
    nohup "$server" -H 127.0.0.1 -p "$1" >"$logfile" 2>&1 </dev/null &
  else
    nohup python3 -m moto.server -H 127.0.0.1 -p "$1" >"$logfile" 2>&1 </dev/null &
  fi
}

service_main "$@"
