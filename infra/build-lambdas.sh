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
#   ONECARD_LAMBDA_LANES  functions built at once after the first (default:
#                         the number of cores); each lane is a hard-linked
#                         copy of the target dir, $CARGO_TARGET_DIR-laneN.
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
    ws) echo "cat parking people sitelink ws" ;;
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
# `cargo rustc` hands the flags after `--` to the bootstrap's own crate
# only. With fat LTO that crate's code generation is the whole program's,
# so the bootstrap is a non-PIE executable: a position-independent one
# carries a dynamic relocation for every pointer in its read-only data
# (vtables, string tables: 1.27 MiB of `.rela.dyn` in park), which the
# loader applies at every cold start. The dependencies keep their default
# flags (crc-fast builds a cdylib, which cannot be linked non-PIC), so
# they are not rebuilt for it. (cargo zigbuild takes no such flags.)
EXTRA=()
[ "${BUILD[1]}" = rustc ] && EXTRA=(-- -C relocation-model=static)

# build_one BIN DIR: builds BIN in target dir DIR, strips it into
# $TARGET_DIR/lambda/BIN/bootstrap, and records its seconds in DIR/BIN.secs.
build_one() {
  local b=$1 dir=$2 t
  t=$(date +%s)
  (cd "$ROOT" && CARGO_TARGET_DIR="$dir" "${BUILD[@]}" --locked --profile lambda --target "${TRIPLE_ARG:-$TRIPLE}" -p "fn-$b" --bin "$b" "${EXTRA[@]}")
  mkdir -p "$TARGET_DIR/lambda/$b"
  "$STRIP" --strip-all -o "$TARGET_DIR/lambda/$b/bootstrap" "$dir/$TRIPLE/lambda/$b"
  echo $(( $(date +%s) - t )) > "$dir/$b.secs"
}

# Lanes: the first function builds every dependency (cargo uses every core).
# After it, each function only recompiles onecard-app for its features and
# does its fat-LTO link, one thread each (`codegen-units = 1`), so the rest
# are built LANES at a time, each lane in its own target dir: a hard-linked
# copy of the first (cargo locks a target dir for one build at a time).
LANES="${ONECARD_LAMBDA_LANES:-$(nproc)}"
start=$(date +%s)
declare -A SECS
build_one "${BINS[0]}" "$TARGET_DIR"
SECS[${BINS[0]}]=$(cat "$TARGET_DIR/${BINS[0]}.secs")
REST=("${BINS[@]:1}")
if [ ${#REST[@]} -gt 0 ]; then
  [ "$LANES" -gt ${#REST[@]} ] && LANES=${#REST[@]}
  pids=()
  for ((k = 0; k < LANES; k++)); do
    dir="$TARGET_DIR"
    if [ $k -gt 0 ]; then
      dir="$TARGET_DIR-lane$k"
      rm -rf "$dir" && mkdir -p "$dir"
      cp -al "$TARGET_DIR/." "$dir/"
      # A hard-linked lock file is the same lock: each lane gets its own.
      find "$dir" -name .cargo-lock -delete
    fi
    (
      for ((i = k; i < ${#REST[@]}; i += LANES)); do build_one "${REST[$i]}" "$dir" || exit 1; done
    ) &
    pids+=($!)
  done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed -eq 0 ] || { echo "a function failed to build" >&2; exit 1; }
  for ((i = 0; i < ${#REST[@]}; i++)); do
    k=$(( i % LANES )); dir="$TARGET_DIR"; [ $k -gt 0 ] && dir="$TARGET_DIR-lane$k"
    SECS[${REST[$i]}]=$(cat "$dir/${REST[$i]}.secs")
  done
fi
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
