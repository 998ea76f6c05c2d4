#!/bin/sh
# hark run end to end against hark-devcloud on loopback: a weather request is
# streamed, transcribed and answered (events, answer audio in a WAV file); a
# recording without the wake word sends no audio at all.
# usage: run-happy.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

start_cloud_device
"$HARK" -v run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" --output "$TMP/answer.wav" \
    >"$TMP/out" 2>"$TMP/err" || fail "run exited non-zero: $(cat "$TMP/err")"
cat "$TMP/out"
grep -q '"event":"connected"' "$TMP/out" || fail "no connected event"
grep -q '"event":"wake"' "$TMP/out" || fail "no wake"
grep -q '"event":"stream_start"' "$TMP/out" || fail "no stream_start"
grep '"event":"transcript"' "$TMP/out" | grep -q weather || fail "the transcript lacks 'weather'"
grep '"event":"intent"' "$TMP/out" | grep -q '"name":"weather"' || fail "intent is not weather"
grep -q '"event":"response"' "$TMP/out" || fail "no response"
grep -q '"event":"response_end"' "$TMP/out" || fail "no response_end"
# The answer was spoken: the WAV holds a second or more of audio, 0600.
ge "$(soxi -D "$TMP/answer.wav")" 1.0 || fail "answer audio too short"
[ "$(stat -c %a "$TMP/answer.wav")" = 600 ] || fail "answer file is not 0600"
# Uplink budget: at most 3 KB per second of request audio (default 24 kbps).
line=$(grep '"event":"stream_end"' "$TMP/out")
frames=$(echo "$line" | field frames)
bytes=$(echo "$line" | field bytes)
[ "$frames" -gt 50 ] || fail "too few frames sent ($frames)"
rate=$(awk -v b="$bytes" -v f="$frames" 'BEGIN { printf "%.0f", b / (f * 0.02) }')
echo "uplink: $frames frames, $bytes bytes, $rate bytes/s"
[ "$rate" -le 3000 ] || fail "uplink $rate bytes/s over 3 KB/s"
stop_devcloud
[ "$(cloud_stat audio_frames)" -eq "$frames" ] || fail "the cloud got $(cloud_stat audio_frames) frames, hark sent $frames"
[ "$(cloud_stat utterances)" -eq 1 ] || fail "expected one utterance at the cloud"

# Speech without the wake word: connected, but not one frame of audio sent.
start_devcloud "$DEVCLOUD_PORT"
"$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/no-wake.flac" --output "$TMP/none.wav" \
    >"$TMP/out" 2>"$TMP/err" || fail "run exited non-zero: $(cat "$TMP/err")"
grep -q '"event":"connected"' "$TMP/out" || fail "no connected event"
! grep -q '"event":"wake"' "$TMP/out" || fail "woke on a recording without the phrase"
stop_devcloud
[ "$(cloud_stat connections)" -ge 1 ] || fail "the cloud saw no connection"
[ "$(cloud_stat audio_frames)" -eq 0 ] || fail "audio left the device without a wake: $(cloud_stat audio_frames) frames"
echo "ok"
