#!/bin/bash
# The echo canceller's benchmark (issue 16): a loopback room made from files.
# The far end is an answer (flite, four voices, each sentence after the wake
# chime hark plays, see src/run/run-chime.c), through sox's reverberation,
# 10 dB louder at the microphone than the user, who says "hey computer, stop"
# (four voices, twice each) during it; some noise. For each delay (0, 60,
# 250 ms) and clock drift (0, +200, -200 ppm) and each back end, aec-room
# reports ERLE after convergence on the far end alone, the time to converge,
# and the user's speech before and after (double talk); hark listen (the
# default neural detector) looks for the wake phrase in each utterance's
# stretch of the cancelled output, of the uncancelled mix and of the user's
# speech alone. Cost: callgrind instructions per second of audio inside the
# canceller, and the peak RSS it adds. Prints a Markdown report.
# usage: tests/bench/bench-aec.sh BUILDDIR [--quick]
#   --quick: the 60 ms / +200 ppm room only, no callgrind
set -euo pipefail
BUILD=$(cd "$1" && pwd)
QUICK=${2:-}
HARK=$BUILD/src/hark
ROOM=$BUILD/tests/aec-room
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hark-bench-aec.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log() { echo "bench-aec: $*" >&2; }
for tool in flite sox valgrind /usr/bin/time; do
    command -v "$tool" >/dev/null || { log "$tool missing (scripts/deps.sh bench)"; exit 1; }
done

backends="speex"
"$ROOM" --backend webrtc --far /dev/null --ref /dev/null --near /dev/null 2>&1 |
    grep -q "not in this build" || backends="speex webrtc"

# The answer: the wake chime (two 70 ms notes, 880 and 1320 Hz, amplitude
# 8000, 10 ms fades), a pause, a sentence; four voices in turn.
sox -n -r 16000 -b 16 -c 1 "$TMP/n1.wav" synth 0.07 sine 880 fade t 0.01 0.07 0.01 vol 0.244
sox -n -r 16000 -b 16 -c 1 "$TMP/n2.wav" synth 0.07 sine 1320 fade t 0.01 0.07 0.01 vol 0.244
sox "$TMP/n1.wav" "$TMP/n2.wav" "$TMP/chime.wav" pad 0 0.3
sentences=("The weather today is mostly sunny with a high of twenty two degrees and a light breeze from the west."
    "Your next appointment is at half past three with the dentist on Main Street, about twenty minutes away."
    "Here is the news. The city council approved the new bicycle lanes, and the library opens late on Thursdays."
    "A timer for ten minutes has been set. I will remind you when the pasta is ready to be drained."
    "Tomorrow will be cloudy in the morning, with rain arriving in the afternoon and clearing by the evening.")
voices=(awb slt rms kal16 awb)
parts=()
for i in "${!sentences[@]}"; do
    flite -voice "${voices[$i]}" -t "${sentences[$i]}" -o "$TMP/s$i.raw.wav"
    sox "$TMP/s$i.raw.wav" -r 16000 "$TMP/s$i.wav" pad 0 0.4
    parts+=("$TMP/chime.wav" "$TMP/s$i.wav")
done
sox "${parts[@]}" "$TMP/ref0.wav"
sox "$TMP/ref0.wav" "$TMP/ref.wav" pad 1 1 norm -3
len=$(soxi -s "$TMP/ref.wav")
# The room: sox's reverberation (about 0.4 s), wet and dry.
sox "$TMP/ref.wav" "$TMP/far.wav" reverb 40 50 60 100 0 0 trim 0 "${len}s"

# The user: "hey computer, stop", 8 times, 4 s apart from 3 s on.
uvoices=(slt rms awb kal16 rms slt kal16 awb)
upos=()
args=()
for i in "${!uvoices[@]}"; do
    flite -voice "${uvoices[$i]}" -t "hey computer, stop" -o "$TMP/u$i.raw.wav"
    at=$((3 + 4 * i))
    sox "$TMP/u$i.raw.wav" -r 16000 "$TMP/u$i.wav" pad "$at" 0
    upos+=("$at $(soxi -D "$TMP/u$i.raw.wav")")
    args+=(-v 1 "$TMP/u$i.wav")
done
sox -m "${args[@]}" "$TMP/near0.wav"
sox "$TMP/near0.wav" "$TMP/near.wav" trim 0 "$((len - 16000))s"
log "answer $(soxi -D "$TMP/ref.wav") s, ${#uvoices[@]} wake phrases"

# wakes WAV: how many of the utterances hark finds in their own stretch of
# WAV (2.5 s before the phrase to 1.5 s after its end, each its own run).
wakes() {
    local found=0 i=0 at dur
    while read -r at dur; do
        sox "$1" "$TMP/seg.wav" trim "$(echo "$at - 2.5" | bc)" "$(echo "$dur + 4" | bc)"
        if "$HARK" listen --input "$TMP/seg.wav" 2>/dev/null | grep -q '"event":"wake"'; then
            found=$((found + 1))
        fi
        i=$((i + 1))
    done < <(printf '%s\n' "${upos[@]}")
    echo "$found/$i"
}

get() { sed -n "s/^$1=//p" "$2"; }

rooms="0:0 0:200 0:-200 60:0 60:200 60:-200 250:0 250:200 250:-200"
[ "$QUICK" = --quick ] && rooms="60:200"
echo "| back end | delay ms | drift ppm | ERLE dB | converge s | est. delay ms / drift ppm | user SDR in → out dB | user loss dB | wake: out / mix / user alone |"
echo "|---|---|---|---|---|---|---|---|---|"
for room in $rooms; do
    d=${room%%:*}
    p=${room##*:}
    mixw="" nearw=""
    for b in $backends; do
        mkdir -p "$TMP/$b"
        log "room delay $d ms drift $p ppm, $b"
        "$ROOM" --backend "$b" --far "$TMP/far.wav" --ref "$TMP/ref.wav" --near "$TMP/near.wav" \
            --delay-ms "$d" --drift-ppm "$p" --out "$TMP/$b" >"$TMP/$b.txt"
        [ -n "$mixw" ] || mixw=$(wakes "$TMP/$b/mix.wav")
        [ -n "$nearw" ] || nearw=$(wakes "$TMP/$b/near.wav")
        f="$TMP/$b.txt"
        echo "| $b | $d | $p | $(get erle_db "$f") | $(get converge_s "$f") |" \
            "$(get est_delay_ms "$f") / $(get est_drift_ppm "$f") |" \
            "$(get near_sdr_in_db "$f") → $(get near_sdr_out_db "$f") | $(get near_loss_db "$f") |" \
            "$(wakes "$TMP/$b/out.wav") / $mixw / $nearw |"
    done
done
[ "$QUICK" = --quick ] && exit 0

echo
echo "| back end | instructions per second of audio (callgrind) | peak RSS added |"
echo "|---|---|---|"
/usr/bin/time -f %M -o "$TMP/off.rss" "$ROOM" --backend off --cost --far "$TMP/far.wav" \
    --ref "$TMP/ref.wav" --near "$TMP/near.wav" --delay-ms 60 >/dev/null
for b in $backends; do
    log "callgrind, $b"
    /usr/bin/time -f %M -o "$TMP/$b.rss" "$ROOM" --backend "$b" --cost --far "$TMP/far.wav" \
        --ref "$TMP/ref.wav" --near "$TMP/near.wav" --delay-ms 60 >"$TMP/$b.cost"
    valgrind --tool=callgrind --callgrind-out-file="$TMP/$b.cg" \
        --toggle-collect='audio_aec_process' --toggle-collect='audio_aec_play' \
        "$ROOM" --backend "$b" --cost --far "$TMP/far.wav" --ref "$TMP/ref.wav" \
        --near "$TMP/near.wav" --delay-ms 60 >/dev/null 2>"$TMP/$b.cg.err"
    ir=$(sed -n 's/^summary: //p' "$TMP/$b.cg")
    secs=$(get seconds "$TMP/$b.cost")
    echo "| $b | $(echo "$ir / $secs / 1000000" | bc) M | $(( $(cat "$TMP/$b.rss") - $(cat "$TMP/off.rss") )) KiB |"
done
