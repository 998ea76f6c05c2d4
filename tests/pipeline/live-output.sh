#!/bin/sh
# Output devices: with a private PulseAudio (a null sink, reached through
# ALSA's pulse plugin) `hark devices` lists the playback devices as well as
# the capture devices, and `[audio] output = speaker:NAME` plays hark run's
# answer on the device so named (heard on the null sink's monitor); a device
# that is not there stops hark run with a message naming it.
# usage: live-output.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"
. "$(dirname "$0")/pulse-lib.sh"

start_pulse 48000
"$HARK" devices >"$TMP/devices" 2>"$TMP/devices.err" || fail "hark devices: $(cat "$TMP/devices.err")"
cat "$TMP/devices"
sed -n '/^output devices/,$p' "$TMP/devices" >"$TMP/outputs"
sed -n '/^input devices/,/^output devices/p' "$TMP/devices" >"$TMP/inputs"
grep -q '^ *[0-9]*  default .*16 kHz ok  (default)$' "$TMP/outputs" || fail "no default output device listed"
grep -q '^ *[0-9]*  pulse  ' "$TMP/outputs" || fail "the pulse output device is not listed"
grep -q '^ *[0-9]*  default .*(default)$' "$TMP/inputs" || fail "no default input device listed"

start_cloud_device
cp "$TMP/hark.conf" "$TMP/base.conf"

# A speaker that is not there: an error that names it, before any request.
{ cat "$TMP/base.conf"; printf '[audio]\noutput = speaker:no-such-speaker\n'; } >"$TMP/hark.conf"
"$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" >"$TMP/out" 2>"$TMP/err" &&
    fail "hark run played on a missing speaker"
cat "$TMP/err"
grep -q 'speaker:no-such-speaker: no output device matches "no-such-speaker"' "$TMP/err" ||
    fail "the missing speaker is not named: $(cat "$TMP/err")"

# The answer on the speaker named "pulse", heard on the null sink's monitor
# (the only thing played into it: the request comes from a file).
{ cat "$TMP/base.conf"; printf '[audio]\noutput = speaker:PULSE\n'; } >"$TMP/hark.conf"
parec -d virt.monitor --rate 16000 --channels 1 --format s16le --raw "$TMP/heard.raw" \
    2>>"$PULSE_DIR/parec.err" &
PLAY_PID=$!
"$HARK" -v run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" >"$TMP/out" 2>"$TMP/err" ||
    fail "hark run: $(cat "$TMP/err")"
sleep 0.5
kill -TERM "$PLAY_PID"
wait "$PLAY_PID" 2>/dev/null || true
PLAY_PID=""
grep 'answers play on' "$TMP/err"
grep -q 'answers play on speaker:PULSE: "pulse" via ALSA' "$TMP/err" ||
    fail "not played on the pulse device: $(cat "$TMP/err")"
grep -q '"event":"response_end"' "$TMP/out" || fail "no answer: $(cat "$TMP/out")"
peak=$(sox -t raw -r 16000 -e signed -b 16 -c 1 "$TMP/heard.raw" -n stat 2>&1 |
    sed -n 's/^Maximum amplitude: *//p')
echo "the sink's monitor heard $(stat -c %s "$TMP/heard.raw") bytes, peak $peak"
ge "${peak:-0}" 0.05 || fail "the answer was not heard on the sink (peak ${peak:-none})"
echo "live-output: ok"
