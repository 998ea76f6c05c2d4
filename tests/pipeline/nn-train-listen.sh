#!/bin/sh
# The neural detector end to end: hark-train --tiny makes a model for "hey
# computer" (seeded, flite voices), and `hark listen` with it wakes on some
# of the small corpus's positive clips (voices it was trained on, in
# sentences it never heard), each time at the phrase, and never on the
# corpus's speech without the phrase or its noise. The tiny model is weak
# (doc/wakeword.md): the bar is that it works at all, not how well.
# usage: nn-train-listen.sh HARK HARK-FEATURES SOURCE-DIR CORPUSDIR
HARK=$1
FEATURES=$2
SRC=$3
CORPUS=$4
. "$(dirname "$0")/lib.sh"

[ -f "$CORPUS/STAMP" ] || fail "no corpus in $CORPUS"
start=$(date +%s)
/usr/bin/python3 "$SRC/wakeword/train/hark-train" "hey computer" -o "$TMP/m.hwm" --tiny --seed 1 \
    --jobs 2 --work "$TMP/work" --features "$FEATURES" 2>"$TMP/train.log" ||
    { tail -20 "$TMP/train.log" >&2; fail "hark-train failed"; }
echo "hark-train --tiny: $(($(date +%s) - start)) s; $(tail -1 "$TMP/train.log")"
printf '[wakeword]\nmodel = %s\n' "$TMP/m.hwm" >"$TMP/nn.conf"

hits=0; n=0
tail -n +2 "$CORPUS/pos.tsv" >"$TMP/pos"
while IFS="$(printf '\t')" read -r clip dur ps pe voice variant text; do
    n=$((n + 1))
    "$HARK" listen --config "$TMP/nn.conf" --input "$CORPUS/$clip" >"$TMP/out" 2>"$TMP/err" \
        </dev/null || fail "listen on $clip: $(cat "$TMP/err")"
    for t in $(grep '"event":"wake"' "$TMP/out" | field t); do
        # Within the phrase or reported after it, within a trigger and a step.
        ge "$t" "$ps" && ge "$(awk -v b="$pe" 'BEGIN { print b + 1.0 }')" "$t" ||
            fail "$clip ($voice, $variant): wake at $t outside the phrase ($ps-$pe)"
        hits=$((hits + 1))
    done
done <"$TMP/pos"
echo "woke on $hits of $n positive clips"
[ "$hits" -ge 3 ] || fail "the tiny model woke on only $hits of $n positive clips"
for f in negatives.wav noise.wav; do
    "$HARK" listen --config "$TMP/nn.conf" --input "$CORPUS/$f" >"$TMP/out" 2>"$TMP/err" \
        </dev/null || fail "listen on $f: $(cat "$TMP/err")"
    ! grep -q '"event":"wake"' "$TMP/out" || fail "woke on $f: $(grep '"wake"' "$TMP/out")"
done
echo "no wake on the corpus's speech without the phrase or its noise"
