# Shared by the local service scripts (sourced, not run): one background
# process per service, its pid, port and log under ONECARD_INFRA_DIR (outside
# the repo, so nothing downloaded is ever committed).
#
# A script sets NAME (label), KEY (file prefix), PORT_VAR (env var naming the
# port) and DEFAULT_PORT, defines `install` and `launch PORT` (start the process
# in the background, echo nothing), then calls `service_main "$@"`.

if [[ -z "${ONECARD_INFRA_DIR:-}" ]]; then
  if mkdir -p /work/.onecard-infra 2>/dev/null; then
    ONECARD_INFRA_DIR=/work/.onecard-infra
  else
    ONECARD_INFRA_DIR="$HOME/.cache/onecard-infra"
  fi
fi
dir="$ONECARD_INFRA_DIR"
pidfile="$dir/$KEY.pid"
portfile="$dir/$KEY.port"
logfile="$dir/$KEY.log"
port="${!PORT_VAR:-$DEFAULT_PORT}"

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

port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ensure_curl() {
  if ! command -v curl >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq curl >/dev/null
  fi
}

start() {
  if running && answers "$(cat "$portfile")"; then
    endpoint
    return
  fi
  mkdir -p "$dir"
  ensure_curl
  install
  if ! port_free "$port"; then
    # A port the caller chose must be honoured; the default may move.
    if [[ -n "${!PORT_VAR:-}" ]]; then
      echo "port $port is taken" >&2
      exit 1
    fi
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  fi
  launch "$port"
  echo $! >"$pidfile"
  echo "$port" >"$portfile"
  for _ in $(seq 1 120); do
    if answers "$port"; then
      endpoint
      return
    fi
    if ! running; then
      echo "$NAME exited; see $logfile" >&2
      tail -n 20 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  echo "$NAME did not answer on port $port; see $logfile" >&2
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    for _ in $(seq 1 20); do running || break; sleep 0.25; done
  fi
  rm -f "$pidfile" "$portfile"
}

service_main() {
  case "${1:-}" in
    start) start ;;
    stop) stop ;;
    endpoint)
      if running; then endpoint; else echo "$NAME is not running" >&2; exit 1; fi ;;
    *) echo "usage: $0 start|stop|endpoint" >&2; exit 2 ;;
  esac
}
