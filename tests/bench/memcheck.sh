#!/bin/sh
# valgrind memcheck of one whole request end to end: hark run on the weather
# and banking recordings against hark-devcloud on loopback (wake, Opus
# uplink, TLS, policy, redaction, the encrypted history, answer decoding),
# then `hark history list`. Prints valgrind's error and leak summaries and
# fails on any error or any definite or indirect leak.
# usage: tests/bench/memcheck.sh BUILDDIR   (a plain build: not ASan)
set -eu
BUILD=$(cd "$1" && pwd)
HARK=$BUILD/src/hark
DEVCLOUD=$BUILD/samples/devcloud/hark-devcloud
SAMPLES=$(cd "$(dirname "$0")/../../samples" && pwd)
. "$(dirname "$0")/../pipeline/lib.sh"
. "$(dirname "$0")/../pipeline/cloud-lib.sh"
command -v valgrind >/dev/null || fail "valgrind is missing: sh scripts/deps.sh bench"

start_devcloud
provision_device
sox "$SAMPLES/weather.flac" "$SAMPLES/banking.flac" "$TMP/input.wav"

# memcheck NAME ARGS...: hark under valgrind; its report in $TMP/NAME.vg.
memcheck() {
    name=$1
    shift
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
        --log-file="$TMP/$name.vg" "$HARK" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" ||
        fail "$name: exit $? under valgrind: $(tail -30 "$TMP/$name.vg")"
    echo "== hark $1 ($name)"
    grep -E "ERROR SUMMARY|definitely lost|indirectly lost|possibly lost|still reachable|in use at exit" \
        "$TMP/$name.vg" | sed 's/^==[0-9]*== //'
}

memcheck run run --config "$TMP/hark.conf" --input "$TMP/input.wav" --output "$TMP/answer.wav"
[ "$(grep -c '"event":"response_end"' "$TMP/run.out")" -eq 2 ] ||
    fail "not two answers under valgrind: $(cat "$TMP/run.out")"
grep -q '"action":"drop"' "$TMP/run.out" || fail "the banking request was not dropped"
memcheck history history --config "$TMP/hark.conf" list
grep -q weather "$TMP/history.out" || fail "the weather request is not in the history"
stop_devcloud
echo "memcheck: ok"
