#!/bin/sh
# hark listen on a live microphone: a private PulseAudio whose null sink runs
# at 44.1 and then 48 kHz; PortAudio captures its monitor through ALSA's pulse
# plugin. The weather request played into the sink wakes hark and ends; a
# recording without the phrase does not wake it. `mic@RATE` captures at the
# sink's rate, so the audio goes through hark's own resampler; plain `mic`
# takes the 16 kHz the plugin offers. `hark devices` lists the device used.
# usage: live-listen.sh HARK SAMPLES_DIR
HARK=$1
SAMPLES=$2
. "$(dirname "$0")/pulse-lib.sh"

# listen_to SPEC LOGGED [no-wake]: runs hark listen on SPEC, checks that it
# opened the device as LOGGED says, plays the weather request (and then the
# recording without the phrase) and checks the events.
listen_to() {
    spec=$1
    out="$TMP/$spec.out"
    err="$TMP/$spec.err"
    "$HARK" -v listen --input "$spec" >"$out" 2>"$err" &
    HARK_PID=$!
    wait_for "$err" 'listening to|error' 10
    grep -q "listening to $spec: \".*\" via ALSA, $2" "$err" ||
        fail "$spec: not opened as expected ($2): $(cat "$err")"
    sed -n 's/.*listening to \(.*\)/\1/p' "$err"
    start_playing "$SAMPLES/weather.flac"
    wait_for "$out" '"event":"utterance_end"' 15
    wait_playing
    if [ "${3:-}" = no-wake ]; then
        # Returns some 2 s after its end: time enough for a (wrong) wake.
        play_into_mic "$SAMPLES/no-wake.flac"
    fi
    stop_hark
    cat "$out"
    [ "$(grep -c '"event":"wake"' "$out")" -eq 1 ] || fail "$spec: not exactly one wake: $(cat "$out")"
    grep -q '"event":"wake".*"phrase":"hey computer"' "$out" || fail "$spec: wrong phrase"
    [ "$(grep -c '"event":"utterance_end"' "$out")" -eq 1 ] || fail "$spec: not one utterance_end"
    if grep -q '"event":"error"' "$out"; then
        fail "$spec: an error event: $(cat "$out")"
    fi
}

for rate in 44100 48000; do
    start_pulse "$rate"
    "$HARK" devices >"$TMP/devices" 2>"$TMP/devices.err" || fail "hark devices: $(cat "$TMP/devices.err")"
    cat "$TMP/devices"
    grep -q '^ *[0-9]*  default .*(default)$' "$TMP/devices" || fail "no default device listed"
    if [ "$rate" = 44100 ]; then
        listen_to mic "16000 Hz"
        listen_to "mic@$rate" "$rate Hz resampled to 16000 Hz"
    else
        listen_to "mic@$rate" "$rate Hz resampled to 16000 Hz" no-wake
    fi
    device=$(sed -n 's/.*listening to [^"]*"\([^"]*\)".*/\1/p' "$TMP/mic@$rate.err")
    grep -q "  $device  " "$TMP/devices" || fail "hark devices does not list \"$device\""
    stop_pulse
done
echo "live-listen: ok"
