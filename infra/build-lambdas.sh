#!/usr/bin/env bash
# Builds the OneCard Lambda bootstraps for arm64 (Graviton, provided.al2023)
# with the `lambda` profile (size-optimised, fat LTO), stripped, each function
# on its own so it links only its group's handlers, and prints each size.
#
#   infra/build-lambdas.sh                 # all nine functions
#   infra/build-lambdas.sh park cat        # some of them
#
# Output: $CARGO_TARGET_DIR/lambda/<bin>/bootstrap (default target/lambda/...),
# the layout `sam build` (BuildMethod rust-cargolambda) produces too.
#
# Environment:
#   CARGO_TARGET_DIR      where to build (default: <repo>/target).
#   ONECARD_LAMBDA_ARCH   arm64 (default) or x86_64 (a native build, for a
#                         machine without an aarch64 linker; the template
#                         says arm64, so such bootstraps are for measuring).
#   ONECARD_LAMBDA_MAX_MB fail when a bootstrap is larger (default 8).
#
# Linking for aarch64 needs one of: the GNU cross toolchain
# (`apt-get install gcc-aarch64-linux-gnu`, preferred: it also compiles
# aws-lc's C code) or cargo-zigbuild (`pip install cargo-zigbuild`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL_BINS=(park acss pls cat pub partner gate push ws)
BINS=("$@")
[ ${#BINS[@]} -eq 0 ] && BINS=("${ALL_BINS[@]}")
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
ARCH="${ONECARD_LAMBDA_ARCH:-arm64}"
MAX_MB="${ONECARD_LAMBDA_MAX_MB:-8}"
# provided.al2023's glibc: a bootstrap needing a newer symbol version would
# not start on Lambda.
MAX_GLIBC="2.34"

for b in "${BINS[@]}"; do
  case " ${ALL_BINS[*]} " in
    *" $b "*) ;;
    *) echo "unknown function '$b' (one of: ${ALL_BINS[*]})" >&2; exit 2 ;;
  esac
done

# onecard-app features each function must get, and nothing more: Cargo unifies
# features over the packages of one invocation, so a function built together
# with another (or with a crate taking onecard-app's defaults) would link
# every group again. Checked before building, from Cargo's own resolution.
expected_features() {
  case "$1" in
    # park and pub change cards, so they carry the site configuration
    # ("sitelink") to push it to the agents when a card changes (issue 10);
    # the ws function serves the site routes of cat, park and partner.
    park) echo "park parking people sitelink" ;;
    pub) echo "parking people pub sitelink" ;;
    ws) echo "cat park parking partner people sitelink ws" ;;
    # Every other group reads the parking modules (stays, cards, lanes) and
    # the people modules (doors, visitors) and nothing else.
    acss) echo "acss parking people" ;;
    cat) echo "cat parking people" ;;
    gate) echo "gate parking people" ;;
    partner) echo "parking partner people" ;;
    pls) echo "parking people pls" ;;
    push) echo "parking people push" ;;
    *) echo "$1" ;;
  esac
}
bad=0
for b in "${BINS[@]}"; do
  got=$(cd "$ROOT" && cargo tree -p "fn-$b" -e normal,features --prefix none 2>/dev/null |
        sed -n 's/^onecard-app feature "\([a-z]*\)".*/\1/p' | sort -u | tr '\n' ' ' | sed 's/ $//')
  want=$(expected_features "$b")
  if [ "$got" != "$want" ]; then
    echo "fn-$b would build onecard-app with features [$got], expected [$want]" >&2
    bad=1
  fi
done
[ $bad -eq 0 ] || exit 1

case "$ARCH" in
  arm64)
    TRIPLE=aarch64-unknown-linux-gnu
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$TRIPLE"; then
      rustup target add "$TRIPLE"
    fi
    if command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
      export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
      export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
      export CXX_aarch64_unknown_linux_gnu=aarch64-linux-gnu-g++
      export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
      BUILD=(cargo rustc)
      STRIP=aarch64-linux-gnu-strip
    elif command -v cargo-zigbuild >/dev/null 2>&1; then
      # zig links against the glibc version named in the triple.
      BUILD=(cargo zigbuild)
      TRIPLE_ARG="$TRIPLE.$MAX_GLIBC"
    else
      echo "no aarch64 linker: apt-get install gcc-aarch64-linux-gnu, or pip install cargo-zigbuild" >&2
      exit 1
    fi
    ;;
  x86_64)
    TRIPLE=x86_64-unknown-linux-gnu
    BUILD=(cargo rustc)
    STRIP=strip
    ;;
  *) echo "ONECARD_LAMBDA_ARCH is arm64 or x86_64, not '$ARCH'" >&2; exit 2 ;;
esac

# The lambda profile keeps symbols (for cargo bloat); the bootstrap shipped is
# stripped here. llvm-strip reads either architecture.
if [ -z "${STRIP:-}" ] || ! command -v "$STRIP" >/dev/null 2>&1; then
  STRIP=llvm-strip
  command -v "$STRIP" >/dev/null 2>&1 || { echo "no strip tool: apt-get install binutils-aarch64-linux-gnu or llvm" >&2; exit 1; }
fi

echo "building ${BINS[*]} for $ARCH ($TRIPLE, profile lambda) into $TARGET_DIR; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
start=$(date +%s)
declare -A SECS
for b in "${BINS[@]}"; do
  t=$(date +%s)
  # `cargo rustc` hands the flags after `--` to the bootstrap's own crate
  # only. With fat LTO that crate's code generation is the whole program's,
  # so the bootstrap is a non-PIE executable: a position-independent one
  # carries a dynamic relocation for every pointer in its read-only data
  # (vtables, string tables: 1.27 MiB of `.rela.dyn` in park), which the
  # loader applies at every cold start. The dependencies keep their default
  # flags (crc-fast builds a cdylib, which cannot be linked non-PIC), so
  # they are not rebuilt for it. (cargo zigbuild takes no such flags.)
  extra=()
  [ "${BUILD[1]}" = rustc ] && extra=(-- -C relocation-model=static)
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" "${BUILD[@]}" --locked --profile lambda --target "${TRIPLE_ARG:-$TRIPLE}" -p "fn-$b" --bin "$b" "${extra[@]}")
  SECS[$b]=$(( $(date +%s) - t ))
  mkdir -p "$TARGET_DIR/lambda/$b"
  "$STRIP" --strip-all -o "$TARGET_DIR/lambda/$b/bootstrap" "$TARGET_DIR/$TRIPLE/lambda/$b"
done
elapsed=$(( $(date +%s) - start ))

# Sizes: the bootstrap as built and as the zip Lambda receives (limits:
# 50 MB zipped for a direct upload, 250 MB unzipped).
status=0
printf '\n%-8s %10s %10s %8s %7s  %s\n' function bootstrap zipped glibc build path
for b in "${BINS[@]}"; do
  f="$TARGET_DIR/lambda/$b/bootstrap"
  size=$(stat -c %s "$f")
  zipped=$(python3 - "$f" <<'EOF'
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))
EOF
)
  glibc=$(readelf -V --wide "$f" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -n 1)
  printf '%-8s %8.1fMB %8.1fMB %8s %6ss  %s\n' "$b" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$(awk -v s="$zipped" 'BEGIN{print s/1048576}')" "$glibc" "${SECS[$b]}" "$f"
  if [ "$size" -gt $(( MAX_MB * 1048576 )) ]; then
    echo "  $b: larger than ${MAX_MB} MB" >&2
    status=1
  fi
  if [ "$(printf '%s\n%s\n' "$glibc" "$MAX_GLIBC" | sort -V | tail -n 1)" != "$MAX_GLIBC" ]; then
    echo "  $b: needs glibc $glibc, provided.al2023 has $MAX_GLIBC" >&2
    status=1
  fi
done
echo "build time: ${elapsed}s" >&2
exit $status
