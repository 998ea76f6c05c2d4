#!/bin/sh
# The second pass end to end (hark run against hark-devcloud on loopback): a
# candidate it turns down opens nothing (no event, no state change, no audio
# at the cloud, no log line even at -v) and leaves only the counter that
# `hark ctl status` shows; the same recording with the shipped cut-off wakes
# and is answered, with the counter at 0.
# usage: run-verify.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

start_cloud_device
cp "$TMP/hark.conf" "$TMP/base.conf"

# run_hark: hark run -v on the weather request in real time, in the
# background; waits for the phrase to have been heard (2.2 s into the
# recording) and leaves `hark ctl status` in $TMP/status.
run_hark() {
    "$HARK" -v run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" --realtime \
        --output "$TMP/answer.wav" >"$TMP/out" 2>"$TMP/err" &
    HARK_PID=$!
    i=0
    until grep -q "listening to" "$TMP/err" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || fail "hark did not start: $(cat "$TMP/err")"
        sleep 0.1
    done
    sleep 3.5
    "$HARK" ctl --config "$TMP/hark.conf" status >"$TMP/status" || fail "no status: $(cat "$TMP/err")"
    wait "$HARK_PID" || fail "run exited non-zero: $(cat "$TMP/err")"
}

# 1. A cut-off nothing reaches: the spotter's candidate is turned down.
cp "$TMP/base.conf" "$TMP/hark.conf"
printf '[wakeword]\nmodel =\nverify_threshold = 5\n' >>"$TMP/hark.conf"
run_hark
cat "$TMP/status"
grep -q '"rejected_wakes":[1-9]' "$TMP/status" || fail "no rejected wake counted: $(cat "$TMP/status")"
! grep -q '"event":"wake"\|"event":"stream_start"\|"state":"listening"' "$TMP/out" ||
    fail "a turned-down candidate opened a request: $(cat "$TMP/out")"
! grep -qi "wake\|hey computer\|candidate" "$TMP/err" || fail "the log mentions it: $(cat "$TMP/err")"
stop_devcloud
[ "$(cloud_stat audio_frames)" -eq 0 ] || fail "audio reached the cloud: $(cloud_stat audio_frames) frames"
echo "ok: turned down, counted, nothing else"

# 2. The shipped cut-off: the same recording wakes and is answered.
start_devcloud "$DEVCLOUD_PORT"
cp "$TMP/base.conf" "$TMP/hark.conf"
printf '[wakeword]\nmodel =\n' >>"$TMP/hark.conf"
run_hark
grep -q '"rejected_wakes":0' "$TMP/status" || fail "status: $(cat "$TMP/status")"
grep '"event":"wake"' "$TMP/out" | grep -q '"verify":' || fail "no verified wake: $(cat "$TMP/out")"
grep '"event":"transcript"' "$TMP/out" | grep -q weather || fail "not understood: $(cat "$TMP/out")"
stop_devcloud
[ "$(cloud_stat audio_frames)" -gt 50 ] || fail "too little audio: $(cloud_stat audio_frames) frames"
echo "ok"
