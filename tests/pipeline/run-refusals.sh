#!/bin/sh
# hark run refuses, with a clear message and a non-zero exit, every link it
# must not use: a ws:// URL, no device identity, a device the cloud does not
# know, a server whose key is not pinned (which receives nothing but the TLS
# handshake), and a server that offers only TLS 1.0/1.1.
# usage: run-refusals.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

# expect_refusal PATTERN: hark run with $TMP/hark.conf fails, stderr matches.
expect_refusal() {
    set +e
    timeout 60 "$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" \
        --output "$TMP/a.wav" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    set -e
    [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "expected a refusal (exit $rc): $(cat "$TMP/err")"
    grep -q -- "$1" "$TMP/err" || fail "stderr lacks '$1': $(cat "$TMP/err")"
}

# ws:// is a config error, with the line.
write_config "ws://127.0.0.1:9/v1/assist" "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
expect_refusal "hark.conf:2:.*wss://"

# No identity yet.
write_config "wss://127.0.0.1:9/v1/assist" "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
expect_refusal "hark provision"

# A device the cloud has never seen.
start_devcloud
provision_device no
expect_refusal "not registered"
grep -q "$DEVICE_FP" "$TMP/err" || fail "the refusal does not name the fingerprint"
# The cloud was reached: the final error says what it did instead.
grep "error:" "$TMP/err" | grep -q "never established.*refused: device not registered" ||
    fail "the final error does not say the cloud refused the device: $(grep error: "$TMP/err")"
! grep -q "could not reach" "$TMP/err" || fail "says the cloud was not reached: $(cat "$TMP/err")"
stop_devcloud
[ "$(cloud_stat refused)" -ge 1 ] || fail "the cloud did not count the refusal"
[ "$(cloud_stat audio_frames)" -eq 0 ] || fail "an unregistered device sent audio"

# A TLS server with another key: openssl s_server prints the application
# data it receives. Its stdin is held open (it stops at EOF there).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
    -keyout "$TMP/other.key" -out "$TMP/other.crt" 2>/dev/null
other_pin=$("$HARK" pin "$TMP/other.crt")
mkfifo "$TMP/sserver.in"
SSERVER=""
start_sserver() {
    port=$(awk 'BEGIN { srand(); print 20000 + int(rand() * 20000) }')
    openssl s_server -accept "127.0.0.1:$port" -cert "$TMP/other.crt" -key "$TMP/other.key" \
        -quiet -naccept 100 "$@" <"$TMP/sserver.in" >"$TMP/sserver.out" 2>"$TMP/sserver.err" &
    SSERVER=$!
    exec 3>"$TMP/sserver.in"
    sleep 0.5
    kill -0 "$SSERVER" || fail "openssl s_server did not start: $(cat "$TMP/sserver.err")"
}
stop_sserver() {
    kill "$SSERVER" 2>/dev/null || true
    wait "$SSERVER" 2>/dev/null || true
    exec 3>&-
}

start_sserver
write_config "wss://127.0.0.1:$port/v1/assist" "$DEVCLOUD_PIN"
expect_refusal "pin mismatch"
grep -q "$other_pin" "$TMP/err" || fail "the refusal does not name the pin that was seen ($other_pin)"
stop_sserver
[ ! -s "$TMP/sserver.out" ] || fail "the unpinned server received application data: $(head -c 200 "$TMP/sserver.out")"

# The same server, pinned: it does receive the upgrade request, so the
# check above could have seen bytes.
start_sserver
write_config "wss://127.0.0.1:$port/v1/assist" "$other_pin"
set +e
timeout 5 "$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" \
    --output "$TMP/a.wav" >/dev/null 2>&1
set -e
stop_sserver
grep -q "GET /v1/assist" "$TMP/sserver.out" || fail "control: the pinned server saw no upgrade request"

# A server that speaks only TLS 1.1 and older.
start_sserver -no_tls1_2 -no_tls1_3 -cipher 'DEFAULT:@SECLEVEL=0'
write_config "wss://127.0.0.1:$port/v1/assist" "$other_pin"
expect_refusal "could not reach\|never established"
grep -qi "tls\|ssl\|handshake\|protocol version" "$TMP/err" || fail "the refusal does not say it is about TLS: $(cat "$TMP/err")"
stop_sserver
[ ! -s "$TMP/sserver.out" ] || fail "the TLS 1.1 server received application data"
echo "ok"
