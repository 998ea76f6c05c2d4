#!/bin/sh
# hark run on a live microphone against hark-devcloud on loopback: the weather
# request played into a private PulseAudio's null sink is heard through
# PortAudio and ALSA's pulse plugin, streamed, transcribed and answered (the
# answer is played into the same sink); SIGTERM then stops hark at once, with
# exit status 0.
# usage: live-run.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"
. "$(dirname "$0")/pulse-lib.sh"

start_cloud_device
start_pulse 48000

"$HARK" -v run --config "$TMP/hark.conf" --input mic >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
wait_for "$TMP/out" '"event":"connected"' 15
grep -q 'listening to mic: "default" via ALSA' "$TMP/err" ||
    fail "not capturing from the default device: $(cat "$TMP/err")"
start_playing "$SAMPLES/weather.flac"
wait_for "$TMP/out" '"event":"response_end"|"event":"error"' 30
wait_playing
stop_hark
echo "stopped $HARK_STOP_S s after SIGTERM"
cat "$TMP/out"

grep -q '"event":"wake"' "$TMP/out" || fail "no wake"
grep '"event":"transcript"' "$TMP/out" | grep -q weather || fail "the transcript lacks 'weather'"
grep '"event":"intent"' "$TMP/out" | grep -q '"name":"weather"' || fail "intent is not weather"
grep -q '"event":"response_end"' "$TMP/out" || fail "no response_end"
if grep -q '"event":"error"' "$TMP/out"; then
    fail "an error event: $(cat "$TMP/out")"
fi
frames=$(grep '"event":"stream_end"' "$TMP/out" | field frames)
[ "${frames:-0}" -gt 50 ] || fail "too few frames sent (${frames:-none})"
stop_devcloud
[ "$(cloud_stat audio_frames)" -eq "$frames" ] ||
    fail "the cloud got $(cloud_stat audio_frames) frames, hark sent $frames"
[ "$(cloud_stat utterances)" -eq 1 ] || fail "expected one utterance at the cloud"
echo "live-run: ok"
