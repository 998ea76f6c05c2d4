#!/bin/sh
# hark run survives a cloud that misbehaves (hark-devcloud --misbehave): a
# text message over 16384 bytes, truncated JSON, an unknown message type,
# downlink audio for a request that is not open, and an intent with fields of
# the wrong types. For each, on its own server, hark on stdin reports what
# happened as the protocol says, keeps running, answers the next request
# (timer) normally and exits at the end of its input: 0, or 3 when the
# misbehaviour made a request fail.
# usage: run-malformed.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

# count PATTERN FILE: lines of FILE that match.
count() {
    grep -c -- "$1" "$2" || true
}

# raw FILE: FILE as hark's stdin format (s16le, 16 kHz mono), then 2 s of
# digital silence to end the request.
raw() {
    sox "$1" -t raw -r 16000 -c 1 -b 16 -e signed-integer - 2>/dev/null
    sox -D -n -t raw -r 16000 -c 1 -b 16 -e signed-integer - trim 0 2 2>/dev/null
}

# feed FILE: the recording and 2 s of silence to hark's stdin (a hark that
# died is a broken pipe here).
feed() {
    raw "$1" >&4 || fail "$MODE: hark stopped reading its input: $(cat "$TMP/err")"
}

# begin MODE: a fresh hark-devcloud --misbehave MODE (same key and registry),
# hark run reading $TMP/in, and the weather request, which meets MODE.
begin() {
    MODE=$1
    : >"$TMP/cloud.err"
    start_devcloud 0 --misbehave "$MODE"
    if [ ! -d "$TMP/device" ]; then
        provision_device
    fi
    write_config "wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist" "$DEVCLOUD_PIN"
    "$HARK" -v run --config "$TMP/hark.conf" --input - --output "$TMP/a.wav" \
        <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
    HARK_PID=$!
    exec 4>"$TMP/in"
    wait_out '"event":"connected"' 1 15
    feed "$SAMPLES/weather.flac"
}

# finish ANSWERS: the timer request is answered (the ANSWERS-th response_end),
# hark exits at the end of its input (0 when every request was answered, 3
# when one failed: ANSWERS 1), and the server is stopped.
finish() {
    feed "$SAMPLES/timer.flac"
    wait_out '"event":"response_end"' "$1" 30
    grep '"event":"intent"' "$TMP/out" | tail -1 | grep -q '"name":"timer"' ||
        fail "$MODE: the next request was not understood: $(cat "$TMP/out")"
    exec 4>&-
    i=0
    while kill -0 "$HARK_PID" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le 150 ] || fail "$MODE: hark did not exit at the end of its input: $(cat "$TMP/err")"
        sleep 0.1
    done
    rc=0
    wait "$HARK_PID" || rc=$?
    want=0
    [ "$1" -eq 2 ] || want=3
    [ "$rc" -eq "$want" ] || fail "$MODE: hark run exited with status $rc, not $want: $(cat "$TMP/err")"
    HARK_PID=""
    stop_devcloud
    grep -q -- "--misbehave $MODE: will send malformed messages" "$TMP/cloud.err" ||
        fail "$MODE: hark-devcloud did not warn that it misbehaves: $(cat "$TMP/cloud.err")"
    echo "== $MODE"
    cat "$TMP/out"
    grep -i -e malformed -e 'not open' -e unknown -e 'cloud link' -e 'request 1:' "$TMP/err" || true
}

# stays_connected: one connection, no disconnected event.
stays_connected() {
    [ "$(count '"event":"connected"' "$TMP/out")" -eq 1 ] &&
        [ "$(count '"event":"disconnected"' "$TMP/out")" -eq 0 ] ||
        fail "$MODE: the link did not stay up: $(cat "$TMP/out")"
}

# no_errors: no error event at all.
no_errors() {
    [ "$(count '"event":"error"' "$TMP/out")" -eq 0 ] ||
        fail "$MODE: unexpected error events: $(cat "$TMP/out")"
}

# answered ID INTENT: request ID ended with response_end, with that intent.
answered() {
    grep -q "\"event\":\"response_end\",\"id\":$1," "$TMP/out" ||
        fail "$MODE: request $1 was not answered: $(cat "$TMP/out")"
    grep "\"event\":\"intent\",\"id\":$1," "$TMP/out" | grep -q "\"name\":\"$2\"" ||
        fail "$MODE: request $1 was not understood as $2: $(cat "$TMP/out")"
}

# cancelled_as_malformed: request 1 ended in error bad_message (and a link
# error event names the bad message), and the server saw it cancelled.
cancelled_as_malformed() {
    grep -q '"event":"error","code":"bad_message"' "$TMP/out" ||
        fail "$MODE: no bad_message error event: $(cat "$TMP/out")"
    grep -q '"event":"error","id":1,"code":"bad_message"' "$TMP/out" ||
        fail "$MODE: request 1 did not end in error bad_message: $(cat "$TMP/out")"
    ! grep -q '"event":"response_end","id":1,' "$TMP/out" ||
        fail "$MODE: request 1 was answered after all"
    grep -q "request 1 cancelled (bad_message)" "$TMP/cloud.err" ||
        fail "$MODE: the server did not see request 1 cancelled: $(cat "$TMP/cloud.err")"
    grep -q "cloud sent a malformed message" "$TMP/err" ||
        fail "$MODE: hark did not log the malformed message: $(cat "$TMP/err")"
}

start_time=$(date +%s)
mkfifo "$TMP/in"

# Truncated JSON: logged, error bad_message, request 1 cancelled, link kept.
begin bad-json
wait_out '"code":"bad_message"' 2 30
finish 1
cancelled_as_malformed
stays_connected
answered 2 timer

# A field of the wrong type is malformed like bad JSON.
begin wrong-types
wait_out '"code":"bad_message"' 2 30
finish 1
cancelled_as_malformed
grep -q "malformed message: intent" "$TMP/err" ||
    fail "$MODE: the log does not say the intent was malformed: $(cat "$TMP/err")"
stays_connected
answered 2 timer

# An unknown type is logged and ignored: request 1 completes normally.
begin unknown-type
wait_out '"event":"response_end"' 1 30
finish 2
grep -q "unknown message type 'weather-report'" "$TMP/err" ||
    fail "$MODE: hark did not log the unknown type: $(cat "$TMP/err")"
no_errors
stays_connected
answered 1 weather
answered 2 timer

# Downlink audio for request 1 before it started: logged and ignored; the
# answer audio of request 1 then counts from its own first frame.
begin audio-before-start
wait_out '"event":"response_end"' 1 30
finish 2
grep -q "cloud sent audio for request 1, which is not open: ignored" "$TMP/err" ||
    fail "$MODE: hark did not log the stray audio: $(cat "$TMP/err")"
! grep -q "answer audio frame" "$TMP/err" ||
    fail "$MODE: the stray frame disturbed the answer's frame count: $(cat "$TMP/err")"
no_errors
stays_connected
answered 1 weather
answered 2 timer

# Over 16384 bytes: hark closes with 1009, reports the link down (request 1
# fails with link_lost), reconnects by itself, and request 2 is answered.
begin oversized
wait_out '"event":"disconnected"' 1 15
wait_out '"event":"connected"' 2 15
finish 1
grep '"event":"disconnected"' "$TMP/out" | grep -q "over 16384 bytes (closing with 1009)" ||
    fail "$MODE: the disconnected event does not give the reason: $(cat "$TMP/out")"
grep -q '"event":"error","id":1,"code":"link_lost"' "$TMP/out" ||
    fail "$MODE: request 1 did not fail with link_lost: $(cat "$TMP/out")"
[ "$(count '"event":"disconnected"' "$TMP/out")" -eq 1 ] ||
    fail "$MODE: more than one disconnect: $(cat "$TMP/out")"
answered 2 timer

echo "all modes in $(($(date +%s) - start_time)) s"
echo "ok"
