#!/bin/sh
# Mute and the wake chime on a live microphone (a private PulseAudio, see
# pulse-lib.sh) with hark run against hark-devcloud:
# - muted, hark's capture stream is gone from the sound server (it really
#   stops listening), a request played into the microphone is not heard, and
#   not one frame reaches the cloud;
# - unmuted, the capture stream is back and the same request is answered;
# - the wake chime plays into the same sink the microphone hears, and the
#   request carries silence instead of it: the decoded uplink holds a run of
#   digital silence as long as the chime and its tail, where the recording
#   itself has room noise throughout.
# usage: live-control.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"
. "$(dirname "$0")/pulse-lib.sh"

start_cloud_device 0 --save-uplink "$TMP/uplink"
start_pulse 48000
mkdir -p "$TMP/uplink"

# capture_streams: hark's capture streams on the sound server.
capture_streams() {
    pactl list short source-outputs | grep -c . || true
}

# wait_streams N TENTHS WHY: until hark has N capture streams; fails saying
# WHY after TENTHS tenths of a second.
wait_streams() {
    i=0
    while [ "$(capture_streams)" -ne "$1" ]; do
        i=$((i + 1))
        [ "$i" -lt "$2" ] || fail "$3"
        sleep 0.1
    done
}

printf '[audio]\nwake_chime = on\n' >>"$TMP/hark.conf"
"$HARK" -v run --config "$TMP/hark.conf" --input mic >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
wait_for "$TMP/out" '"event":"connected"' 15
[ "$(capture_streams)" -eq 1 ] || fail "hark has $(capture_streams) capture streams, not 1"

# Muted: no capture stream, nothing heard, nothing sent.
"$HARK" ctl --config "$TMP/hark.conf" mute >"$TMP/status" || fail "mute failed"
wait_for "$TMP/out" '"state":"muted"' 5
wait_streams 0 30 "the capture stream is still open while muted"
play_into_mic "$SAMPLES/weather.flac"
sleep 1
! grep -q '"event":"wake"' "$TMP/out" || fail "a wake was heard while muted"

# Unmuted: the capture is back and the request is answered.
"$HARK" ctl --config "$TMP/hark.conf" unmute >"$TMP/status" || fail "unmute failed"
wait_for "$TMP/out" '"state":"idle"' 5 2
# The ear thread opens the device again when it wakes: allow it a moment.
wait_streams 1 50 "no capture stream 5 s after unmute"
sleep 2 # the null sink's monitor starts delivering about 2 s after capture starts
start_playing "$SAMPLES/weather.flac"
wait_for "$TMP/out" '"event":"response_end"|"event":"error"' 30
wait_playing
stop_hark
cat "$TMP/out"
[ "$(grep -c '"event":"wake"' "$TMP/out")" -eq 1 ] || fail "expected exactly one wake"
grep '"event":"transcript"' "$TMP/out" | grep -q weather || fail "the transcript lacks 'weather'"
stop_devcloud
frames=$(grep '"event":"stream_end"' "$TMP/out" | field frames)
[ "$(cloud_stat audio_frames)" -eq "$frames" ] ||
    fail "the cloud got $(cloud_stat audio_frames) frames, the one request had $frames"

# The chime window: the longest run of samples at or near zero (Opus does
# not give back exact zeros) in the decoded uplink, in ms. The chime is
# 140 ms, the tail 250 ms; the recording's room noise never stays that low.
up=$(find "$TMP/uplink" -name 'uplink-*.wav' | head -1)
[ -n "$up" ] || fail "no uplink saved"
quiet_ms=$(sox "$up" -t dat - | awk '
    /^;/ { next }
    { v = $2 < 0 ? -$2 : $2; if (v < 0.0005) { run++; if (run > best) best = run } else run = 0 }
    END { printf "%d", best / 16 }')
echo "longest silence in the uplink: $quiet_ms ms"
[ "$quiet_ms" -ge 300 ] || fail "no chime window in the uplink (longest silence $quiet_ms ms)"
grep -q "listening to mic" "$TMP/err" || fail "not on the microphone"
echo "live-control: ok"
