#!/usr/bin/env bash
# Builds every OneCard Lambda for arm64 (Graviton, provided.al2023) with
# cargo-lambda, which links through zig (no aarch64 cross toolchain needed),
# and prints each bootstrap's size.
#
#   infra/build-lambdas.sh                 # all nine functions
#   infra/build-lambdas.sh park cat        # some of them
#
# Output: $CARGO_TARGET_DIR/lambda/<bin>/bootstrap (default target/lambda/...),
# the layout `sam build` (BuildMethod rust-cargolambda) produces too.
#
# Environment:
#   CARGO_TARGET_DIR      where to build (default: <repo>/target). A separate
#                         directory keeps a long release build from holding the
#                         lock of the debug one.
#   ONECARD_LAMBDA_TOOLS  venv holding cargo-lambda + ziglang when cargo-lambda
#                         is not on PATH (default ~/.cache/onecard/lambda-tools;
#                         created with `pip install cargo-lambda` if missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL_BINS=(park acss pls cat pub partner gate push ws)
BINS=("$@")
[ ${#BINS[@]} -eq 0 ] && BINS=("${ALL_BINS[@]}")
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TOOLS="${ONECARD_LAMBDA_TOOLS:-$HOME/.cache/onecard/lambda-tools}"

for b in "${BINS[@]}"; do
  case " ${ALL_BINS[*]} " in
    *" $b "*) ;;
    *) echo "unknown function '$b' (one of: ${ALL_BINS[*]})" >&2; exit 2 ;;
  esac
done

# cargo-lambda (and zig through the ziglang wheel) from PyPI, in a venv
# outside the repository.
if ! command -v cargo-lambda >/dev/null 2>&1; then
  if [ ! -x "$TOOLS/bin/cargo-lambda" ]; then
    echo "installing cargo-lambda into $TOOLS" >&2
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet cargo-lambda
  fi
  export PATH="$TOOLS/bin:$PATH"
fi

# The aarch64 standard library; cargo-lambda needs it, zig does the linking.
if command -v rustup >/dev/null 2>&1 &&
   ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

args=()
for b in "${BINS[@]}"; do args+=(--bin "$b"); done

echo "building ${BINS[*]} for arm64 into $TARGET_DIR" >&2
start=$(date +%s)
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo lambda build --release --arm64 "${args[@]}")
elapsed=$(( $(date +%s) - start ))

# Sizes: the bootstrap as built and as the zip Lambda receives (limits:
# 50 MB zipped for a direct upload, 250 MB unzipped).
printf '\n%-8s %12s %12s  %s\n' function bootstrap zipped path
for b in "${BINS[@]}"; do
  f="$TARGET_DIR/lambda/$b/bootstrap"
  if [ ! -f "$f" ]; then
    printf '%-8s %12s %12s  %s\n' "$b" missing - "$f"
    continue
  fi
  size=$(stat -c %s "$f")
  zipped=$(python3 - "$f" <<'EOF'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
EOF
)
  printf '%-8s %10.1fMB %10.1fMB  %s\n' "$b" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$(awk -v s="$zipped" 'BEGIN{print s/1048576}')" "$f"
done
echo "build time: ${elapsed}s" >&2
