#!/bin/sh
# What the cloud hears is the device's input from the pre-roll on: hark run
# streams a 16 kHz recording to hark-devcloud --save-uplink, and the decoded
# uplink is found in that recording by cross-correlation. It must match it
# (normalised correlation >= 0.8 after Opus at 24 kbps), start 0.5 s before
# the phrase (the pre-roll) within 60 ms, and last exactly the frames hark
# says it sent.
# usage: run-uplink.sh HARK DEVCLOUD SAMPLES_DIR XCORR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
XCORR=$4
. "$(dirname "$0")/cloud-lib.sh"

# value NAME: NAME=VALUE from test-xcorr's line on stdin.
value() {
    sed -n "s/.*$1=\([-0-9.]*\).*/\1/p"
}

# The recording at the rate hark works at, so that sample positions in it
# are the ones hark counts (-D: no dither, the same samples every run).
sox -D "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/in.wav"

start_cloud_device 0 --save-uplink "$TMP/uplink"
"$HARK" -v run --config "$TMP/hark.conf" --input "$TMP/in.wav" --output "$TMP/answer.wav" \
    >"$TMP/out" 2>"$TMP/err" || fail "run exited non-zero: $(cat "$TMP/err")"
cat "$TMP/out"
grep -q '"event":"response_end","id":1,' "$TMP/out" || fail "the request was not answered"
stop_devcloud
grep -q -- "--save-uplink: writing the audio devices send to" "$TMP/cloud.err" ||
    fail "hark-devcloud did not warn that it saves audio: $(cat "$TMP/cloud.err")"
up="$TMP/uplink/uplink-1-1.wav"
[ -f "$up" ] || fail "no uplink saved: $(ls "$TMP/uplink") $(cat "$TMP/cloud.err")"
[ "$(find "$TMP/uplink" -type f | wc -l)" -eq 1 ] || fail "more than one uplink file"
[ "$(stat -c %a "$up")" = 600 ] || fail "the uplink file is not 0600"
[ "$(soxi -r "$up")" = 16000 ] && [ "$(soxi -c "$up")" = 1 ] && [ "$(soxi -b "$up")" = 16 ] ||
    fail "the uplink file is not 16 kHz mono 16-bit: $(soxi "$up")"

# hark's own estimate of where the phrase starts: hark listen runs the same
# ear on the same recording and logs it ("phrase from X s, Y s of pre-roll").
# Its wake must be the one hark run reported, or it is not the same estimate.
"$HARK" -v listen --config "$TMP/hark.conf" --input "$TMP/in.wav" \
    >"$TMP/listen.out" 2>"$TMP/listen.err" || fail "listen exited non-zero: $(cat "$TMP/listen.err")"
wake_run=$(grep '"event":"wake"' "$TMP/out" | field t)
wake_listen=$(grep '"event":"wake"' "$TMP/listen.out" | field t)
[ -n "$wake_run" ] && [ "$wake_run" = "$wake_listen" ] ||
    fail "hark listen woke at '$wake_listen' s, hark run at '$wake_run' s"
phrase=$(sed -n 's/.*phrase from \([0-9.]*\) s.*/\1/p' "$TMP/listen.err" | head -1)
[ -n "$phrase" ] || fail "hark listen did not log the phrase start: $(cat "$TMP/listen.err")"
preroll=$(grep '"event":"stream_start"' "$TMP/out" | field preroll_s)
approx "$preroll" 0.5 0.001 || fail "pre-roll $preroll s, expected the default 0.5 s"

result=$("$XCORR" "$TMP/in.wav" "$up") || fail "test-xcorr failed"
lag=$(echo "$result" | value lag_s)
corr=$(echo "$result" | value corr)
snr=$(echo "$result" | value snr_db)
up_samples=$(echo "$result" | value up_samples)
expected=$(awk -v p="$phrase" -v r="$preroll" 'BEGIN { printf "%.4f", p - r }')
frames=$(grep '"event":"stream_end"' "$TMP/out" | field frames)
echo "$result"
echo "uplink: correlation $corr, SNR $snr dB, starts at $lag s in the input" \
    "(phrase from $phrase s - pre-roll $preroll s = $expected s); $up_samples samples, $frames frames"

# (a) It is the input, through the codec.
ge "$corr" 0.8 || fail "the uplink does not match the input: correlation $corr"
# (b) From the pre-roll on: 60 ms is for the phrase-start estimate (logged to
# 10 ms) and Opus's lookahead (6.5 ms).
approx "$lag" "$expected" 0.060 ||
    fail "the uplink starts at $lag s in the input, $expected s expected"
# (c) Every frame hark sent, each 20 ms, and nothing else.
[ "$up_samples" -eq $((frames * 320)) ] ||
    fail "the uplink has $up_samples samples; hark sent $frames frames of 320"
[ "$(cloud_stat audio_frames)" -eq "$frames" ] ||
    fail "the cloud got $(cloud_stat audio_frames) frames, hark sent $frames"
echo "ok"
