#!/usr/bin/env bash
# The one test command: installs what is missing, starts DynamoDB Local and the
# SQS-compatible server, runs every test (unit, contract, integration against the
# real server, template lint, the kit's conformance suite), and stops them.
#
#   ./infra/test.sh
#
# Env: CARGO_TARGET_DIR is honoured (CI keeps it outside the clone to reuse builds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
kit="$root/../shared"

export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

step() { printf '\n== %s ==\n' "$*"; }

step "tools"
command -v cargo >/dev/null || { echo "cargo is required (rustup toolchain)"; exit 1; }
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-pip >/dev/null; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }
command -v cfn-lint >/dev/null || python3 -m pip install -q cfn-lint
cfn-lint --version

pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  "$root/infra/scripts/dynamodb-local.sh" stop >/dev/null 2>&1
  "$root/infra/scripts/sqs-local.sh" stop >/dev/null 2>&1
}
trap cleanup EXIT

step "local AWS services"
ONECARD_DYNAMODB_ENDPOINT=$("$root/infra/scripts/dynamodb-local.sh" start | tail -n 1)
ONECARD_SQS_ENDPOINT=$("$root/infra/scripts/sqs-local.sh" start | tail -n 1)
# moto serves S3 on the same endpoint: the blob store's contract tests use it.
ONECARD_S3_ENDPOINT=$ONECARD_SQS_ENDPOINT
export ONECARD_DYNAMODB_ENDPOINT ONECARD_SQS_ENDPOINT ONECARD_S3_ENDPOINT
echo "DynamoDB Local: $ONECARD_DYNAMODB_ENDPOINT"
echo "SQS, S3 (moto): $ONECARD_SQS_ENDPOINT"

step "build"
cargo build --workspace --bins --tests

step "cargo test"
cargo test --workspace --no-fail-fast

step "template"
cfn-lint template.yaml && echo "cfn-lint: template.yaml passes"

step "conformance (kit) against onecard serve on a fresh data dir"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys;print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
data=$(mktemp -d)
"$target_dir/debug/onecard" serve --listen "127.0.0.1:$port" --data-dir "$data/data" --no-demo-site >"$data/serve.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
python3 "$kit/conformance/onecard_conformance.py" --base "http://127.0.0.1:$port" --suite protocol,coverage,parking,wires \
  | grep -vE '^PASS ' || { echo "conformance failed; server log:"; tail -n 40 "$data/serve.log"; exit 1; }

step "agent package (cargo-deb, dpkg --root install/upgrade/remove/purge, systemd-analyze verify)"
agent/tests/package.sh
# The static cross builds take many minutes on 2 cores: opt-in.
if [ "${ONECARD_TEST_AGENT_CROSS:-0}" = 1 ]; then
  step "agent cross builds (x86_64, aarch64, armv7)"
  ./infra/build-agent.sh
fi
