#!/bin/sh
# The "hey computer" model built into hark (`model = builtin:hey-computer`,
# combine = neural) through `hark listen`. It wakes, with the neural detector, on the sample
# requests and on every positive clip of the small corpus (voices it was
# trained on, sentences it never heard, some in noise), each time at the
# phrase; never on the corpus's speech without the phrase, its noise, or
# the sample without the phrase. A phrase said right after digital silence
# wakes it too: with the spotter's 0.3 s of look-back at the gate, the
# network's window never reached the end of such a phrase and the
# microphone tests heard nothing (the neural detector now gets its whole
# receptive field of look-back).
# usage: nn-builtin.sh HARK SAMPLES_DIR CORPUSDIR
HARK=$1
SAMPLES=$2
CORPUS=$3
. "$(dirname "$0")/lib.sh"

[ -f "$CORPUS/STAMP" ] || fail "no corpus in $CORPUS"
printf '[wakeword]\nmodel = builtin:hey-computer\n' >"$TMP/builtin.conf"
listen() {
    "$HARK" listen --config "$TMP/builtin.conf" --input "$1" >"$TMP/out" 2>"$TMP/err" </dev/null ||
        fail "listen on $1: $(cat "$TMP/err")"
    grep '"event":"wake"' "$TMP/out" >"$TMP/wakes" || true
    ! grep -v '"detector":"neural"' "$TMP/wakes" || fail "$1: a wake not by the neural detector"
    wc -l <"$TMP/wakes"
}

for f in weather timer banking; do
    [ "$(listen "$SAMPLES/$f.flac")" -eq 1 ] || fail "$f.flac: not one wake: $(cat "$TMP/out")"
done
[ "$(listen "$SAMPLES/no-wake.flac")" -eq 0 ] || fail "woke on no-wake.flac: $(cat "$TMP/out")"
echo "the samples: one wake each, none without the phrase"

# The phrase first, after digital silence only.
sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/trim.wav" remix 1 silence 1 0.01 1%
sox "$TMP/trim.wav" "$TMP/after-silence.wav" pad 2 2
[ "$(listen "$TMP/after-silence.wav")" -eq 1 ] || fail "the phrase after silence: $(cat "$TMP/out")"
echo "the phrase right after silence wakes"

n=0
tail -n +2 "$CORPUS/pos.tsv" >"$TMP/pos"
while IFS="$(printf '\t')" read -r clip dur ps pe voice variant text; do
    n=$((n + 1))
    [ "$(listen "$CORPUS/$clip")" -eq 1 ] || fail "$clip ($voice, $variant): not one wake"
    t=$(field t <"$TMP/wakes")
    ge "$t" "$ps" && ge "$(awk -v b="$pe" 'BEGIN { print b + 1.0 }')" "$t" ||
        fail "$clip ($voice, $variant): wake at $t outside the phrase ($ps-$pe)"
done <"$TMP/pos"
echo "woke on all $n positive clips, at the phrase"
for f in negatives noise; do
    [ "$(listen "$CORPUS/$f.wav")" -eq 0 ] || fail "woke on $f.wav: $(cat "$TMP/wakes")"
done
echo "no wake on the corpus's speech without the phrase or its noise"
