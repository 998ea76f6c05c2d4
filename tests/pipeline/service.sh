#!/bin/sh
# The systemd unit (samples/hark.service): systemd-analyze verifies it, and
# its security exposure and remaining findings are the ones doc/raspberry-pi.md
# records, so a unit with a protection taken out fails. No running systemd is
# needed. Also: hark's log lines carry their syslog priority under journald.
# usage: service.sh HARK.SERVICE HARK
UNIT=$1
# meson passes the build's hark relative to the build directory; the unit
# needs an absolute path.
HARK=$(realpath "$2")
. "$(dirname "$0")/lib.sh"

# The exposure doc/raspberry-pi.md records (1.3), in tenths.
THRESHOLD=13

command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd)"

# verify wants ExecStart= to exist: point it at the hark just built.
mkdir "$TMP/unit"
sed "s|^ExecStart=/usr/local/bin/hark |ExecStart=$HARK |" "$UNIT" >"$TMP/unit/hark.service"
grep -q "^ExecStart=$HARK run --config /etc/hark/hark.conf\$" "$TMP/unit/hark.service" ||
    fail "ExecStart= is not '/usr/local/bin/hark run --config /etc/hark/hark.conf'"
# Any complaint (an unknown key, a key in the wrong section) fails the test.
systemd-analyze verify --man=no "$TMP/unit/hark.service" >"$TMP/verify" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$TMP/verify")"
[ ! -s "$TMP/verify" ] || fail "systemd-analyze verify: $(cat "$TMP/verify")"

# The settings issue 5 asks for by name, whatever the score says.
for want in User=hark SupplementaryGroups=audio StateDirectory=hark StateDirectoryMode=0700 \
    RuntimeDirectory=hark RuntimeDirectoryMode=0750 ProtectSystem=strict ProtectHome=yes \
    PrivateTmp=yes NoNewPrivileges=yes "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
    CapabilityBoundingSet= SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
    DevicePolicy=closed "DeviceAllow=char-alsa rw" UMask=0077 Restart=on-failure; do
    grep -qx -- "$want" "$UNIT" || fail "the unit lacks '$want'"
done

# The findings doc/raspberry-pi.md explains, and no other: each protection
# given up shows as a new one, even where the rounded score does not move.
cat >"$TMP/expected" <<'EOF2'
DeviceAllow=
IPAddressDeny=
PrivateDevices=
PrivateNetwork=
ProcSubset=
RestrictAddressFamilies=~AF_(INET|INET6)
RestrictAddressFamilies=~AF_UNIX
RootDirectory=/RootImage=
SupplementaryGroups=
EOF2
security() {
    systemd-analyze security --offline=true --no-pager --threshold=$THRESHOLD "$1" \
        >"$TMP/security" 2>&1
}
findings() {
    sed -n 's/^✗ \([^ ]*\) .*/\1/p' "$TMP/security" | LC_ALL=C sort
}
security "$TMP/unit/hark.service" ||
    fail "exposure over the threshold ($THRESHOLD): $(grep -E '^✗|Overall' "$TMP/security")"
exposure=$(sed -n 's/.*Overall exposure level for hark.service: \([0-9.]*\).*/\1/p' "$TMP/security")
[ "$exposure" = 1.3 ] || fail "the exposure is $exposure: update doc/raspberry-pi.md and THRESHOLD"
findings >"$TMP/found"
LC_ALL=C sort "$TMP/expected" | diff -u - "$TMP/found" >&2 || fail "the findings changed (above)"

# Taking out any one of these protections is noticed.
mkdir "$TMP/weak"
for weaken in ProtectSystem=strict MemoryDenyWriteExecute=yes SystemCallFilter=@system-service \
    PrivateUsers=yes RestrictNamespaces=yes RestrictRealtime=yes UMask=0077; do
    grep -vx -- "$weaken" "$TMP/unit/hark.service" >"$TMP/weak/hark.service"
    security "$TMP/weak/hark.service" || true
    findings >"$TMP/found"
    if LC_ALL=C sort "$TMP/expected" | cmp -s - "$TMP/found"; then
        fail "a unit without $weaken shows no new finding"
    fi
done

# Journal-friendly diagnostics: under systemd (JOURNAL_STREAM set) a line
# starts with its syslog priority, elsewhere with the program's name.
JOURNAL_STREAM=8:1 "$HARK" check-config "$TMP/missing.conf" 2>"$TMP/err" && fail "check-config passed"
grep -q "^<3>$TMP/missing.conf: cannot open" "$TMP/err" || fail "journal line: $(cat "$TMP/err")"
"$HARK" check-config "$TMP/missing.conf" 2>"$TMP/err" && fail "check-config passed"
grep -q "^hark: error: $TMP/missing.conf" "$TMP/err" || fail "terminal line: $(cat "$TMP/err")"
echo "service: verified, exposure $exposure"
