#!/bin/sh
# `hark tune` on the generated corpus (small mode): it sweeps two spotter
# thresholds and the second pass's cut-off, prints the table, the DET points
# and where the false alarms came from, and writes the best setting within
# the target into a config file. What it writes holds: `hark check-config`
# takes the file, and `hark listen` with it wakes on the recordings without
# the phrase no more often than tune counted. Rewriting an existing file
# keeps its other keys, sections and mode. Bad arguments are refused,
# naming what is wrong.
# usage: tune.sh HARK CORPUSDIR
HARK=$1
CORPUS=$2
. "$(dirname "$0")/lib.sh"

[ -f "$CORPUS/STAMP" ] || fail "no corpus in $CORPUS"

# Recordings in 32- and 64-bit float wake hark as their 16-bit originals do
# (libsndfile reads floats as shorts without scaling: silence). Not sox's
# 64-bit W64, which libsndfile reads as noise; test-source covers W64 and
# CAF, written by libsndfile.
sox "$CORPUS/pos/001.wav" -e floating-point -b 32 "$TMP/f32.wav"
sox "$CORPUS/pos/001.wav" -e floating-point -b 64 "$TMP/f64.wav"
sox "$CORPUS/pos/001.wav" -e floating-point -b 32 "$TMP/f32.w64"
for f in "$CORPUS/pos/001.wav" "$TMP/f32.wav" "$TMP/f64.wav" "$TMP/f32.w64"; do
    "$HARK" listen --input "$f" >"$TMP/listen" 2>"$TMP/err" || fail "listen $f: $(cat "$TMP/err")"
    wakes=$(grep -c '"event":"wake"' "$TMP/listen" || true)
    echo "$(basename "$f"): $wakes wake(s)"
    [ "$wakes" -eq 1 ] || fail "$f: $wakes wakes, expected 1"
done

cat >"$TMP/hark.conf" <<'CONF'
# my settings
[audio]
preroll = 700ms
[wakeword]
phrases = hey computer
model =
verify = off
[endpoint]
silence = 800ms
CONF
chmod 600 "$TMP/hark.conf"
# PocketSphinx's tuning: without the built-in neural model, which would
# otherwise be what tune tunes for "hey computer".
printf '[wakeword]\nmodel =\n' >"$TMP/ps.conf"

"$HARK" tune --config "$TMP/ps.conf" --thresholds 1e-50,1e-30 --jobs 2 --det "$TMP/det.tsv" --write "$TMP/hark.conf" \
    --positives "$CORPUS/pos" --negatives "$CORPUS/negatives.wav" --negatives "$CORPUS/noise.wav" \
    --near-misses "$CORPUS/nearmiss.wav" >"$TMP/out" 2>"$TMP/err" || fail "tune: $(cat "$TMP/err")"
cat "$TMP/out"
n_pos=$(($(wc -l <"$CORPUS/pos.tsv") - 1))
grep -q "^'hey computer': $n_pos recordings with the phrase" "$TMP/out" || fail "no header"
grep -q "^1e-50 *off " "$TMP/out" && grep -q "^1e-30 *off " "$TMP/out" || fail "a threshold is missing"
grep -q "^best within the target:" "$TMP/out" || fail "no best setting"
grep -q "negatives.wav: [0-9]* woke" "$TMP/out" || fail "no breakdown"
grep -q "nearmiss.wav (near misses): [0-9]* woke" "$TMP/out" || fail "no near-miss breakdown"
head -1 "$TMP/det.tsv" | grep -q "^threshold	verify	cutoff	hits	positives	misses" || fail "DET header"
[ "$(grep -c "	on	" "$TMP/det.tsv")" -ge 2 ] || fail "too few DET points"

# The file: the tuned phrase, verify on, the rest kept, the mode kept.
cat "$TMP/hark.conf"
line=$(grep "^phrases = " "$TMP/hark.conf")
echo "$line" | grep -Eq "^phrases = hey computer/1e-(50|30)/-?[0-9.]+$" || fail "phrases: $line"
grep -q "^verify = on$" "$TMP/hark.conf" || fail "verify not on"
[ "$(grep -c "^verify = " "$TMP/hark.conf")" -eq 1 ] || fail "verify twice"
grep -q "^phone_loop = " "$TMP/hark.conf" || fail "no phone_loop"
grep -q "^# my settings" "$TMP/hark.conf" && grep -q "^preroll = 700ms" "$TMP/hark.conf" &&
    grep -q "^silence = 800ms" "$TMP/hark.conf" || fail "other settings were lost"
[ "$(stat -c %a "$TMP/hark.conf")" = 600 ] || fail "mode changed to $(stat -c %a "$TMP/hark.conf")"
"$HARK" check-config "$TMP/hark.conf" >/dev/null 2>"$TMP/err" || fail "check-config: $(cat "$TMP/err")"

# What tune counted, hark listen does: no more wakes on each recording
# without the phrase than the breakdown says.
for f in negatives noise; do
    said=$(sed -n "s|.*/$f.wav: \([0-9]*\) woke.*|\1|p" "$TMP/out")
    "$HARK" listen --config "$TMP/hark.conf" --input "$CORPUS/$f.wav" >"$TMP/listen" 2>"$TMP/err" ||
        fail "listen: $(cat "$TMP/err")"
    got=$(grep -c '"event":"wake"' "$TMP/listen" || true)
    echo "$f.wav: tune counted $said, hark listen woke $got times"
    [ "$got" -le "$said" ] || fail "$f.wav: hark listen woke $got times, tune counted $said"
done

# A limit on the near misses: the setting chosen wakes on no more of them
# (or none qualifies), and the limit is said in the header.
"$HARK" tune --config "$TMP/ps.conf" --thresholds 1e-50,1e-30 --jobs 2 --near-limit 1 --det "$TMP/det1.tsv" \
    --positives "$CORPUS/pos" --negatives "$CORPUS/negatives.wav" --negatives "$CORPUS/noise.wav" \
    --near-misses "$CORPUS/nearmiss.wav" >"$TMP/out1" 2>"$TMP/err" ||
    grep -q "^no setting meets" "$TMP/out1" || fail "tune: $(cat "$TMP/err")"
grep -q "at most 1 near misses woken" "$TMP/out1" || fail "the limit is not said: $(head -1 "$TMP/out1")"
best_near=$(sed -n '/^best within the target:/{n;p}' "$TMP/out1" | awk '{ print $NF }')
echo "near-limit 1: $(sed -n '/^best within the target:/{n;p}' "$TMP/out1")"
[ -n "$best_near" ] && [ "$best_near" -le 1 ] || grep -q "^no setting meets" "$TMP/out1" ||
    fail "the best setting wakes on $best_near near misses: $(cat "$TMP/out1")"
# Without the limit more near misses woke at the best setting, or the limit
# proves nothing on this corpus.
free_near=$(sed -n '/^best within the target:/{n;p}' "$TMP/out" | awk '{ print $NF }')
[ "$free_near" -gt 1 ] || fail "without the limit only $free_near near misses woke: the test proves nothing"
"$HARK" tune --near-limit 2 --positives "$CORPUS/pos" --negatives "$CORPUS/noise.wav" >/dev/null 2>"$TMP/err" &&
    fail "--near-limit without near misses ran"
grep -q "give them with --near-misses" "$TMP/err" || fail "no reason: $(cat "$TMP/err")"

# A new file gets just the section.
"$HARK" tune --config "$TMP/ps.conf" --thresholds 1e-30 --jobs 1 --write "$TMP/new.conf" --positives "$CORPUS/pos/001.wav" \
    --negatives "$CORPUS/noise.wav" >/dev/null 2>"$TMP/err" || fail "tune: $(cat "$TMP/err")"
[ "$(head -1 "$TMP/new.conf")" = "[wakeword]" ] || fail "new file: $(cat "$TMP/new.conf")"
"$HARK" check-config "$TMP/new.conf" >/dev/null 2>&1 || fail "the new file does not check"

# Ctrl-C (SIGINT) stops tune at once, its passes with it, and nothing is
# written: not after the passes, not ever. Started in the background, where
# a shell without job control has SIGINT ignored (tune must still stop).
cp "$TMP/hark.conf" "$TMP/before.conf"
"$HARK" -v tune --config "$TMP/ps.conf" --thresholds 1e-50,1e-40,1e-30,1e-20 --jobs 2 --write "$TMP/hark.conf" \
    --positives "$CORPUS/pos" --negatives "$CORPUS/negatives.wav" --negatives "$CORPUS/noise.wav" \
    >"$TMP/int.out" 2>"$TMP/int.err" &
tune_pid=$!
i=0
until [ "$(grep -c "pass at threshold .* started" "$TMP/int.err")" -ge 2 ]; do
    i=$((i + 1))
    [ "$i" -le 100 ] || fail "the passes did not start: $(cat "$TMP/int.err")"
    sleep 0.1
done
passes=$(ps -o pid= --ppid "$tune_pid" | tr -d ' ')
[ -n "$passes" ] || fail "no passes running"
kill -INT "$tune_pid"
i=0
while kill -0 "$tune_pid" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 50 ]; then
        kill -KILL "$tune_pid" $passes 2>/dev/null || true
        fail "tune did not stop within 5 s of SIGINT"
    fi
    sleep 0.1
done
rc=0
wait "$tune_pid" || rc=$?
echo "SIGINT: tune exited $rc after $((i / 10)).$((i % 10)) s: $(tail -1 "$TMP/int.err")"
[ "$rc" -eq 130 ] || fail "tune exited $rc after SIGINT, expected 130"
grep -q "stopped by SIGINT (Ctrl-C); nothing written" "$TMP/int.err" || fail "no reason: $(cat "$TMP/int.err")"
for p in $passes; do
    ! kill -0 "$p" 2>/dev/null || fail "pass $p still runs after tune stopped"
done
cmp -s "$TMP/hark.conf" "$TMP/before.conf" || fail "the config changed after SIGINT"
[ -z "$(find "$TMP" -name 'hark.conf.tune-*')" ] || fail "a temporary file was left"

# Recordings said to hold the phrase in which no setting finds it: the
# setting would never wake, so it is not written, and tune says why.
silence 3 "$TMP/silent-pos.wav"
silence 3 "$TMP/silent-neg.wav"
"$HARK" tune --config "$TMP/ps.conf" --thresholds 1e-30 --jobs 1 --write "$TMP/hark.conf" --positives "$TMP/silent-pos.wav" \
    --negatives "$TMP/silent-neg.wav" >"$TMP/none.out" 2>"$TMP/err" && fail "wrote a setting that finds none"
cat "$TMP/err"
grep -q "hark.conf not written: no setting finds any of the 1 recordings with the phrase" "$TMP/err" ||
    fail "no reason: $(cat "$TMP/err")"
cmp -s "$TMP/hark.conf" "$TMP/before.conf" || fail "the config changed"

# Refusals.
"$HARK" tune --positives "$CORPUS/pos" >/dev/null 2>"$TMP/err" && fail "ran without negatives"
grep -q "usage: hark tune" "$TMP/err" || fail "no usage: $(cat "$TMP/err")"
"$HARK" tune --positives "$TMP/nothere.wav" --negatives "$CORPUS/noise.wav" >/dev/null 2>"$TMP/err" &&
    fail "ran on a missing file"
grep -q "nothere.wav" "$TMP/err" || fail "the missing file is not named: $(cat "$TMP/err")"
mkdir "$TMP/empty"
"$HARK" tune --positives "$TMP/empty" --negatives "$CORPUS/noise.wav" >/dev/null 2>"$TMP/err" &&
    fail "ran on an empty directory"
grep -q "empty: no recordings" "$TMP/err" || fail "the empty directory: $(cat "$TMP/err")"
"$HARK" tune --target -1 --positives "$CORPUS/pos" --negatives "$CORPUS/noise.wav" >/dev/null \
    2>"$TMP/err" && fail "took a negative target"
grep -q "target" "$TMP/err" || fail "bad target: $(cat "$TMP/err")"
echo "ok"
