#!/usr/bin/env bash
# Builds the on-site agent for the boxes car parks use, static (musl, no
# system library at all: the same file runs on any Linux of its CPU), with
# cargo-zigbuild, and a Debian package per architecture; prints the sizes.
#
#   infra/build-agent.sh                   # x86_64, aarch64 and armv7
#   infra/build-agent.sh aarch64           # some of them
#
# Output: $CARGO_TARGET_DIR/agent/onecard-agent-<arch> and
#         $CARGO_TARGET_DIR/agent/onecard-agent_<version>_<debarch>.deb
#
# Environment:
#   CARGO_TARGET_DIR        where to build (default: <repo>/target).
#   ONECARD_AGENT_PROFILE   cargo profile (default release).
#   ONECARD_AGENT_DEB       0 skips the .deb (default 1).
#   ONECARD_AGENT_LIBC      musl (default, static) or gnu (glibc 2.31 and up,
#                           i.e. Debian 11 / Ubuntu 20.04, as the package's
#                           systemd >= 247 already requires).
#
# Needs: rustup (adds the targets), cargo-zigbuild and zig (installed with
# pip when missing: `pip install cargo-zigbuild ziglang`), cargo-deb for the
# packages (`cargo install cargo-deb --locked`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ALL=(x86_64 aarch64 armv7)
ARCHES=("$@")
[ ${#ARCHES[@]} -eq 0 ] && ARCHES=("${ALL[@]}")
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${ONECARD_AGENT_PROFILE:-release}"
LIBC="${ONECARD_AGENT_LIBC:-musl}"
DEB="${ONECARD_AGENT_DEB:-1}"
OUT="$TARGET_DIR/agent"
GLIBC="2.31"

triple() {
  case "$1:$LIBC" in
    x86_64:musl) echo x86_64-unknown-linux-musl ;;
    aarch64:musl) echo aarch64-unknown-linux-musl ;;
    armv7:musl) echo armv7-unknown-linux-musleabihf ;;
    x86_64:gnu) echo x86_64-unknown-linux-gnu ;;
    aarch64:gnu) echo aarch64-unknown-linux-gnu ;;
    armv7:gnu) echo armv7-unknown-linux-gnueabihf ;;
    *) echo "unknown arch '$1' or libc '$LIBC' (arch: ${ALL[*]}; libc: musl, gnu)" >&2; return 2 ;;
  esac
}
for a in "${ARCHES[@]}"; do triple "$a" >/dev/null; done

# Tools. zig links every target from this one machine; for glibc targets
# it links against the glibc version named in the triple's suffix.
if ! command -v cargo-zigbuild >/dev/null 2>&1 || ! { command -v zig >/dev/null 2>&1 || python3 -m ziglang version >/dev/null 2>&1; }; then
  echo "installing cargo-zigbuild and zig (pip)" >&2
  pip install --quiet cargo-zigbuild ziglang
fi
if [ "$DEB" = 1 ] && ! command -v cargo-deb >/dev/null 2>&1; then
  echo "installing cargo-deb" >&2
  cargo install --locked cargo-deb
fi

mkdir -p "$OUT"
echo "building onecard-agent (${ARCHES[*]}, $LIBC, profile $PROFILE) into $TARGET_DIR; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
declare -A SECS DEBS
for a in "${ARCHES[@]}"; do
  t=$(triple "$a")
  libc="$LIBC"
  if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$t"; then
    if ! rustup target add "$t" && [ "$LIBC" = musl ]; then
      # Not every musl target's standard library can be had everywhere
      # (armv7 musl is missing from some mirrors): glibc 2.31 instead.
      t=$(LIBC=gnu triple "$a")
      libc=gnu
      echo "no $a musl standard library: building $t against glibc $GLIBC" >&2
      rustup target list --installed | grep -qx "$t" || rustup target add "$t"
    fi
  fi
  arg="$t"
  [ "$libc" = gnu ] && arg="$t.$GLIBC"
  start=$(date +%s)
  (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo zigbuild --locked --profile "$PROFILE" --target "$arg" -p onecard-agent --bin onecard-agent)
  dir="$PROFILE"
  [ "$PROFILE" = dev ] && dir=debug
  cp "$TARGET_DIR/$t/$dir/onecard-agent" "$OUT/onecard-agent-$a"
  if [ "$DEB" = 1 ]; then
    # The binary is stripped by the profile; the host's strip cannot read
    # another CPU's binary anyway.
    variant=()
    [ "$libc" = gnu ] && variant=(--variant glibc)
    deb=$(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET_DIR" cargo deb -p onecard-agent --no-build --no-strip --profile "$PROFILE" --target "$t" "${variant[@]}" --output "$OUT" 2>/dev/null | tail -n 1)
    DEBS[$a]="$deb"
  fi
  SECS[$a]=$(( $(date +%s) - start ))
done

printf '\n%-8s %10s %10s %7s  %s\n' arch binary deb build "file(1)"
for a in "${ARCHES[@]}"; do
  f="$OUT/onecard-agent-$a"
  size=$(stat -c %s "$f")
  dsize=0
  [ -n "${DEBS[$a]:-}" ] && dsize=$(stat -c %s "${DEBS[$a]}")
  printf '%-8s %8.1fMB %8.1fMB %6ss  %s\n' "$a" "$(awk -v s="$size" 'BEGIN{print s/1048576}')" "$(awk -v s="$dsize" 'BEGIN{print s/1048576}')" "${SECS[$a]}" "$(file -b "$f" | cut -d, -f1,2,4)"
done
for a in "${ARCHES[@]}"; do
  [ -n "${DEBS[$a]:-}" ] && echo "${DEBS[$a]}"
done
exit 0
