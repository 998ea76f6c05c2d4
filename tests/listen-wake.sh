#!/bin/sh
# The wake word through `hark listen` on the generated corpus (small mode):
# every clip on which pocketsphinx_continuous finds the phrase at the same
# threshold, in the same run, wakes hark too, at the phrase; all but at most
# one unmodified clip wake; silence, noise and speech without the phrase
# never wake.
# usage: listen-wake.sh HARK CORPUSDIR
HARK=$1
CORPUS=$2
. "$(dirname "$0")/lib.sh"

[ -f "$CORPUS/STAMP" ] || fail "no corpus in $CORPUS"
command -v pocketsphinx_continuous >/dev/null || fail "pocketsphinx_continuous (Debian package pocketsphinx) is missing"
threshold=$("$HARK" check-config --dump 2>/dev/null | sed -n 's/^threshold = //p')
[ -n "$threshold" ] || fail "no default threshold in check-config --dump"

clean=0; clean_hit=0; hits=0; ref_hits=0; n=0
# pos.tsv: clip duration_s phrase_start_s phrase_end_s voice variant text
tail -n +2 "$CORPUS/pos.tsv" >"$TMP/pos"
while IFS="$(printf '\t')" read -r clip dur ps pe voice variant text; do
    n=$((n + 1))
    "$HARK" listen --input "$CORPUS/$clip" >"$TMP/out" 2>"$TMP/err" </dev/null \
        || fail "listen on $clip: $(cat "$TMP/err")"
    hit=0
    for t in $(grep '"event":"wake"' "$TMP/out" | field t); do
        if ge "$t" "$(awk -v a="$ps" 'BEGIN { print a - 0.2 }')" &&
            ge "$(awk -v b="$pe" 'BEGIN { print b + 1.5 }')" "$t"; then
            hit=1
        else
            fail "$clip ($voice, $variant): wake at $t outside the phrase ($ps-$pe)"
        fi
    done
    hits=$((hits + hit))
    ref=$(pocketsphinx_continuous -infile "$CORPUS/$clip" -keyphrase "hey computer" \
        -kws_threshold "$threshold" -time yes 2>/dev/null </dev/null | grep -c '^hey computer ' || true)
    if [ "$ref" -gt 0 ]; then
        ref_hits=$((ref_hits + 1))
        [ "$hit" -eq 1 ] || fail "$clip ($voice, $variant): the reference finds the phrase, hark does not"
    fi
    if [ "$variant" = clean ]; then
        clean=$((clean + 1)); clean_hit=$((clean_hit + hit))
        [ "$hit" -eq 1 ] || echo "missed unmodified clip $clip ($voice): $text" >&2
    fi
done <"$TMP/pos"
echo "threshold $threshold: hark woke on $hits of $n positive clips, pocketsphinx_continuous on $ref_hits; unmodified: $clean_hit of $clean"
[ "$clean" -ge 4 ] || fail "too few unmodified positives in the corpus ($clean)"
[ "$clean_hit" -ge $((clean - 1)) ] || fail "unmodified positives missed"

for f in noise negatives; do
    "$HARK" listen --input "$CORPUS/$f.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen on $f: $(cat "$TMP/err")"
    w=$(grep -c '"event":"wake"' "$TMP/out" || true)
    echo "$f.wav ($(soxi -D "$CORPUS/$f.wav") s): $w wakes"
    [ "$w" -eq 0 ] || fail "false wake in $f.wav: $(cat "$TMP/out")"
done
echo "ok"
