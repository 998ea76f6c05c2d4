#!/bin/sh
# Requests that end without an answer end with an event that says how, and a
# recording is not cut short by a link that went down:
# 1. a wake with nothing said after it is abandoned once [endpoint] no_speech
#    has passed: the cloud is told to cancel, nothing is answered or kept, and
#    the next request is answered as usual (exit 0);
# 2. `hark ctl mute` during a request closes it with an error event (muted);
# 3. with a recording, the cloud killed during request 1 and back 2 s later:
#    hark waits for the link before it reads on, so request 2 is answered,
#    and it exits 3 because request 1 failed.
# usage: run-abandon.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
say slt "hey computer" "$TMP/phrase.wav"
silence 0.5 "$TMP/lead.wav"
silence 7 "$TMP/quiet.wav"
silence 2 "$TMP/gap.wav"

start_cloud_device 0 -v

# 1. The wake phrase, 7 s of quiet (no_speech is 5 s), then a real request.
sox -D "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/quiet.wav" "$TMP/weather.wav" "$TMP/gap.wav" \
    "$TMP/input.wav"
status=0
"$HARK" -v run --config "$TMP/hark.conf" --input "$TMP/input.wav" >"$TMP/out" 2>"$TMP/err" ||
    status=$?
cat "$TMP/out"
[ "$status" -eq 0 ] || fail "no_speech: hark exited $status: $(cat "$TMP/err")"
grep '"event":"stream_end","id":1,' "$TMP/out" | grep -q '"reason":"no_speech"' ||
    fail "request 1 did not end for no speech"
grep '"event":"error","id":1,' "$TMP/out" | grep -q '"code":"no_speech"' ||
    fail "request 1 was not abandoned with an event"
! grep -E '"event":"(policy|transcript|intent|response|response_end|remembered)","id":1,' "$TMP/out" ||
    fail "request 1 was answered or kept"
grep -q '"event":"remembered","id":2,' "$TMP/out" || fail "request 2 was not answered"
grep -q "request 1 cancelled (no_speech)" "$TMP/cloud.err" ||
    fail "the cloud was not told to cancel: $(grep -i cancel "$TMP/cloud.err")"

# 2. A mute during a request closes it with an event.
mkfifo "$TMP/in"
"$HARK" run --config "$TMP/hark.conf" --input - <"$TMP/in" >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
exec 4>"$TMP/in"
wait_out '"event":"connected"' 1 15
sox "$TMP/lead.wav" "$TMP/phrase.wav" -t raw -r 16000 -c 1 -b 16 -e signed-integer - >&4
sox -D -n -t raw -r 16000 -c 1 -b 16 -e signed-integer - trim 0 1 >&4
wait_out '"event":"stream_start"' 1 30
"$HARK" ctl --config "$TMP/hark.conf" mute >/dev/null || fail "ctl mute failed"
wait_out '"state":"muted"' 1 10
grep '"event":"error","id":1,' "$TMP/out" | grep -q '"code":"muted"' ||
    fail "the muted request has no closing event: $(cat "$TMP/out")"
exec 4>&-
wait "$HARK_PID" || true
HARK_PID=""
"$HARK" ctl --config "$TMP/hark.conf" unmute >/dev/null 2>&1 || true
rm -f "$TMP/device/muted"

# 3. The cloud dies during request 1 of a recording and comes back.
port=$DEVCLOUD_PORT
sox -D "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/input.wav"
"$HARK" -v run --config "$TMP/hark.conf" --input "$TMP/input.wav" >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
wait_out '"event":"stream_start","id":1,' 1 30
kill -KILL "$DEVCLOUD_PID"
wait "$DEVCLOUD_PID" 2>/dev/null || true
DEVCLOUD_PID=""
sleep 2
start_devcloud "$port" -v
status=0
wait "$HARK_PID" || status=$?
HARK_PID=""
cat "$TMP/out"
grep '"event":"error","id":1,' "$TMP/out" | grep -q '"code":"link_lost"' ||
    fail "request 1 did not fail with link_lost"
grep -q '"event":"remembered","id":2,' "$TMP/out" ||
    fail "request 2 was not answered after the link came back: $(grep '"id":2,' "$TMP/out")"
[ "$status" -eq 3 ] || fail "hark exited $status, not 3, after a failed request"
echo "ok"
