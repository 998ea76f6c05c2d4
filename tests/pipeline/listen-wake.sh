#!/bin/sh
# The wake word through `hark listen` on the generated corpus (small mode).
# With PocketSphinx's own settings (no second pass, its phone loop, one
# threshold), every clip on which pocketsphinx_continuous finds the phrase at
# that threshold, in the same run, wakes hark too, at the phrase: the
# pipeline loses nothing. With PocketSphinx as shipped (`model =`, the
# neural detector off; the second pass on), all
# but at most one unmodified clip wake, at the phrase; silence, noise and
# speech without the phrase never wake; and fewer near misses wake than with
# the second pass off.
# usage: listen-wake.sh HARK CORPUSDIR
HARK=$1
CORPUS=$2
. "$(dirname "$0")/lib.sh"

[ -f "$CORPUS/STAMP" ] || fail "no corpus in $CORPUS"
command -v pocketsphinx_continuous >/dev/null || fail "pocketsphinx_continuous (Debian package pocketsphinx) is missing"
threshold=1e-20
# PocketSphinx's pipeline (model = : no neural model), stock and as shipped.
printf '[wakeword]\nmodel =\nthreshold = %s\nphone_loop = 0.1\nverify = off\n' "$threshold" \
    >"$TMP/stock.conf"
printf '[wakeword]\nmodel =\n' >"$TMP/default.conf"

# wakes_at_phrase CONF CLIP PS PE: 1 when hark woke on the clip, at the
# phrase; fails on a wake anywhere else.
wakes_at_phrase() {
    "$HARK" listen --config "$1" --input "$CORPUS/$2" >"$TMP/out" 2>"$TMP/err" </dev/null \
        || fail "listen on $2: $(cat "$TMP/err")"
    hit=0
    for t in $(grep '"event":"wake"' "$TMP/out" | field t); do
        if ge "$t" "$(awk -v a="$3" 'BEGIN { print a - 0.2 }')" &&
            ge "$(awk -v b="$4" 'BEGIN { print b + 1.5 }')" "$t"; then
            hit=1
        else
            fail "$2 ($voice, $variant): wake at $t outside the phrase ($3-$4)"
        fi
    done
    echo "$hit"
}

clean=0; clean_hit=0; hits=0; stock_hits=0; ref_hits=0; n=0
# pos.tsv: clip duration_s phrase_start_s phrase_end_s voice variant text
tail -n +2 "$CORPUS/pos.tsv" >"$TMP/pos"
while IFS="$(printf '\t')" read -r clip dur ps pe voice variant text; do
    n=$((n + 1))
    stock=$(wakes_at_phrase "$TMP/stock.conf" "$clip" "$ps" "$pe") || exit 1
    stock_hits=$((stock_hits + stock))
    hit=$(wakes_at_phrase "$TMP/default.conf" "$clip" "$ps" "$pe") || exit 1
    hits=$((hits + hit))
    ref=$(pocketsphinx_continuous -infile "$CORPUS/$clip" -keyphrase "hey computer" \
        -kws_threshold "$threshold" -time yes 2>/dev/null </dev/null | grep -c '^hey computer ' || true)
    if [ "$ref" -gt 0 ]; then
        ref_hits=$((ref_hits + 1))
        [ "$stock" -eq 1 ] || fail "$clip ($voice, $variant): the reference finds the phrase, hark does not"
    fi
    if [ "$variant" = clean ]; then
        clean=$((clean + 1)); clean_hit=$((clean_hit + hit))
        [ "$hit" -eq 1 ] || echo "missed unmodified clip $clip ($voice): $text" >&2
    fi
done <"$TMP/pos"
echo "threshold $threshold: hark woke on $stock_hits of $n positive clips, pocketsphinx_continuous on $ref_hits"
echo "shipped defaults: hark woke on $hits of $n; unmodified: $clean_hit of $clean"
[ "$clean" -ge 4 ] || fail "too few unmodified positives in the corpus ($clean)"
[ "$clean_hit" -ge $((clean - 1)) ] || fail "unmodified positives missed"

for f in noise negatives; do
    "$HARK" listen --input "$CORPUS/$f.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen on $f: $(cat "$TMP/err")"
    w=$(grep -c '"event":"wake"' "$TMP/out" || true)
    echo "$f.wav ($(soxi -D "$CORPUS/$f.wav") s): $w wakes"
    [ "$w" -eq 0 ] || fail "false wake in $f.wav: $(cat "$TMP/out")"
done
# The near misses ("hey commuter", "a computer", ...): the second pass turns
# some of them down.
printf '[wakeword]\nmodel =\nverify = off\n' >"$TMP/spotter.conf"
"$HARK" listen --config "$TMP/spotter.conf" --input "$CORPUS/nearmiss.wav" >"$TMP/out" 2>"$TMP/err" ||
    fail "listen on nearmiss.wav: $(cat "$TMP/err")"
spotted=$(grep -c '"event":"wake"' "$TMP/out" || true)
"$HARK" -v listen --config "$TMP/default.conf" --input "$CORPUS/nearmiss.wav" >"$TMP/out" 2>"$TMP/err" ||
    fail "listen on nearmiss.wav: $(cat "$TMP/err")"
verified=$(grep -c '"event":"wake"' "$TMP/out" || true)
n_nm=$(($(wc -l <"$CORPUS/nearmiss.tsv") - 1))
echo "near misses that woke (of $n_nm): $spotted by the spotter alone, $verified with the second pass"
[ "$verified" -lt "$spotted" ] || fail "the second pass turned no near miss down"
# What was turned down is counted, and only counted: the count at the end,
# no event and no other line for it.
down=$(sed -n 's/.*[0-9]* wakes; \([0-9]*\) candidates turned down.*/\1/p' "$TMP/err")
[ -n "$down" ] && [ "$down" -gt 0 ] || fail "no count of the candidates turned down: $(cat "$TMP/err")"
echo "turned down: $down"
[ "$(wc -l <"$TMP/out")" -eq $((2 * verified)) ] || fail "events besides the wakes and their ends: $(cat "$TMP/out")"
echo "ok"
