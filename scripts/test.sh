#!/bin/sh
# The README's test command: installs what is missing, builds hark twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer), runs the default test
# suites in both, cross-builds it for aarch64 (Raspberry Pi) and runs the unit
# suite under qemu, runs the demo command in a fresh minimal Debian 12 root
# (scripts/fresh-root.sh, as root only: the suite 'fresh-root'), and ends with
# one line "N passed, N failed".
set -eu
cd "$(dirname "$0")/.."

sh scripts/deps.sh test

setup() {
    dir=$1; shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup --reconfigure "$dir" "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

setup build
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false

status=0
for dir in build build-asan; do
    echo "== $dir" >&2
    ninja -C "$dir" >&2
    meson test -C "$dir" --print-errorlogs --num-processes 2 >&2 || status=1
done

echo "== build-aarch64" >&2
rm -f build-aarch64/meson-logs/testlog.json
cross_failed=0
if ! sh scripts/cross-aarch64.sh build-aarch64; then
    status=1
    # A cross build that stopped before its tests still counts as a failure.
    [ -f build-aarch64/meson-logs/testlog.json ] || cross_failed=1
fi

# A package missing from the demo's list shows only on a machine without the
# test packages: the demo in a fresh root (its own log, so as not to replace
# the plain build's).
echo "== fresh-root" >&2
rm -f build/meson-logs/fresh-root.json
fresh_failed=0
if ! meson test -C build --suite fresh-root --logbase fresh-root --print-errorlogs >&2; then
    status=1
    [ -f build/meson-logs/fresh-root.json ] || fresh_failed=1
fi

# Counted from meson's own logs, so the line cannot disagree with them.
passed=0
failed=$((cross_failed + fresh_failed))
for log in build/meson-logs/testlog.json build-asan/meson-logs/testlog.json \
    build-aarch64/meson-logs/testlog.json build/meson-logs/fresh-root.json; do
    [ -f "$log" ] || continue
    p=$(grep -c '"result": "OK"' "$log" || true)
    f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
