#!/bin/sh
# The README's test command: installs what is missing, builds hark twice (plain,
# and with AddressSanitizer + UndefinedBehaviorSanitizer), runs the default test
# suites in both, cross-builds it for aarch64 (Raspberry Pi) and runs the unit
# suite under qemu, and ends with one line "N passed, N failed".
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

# Counted from meson's own logs, so the line cannot disagree with them.
passed=0
failed=$cross_failed
for dir in build build-asan build-aarch64; do
    log="$dir/meson-logs/testlog.json"
    [ -f "$log" ] || continue
    p=$(grep -c '"result": "OK"' "$log" || true)
    f=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
