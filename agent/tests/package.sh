#!/usr/bin/env bash
# The Debian package, container-less: builds it (from the debug binary unless
# a .deb is given), checks its files, modes, conffiles and control fields,
# runs `systemd-analyze verify` on its unit (any complaint fails), then
# installs, upgrades, removes and purges it with `dpkg --root` into a scratch
# tree and checks that the config, the secret and the outbox survive what
# they must survive.
#
#   agent/tests/package.sh                 # builds a .deb from target/debug
#   agent/tests/package.sh FILE.deb        # tests a built one (build-agent.sh)
#
# Needs dpkg, systemd (for systemd-analyze) and cargo-deb (installed when
# missing). Prints "N passed, 0 failed" at the end.
# The checks pass their values as "$0" into `bash -c '...'`: single quotes on purpose.
# shellcheck disable=SC2016
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

command -v systemd-analyze >/dev/null || { apt-get update -qq && apt-get install -y -qq systemd >/dev/null; }

DEB="${1:-}"
if [ -z "$DEB" ]; then
  command -v cargo-deb >/dev/null || cargo install --locked cargo-deb --version 3.8.0
  t=$(date +%s)
  (cd "$ROOT" && cargo build -q -p onecard-agent --bin onecard-agent)
  # The dev profile keeps this cheap (no release build); cargo-deb warns
  # that it prefers release profiles, which is what build-agent.sh uses.
  DEB=$(cd "$ROOT" && cargo deb -p onecard-agent --no-build --no-strip --fast --profile dev --output "$WORK" 2>/dev/null | tail -n 1)
  echo "built $DEB in $(( $(date +%s) - t ))s"
fi
[ -f "$DEB" ] || { echo "no package at '$DEB'"; exit 1; }

# Control fields.
field() { dpkg-deb -f "$DEB" "$1"; }
check "package name" test "$(field Package)" = onecard-agent
check "depends on systemd >= 247 (LoadCredential)" grep -q 'systemd (>= 247)' <<<"$(field Depends)"
check "depends on adduser" grep -q 'adduser' <<<"$(field Depends)"

# Files, owners and modes.
listing=$(dpkg-deb -c "$DEB")
has() { grep -qE "^$1 +(root/root|0/0) +[0-9]+ .* \./$2\$" <<<"$listing"; }
check "binary 0755 root" has '-rwxr-xr-x' usr/bin/onecard-agent
check "unit 0644" has '-rw-r--r--' lib/systemd/system/onecard-agent.service
check "config 0644" has '-rw-r--r--' etc/onecard-agent/agent.toml
check "device file 0644" has '-rw-r--r--' etc/onecard-agent/devices.toml
check "udev example" has '-rw-r--r--' usr/share/doc/onecard-agent/examples/99-onecard-serial.rules
check "README as the install guide" has '-rw-r--r--' usr/share/doc/onecard-agent/README.md
check "no secret shipped" bash -c '! grep -q "agent.secret" <<<"$0"' "$listing"
check "nothing shipped in the data dir" bash -c '! grep -q "var/lib" <<<"$0"' "$listing"
dpkg-deb -e "$DEB" "$WORK/control"
check "conffiles: agent.toml" grep -qx /etc/onecard-agent/agent.toml "$WORK/control/conffiles"
check "conffiles: devices.toml" grep -qx /etc/onecard-agent/devices.toml "$WORK/control/conffiles"
for s in postinst prerm postrm; do
  check "$s is executable sh" bash -c '[ -x "$0" ] && sh -n "$0"' "$WORK/control/$s"
done

# The unit.
X="$WORK/extract"
dpkg-deb -x "$DEB" "$X"
unit="$X/lib/systemd/system/onecard-agent.service"
for want in 'Type=notify' 'WatchdogSec=' 'Restart=on-failure' 'User=onecard-agent' 'SupplementaryGroups=dialout' \
            'ProtectSystem=strict' 'StateDirectory=onecard-agent' 'NoNewPrivileges=yes' \
            'LoadCredential=agent.secret:/etc/onecard-agent/agent.secret' '--secret-file ${CREDENTIALS_DIRECTORY}/agent.secret'; do
  check "unit has $want" grep -qF -- "$want" "$unit"
done
check "unit: no --secret value on the command line" bash -c '! grep -qE -- "--secret[ =]" "$0"' "$unit"
# verify resolves ExecStart on this machine: point it at the extracted binary.
mkdir -p "$WORK/verify"
sed "s#/usr/bin/onecard-agent#$X/usr/bin/onecard-agent#" "$unit" >"$WORK/verify/onecard-agent.service"
# Any output is a complaint (unknown keys are only warnings to systemd).
if verify=$(systemd-analyze verify "$WORK/verify/onecard-agent.service" 2>&1) && [ -z "$verify" ]; then
  ok "systemd-analyze verify"
else
  bad "systemd-analyze verify"
  echo "$verify"
fi
exposure=$(systemd-analyze security --offline=yes "$WORK/verify/onecard-agent.service" 2>/dev/null | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
echo "     systemd-analyze security: exposure $exposure (0 best, 10 worst)"
check "exposure below 3.0" awk -v e="${exposure:-10}" 'BEGIN{exit !(e < 3.0)}'

# The shipped config reads (no unknown key) and says what is missing; the
# binary runs only on its own CPU.
arch=$(dpkg-deb -f "$DEB" Architecture)
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
  out=$("$X/usr/bin/onecard-agent" check-config --config "$X/etc/onecard-agent/agent.toml" 2>&1 || true)
  check "shipped config: only the site's own values are missing" bash -c 'grep -q "\`cloud\` is required" <<<"$0" && ! grep -q "unknown key" <<<"$0"' "$out"
else
  echo "skip running the $arch binary on $(dpkg --print-architecture): $(file -b "$X/usr/bin/onecard-agent" | cut -d, -f1,2,4)"
fi

# Install, upgrade, remove, purge into a scratch root. DPKG_ROOT makes the
# maintainer scripts work on that tree; users and systemd are skipped there.
R="$WORK/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
dpkg_root() { dpkg --root="$R" --force-script-chrootless --force-not-root --force-depends --force-architecture --log=/dev/null "$@" >"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log"; return 1; }; }
mode() { stat -c %a "$1"; }
check "dpkg --root install" dpkg_root -i "$DEB"
check "installed binary" test -x "$R/usr/bin/onecard-agent"
check "secret file created empty, 0600" bash -c '[ -f "$0" ] && [ ! -s "$0" ] && [ "$(stat -c %a "$0")" = 600 ]' "$R/etc/onecard-agent/agent.secret"
check "data dir 0750" test "$(mode "$R/var/lib/onecard-agent")" = 750

# The site is set up: secret, edited config, records waiting in the outbox.
echo "site-secret" >"$R/etc/onecard-agent/agent.secret"
printf 'cloud = "wss://cloud.example.com/site"\nbranch = "1001"\nagent_id = "A1"\n' >>"$R/etc/onecard-agent/agent.toml"
mkdir -p "$R/var/lib/onecard-agent/outbox"
head -c 4096 /dev/urandom >"$R/var/lib/onecard-agent/outbox/outbox.log"
snapshot() { sha256sum "$R/etc/onecard-agent/agent.toml" "$R/etc/onecard-agent/agent.secret" "$R/var/lib/onecard-agent/outbox/outbox.log"; }
before=$(snapshot)

check "upgrade (reinstall over itself)" dpkg_root -i "$DEB"
check "upgrade keeps config, secret and outbox" test "$(snapshot)" = "$before"
check "upgrade keeps the secret 0600" test "$(mode "$R/etc/onecard-agent/agent.secret")" = 600

check "remove" dpkg_root -r onecard-agent
check "remove takes the binary and the unit" bash -c '[ ! -e "$0/usr/bin/onecard-agent" ] && [ ! -e "$0/lib/systemd/system/onecard-agent.service" ]' "$R"
check "remove keeps config, secret and outbox" test "$(snapshot)" = "$before"

check "reinstall after remove" dpkg_root -i "$DEB"
check "reinstall keeps config, secret and outbox" test "$(snapshot)" = "$before"

remove_and_purge() { dpkg_root -r onecard-agent && dpkg_root --purge onecard-agent; }
check "purge" remove_and_purge
check "purge deletes config and secret" bash -c '[ ! -e "$0/etc/onecard-agent/agent.toml" ] && [ ! -e "$0/etc/onecard-agent/agent.secret" ]' "$R"
check "purge keeps an outbox with unsent records" test -s "$R/var/lib/onecard-agent/outbox/outbox.log"
: >"$R/var/lib/onecard-agent/outbox/outbox.log"
dpkg_root -i "$DEB" && dpkg_root --purge onecard-agent
check "purge deletes a drained data dir" test ! -e "$R/var/lib/onecard-agent"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
