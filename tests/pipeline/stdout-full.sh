#!/bin/sh
# Output that cannot be written is an error: every command run with stdout on
# /dev/full exits 1 and says so, where before it exited 0 with its output
# lost (a 0-byte export, a provisioned fingerprint nobody saw). Each is run
# to a file as well, to show it did have something to write.
# usage: stdout-full.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

# full NOTE COMMAND...: exit 1 with stdout on /dev/full, the message on
# stderr; and exit 0 with something written to a file.
full() {
    note=$1
    shift
    set +e
    "$@" >/dev/full 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || fail "$* >/dev/full: exit $rc, expected 1: $(cat "$TMP/err")"
    grep -q "writing to standard output: No space left on device$note" "$TMP/err" ||
        fail "$* >/dev/full: $(cat "$TMP/err")"
    [ "$(grep -c "writing to standard output" "$TMP/err")" -eq 1 ] || fail "$*: said twice"
    "$@" >"$TMP/out" 2>"$TMP/err" || fail "$* to a file: $(cat "$TMP/err")"
    [ -s "$TMP/out" ] || fail "$* wrote nothing to a file: no test of /dev/full"
}

full "" "$HARK" version
full "" "$HARK" --help
full "" "$HARK" pin --help
full "" "$HARK" check-config --dump
full "" "$HARK" check-config --reference
full "" "$HARK" listen --input "$SAMPLES/weather.flac"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=pin \
    -keyout "$TMP/pin.key" -out "$TMP/pin.crt" 2>/dev/null
full "" "$HARK" pin "$TMP/pin.crt"

start_devcloud
write_config "wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist" "$DEVCLOUD_PIN"
# The identity is made even when its fingerprint cannot be printed, and the
# message says how to see it.
set +e
"$HARK" provision --config "$TMP/hark.conf" >/dev/full 2>"$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "provision >/dev/full: exit $rc: $(cat "$TMP/err")"
grep -q "writing to standard output: No space left on device; the device identity in .* was made all the same: .hark provision --show. prints its fingerprint" "$TMP/err" ||
    fail "provision >/dev/full: $(cat "$TMP/err")"
DEVICE_FP=$("$HARK" provision --config "$TMP/hark.conf" --show) || fail "provision --show"
"$DEVCLOUD" register --state "$TMP/cloud" "$DEVICE_FP" >/dev/null 2>>"$TMP/cloud.err" ||
    fail "register: $(cat "$TMP/cloud.err")"
full "" "$HARK" provision --config "$TMP/hark.conf" --show

# hark run: its events lost, the request itself done (and remembered).
set +e
"$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" --output "$TMP/a.wav" \
    >/dev/full 2>"$TMP/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "run >/dev/full: exit $rc: $(cat "$TMP/err")"
grep -q "writing to standard output: No space left on device$" "$TMP/err" || fail "run >/dev/full: $(cat "$TMP/err")"
stop_devcloud
full "" "$HARK" history --config "$TMP/hark.conf" list
full "" "$HARK" history --config "$TMP/hark.conf" list --json
full "" "$HARK" history --config "$TMP/hark.conf" show 1
full "" "$HARK" history --config "$TMP/hark.conf" export --json
echo "ok"
