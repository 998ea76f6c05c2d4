#!/bin/sh
# `hark listen` with a neural model ([wakeword] model): a hand-made model
# for the phrase "tone" that scores a 1 kHz tone high (written with the
# trainer's own writer, wakeword/train/hwm.py) wakes hark at the tone, with
# that phrase, and not on speech; PocketSphinx keeps the other phrases; a
# damaged model, or one whose phrase is not configured, stops hark at start
# with a message naming the file. The same tone model under the phrase
# "hey computer" tells the three ways of combining the detectors apart
# ([wakeword] combine): on audio where only one of them fires, or both.
# usage: nn-listen.sh HARK HARK-FEATURES SOURCE-DIR
HARK=$1
FEATURES=$2
SRC=$3
. "$(dirname "$0")/lib.sh"

# Which mel band holds 1 kHz, from hark's own front end.
sox -D -n -r 16000 -c 1 -b 16 -e signed-integer -t raw "$TMP/tone.raw" synth 0.1 sine 1000 gain -6
echo "$TMP/tone.raw $TMP/tone.f32" | "$FEATURES"
/usr/bin/python3 - "$SRC" "$TMP" <<'PY' || fail "cannot write the model"
import struct, sys
sys.path.insert(0, sys.argv[1] + "/wakeword/train")
import hwm
tmp = sys.argv[2]
data = open(tmp + "/tone.f32", "rb").read()
frame = struct.unpack("<40f", data[:160])
band = max(range(3, 37), key=lambda b: frame[b])
w = [0.0] * 120
for t in range(3):
    w[t * 40 + band] = 0.1
    w[t * 40 + band - 3] = w[t * 40 + band + 3] = -0.05
feat = dict(sample_rate=16000, win=400, hop=160, n_fft=512, n_mels=40, fmin=60.0, fmax=7600.0,
            log_floor=1e-6)
layer = dict(type=hwm.CONV, act=hwm.SIGMOID, in_ch=40, out_ch=1, kernel=3, dilation=1,
             weights=w, bias=[-2.4])
data = hwm.serialise("tone", feat, 0.5, 3, [layer])
open(tmp + "/tone.hwm", "wb").write(data)
open(tmp + "/hc-tone.hwm", "wb").write(hwm.serialise("hey computer", feat, 0.5, 3, [layer]))
open(tmp + "/zz.hwm", "wb").write(hwm.serialise("zzyzxq", feat, 0.5, 3, [layer]))
open(tmp + "/damaged.hwm", "wb").write(data[:100] + bytes([data[100] ^ 1]) + data[101:])
PY

# Speech, then the tone at 2.0-2.4 s, then speech again.
say slt "the weather is nice and the sun is out" "$TMP/a.wav"
say rms "we will go for a walk in the park" "$TMP/b.wav"
silence 0.3 "$TMP/gap.wav"
sox -D -n -r 16000 -c 1 -b 16 "$TMP/beep.wav" synth 0.4 sine 1000 gain -6
sox -D "$TMP/a.wav" "$TMP/gap.wav" "$TMP/a2.wav"
lead=$(soxi -D "$TMP/a2.wav")
sox -D "$TMP/a2.wav" "$TMP/beep.wav" "$TMP/gap.wav" "$TMP/b.wav" "$TMP/gap.wav" "$TMP/with-tone.wav"
sox -D "$TMP/a.wav" "$TMP/gap.wav" "$TMP/b.wav" "$TMP/gap.wav" "$TMP/speech.wav"

printf '[wakeword]\nphrases = tone\nmodel = %s\n' "$TMP/tone.hwm" >"$TMP/tone.conf"
"$HARK" listen --config "$TMP/tone.conf" --input "$TMP/with-tone.wav" >"$TMP/out" 2>"$TMP/err" \
    </dev/null || fail "listen: $(cat "$TMP/err")"
[ "$(grep -c '"event":"wake"' "$TMP/out")" -eq 1 ] || fail "not one wake on the tone: $(cat "$TMP/out")"
t=$(grep '"event":"wake"' "$TMP/out" | field t)
phrase=$(grep '"event":"wake"' "$TMP/out" | field phrase)
[ "$phrase" = tone ] || fail "woke with phrase '$phrase'"
# Detected within the tone or one step (128 ms) after it.
ge "$t" "$lead" && ge "$(awk -v l="$lead" 'BEGIN { print l + 0.4 + 0.2 }')" "$t" ||
    fail "woke at $t, the tone is at $lead to $lead + 0.4"
echo "the tone model woke hark at $t s (tone from $lead s)"

"$HARK" listen --config "$TMP/tone.conf" --input "$TMP/speech.wav" >"$TMP/out" 2>"$TMP/err" \
    </dev/null || fail "listen: $(cat "$TMP/err")"
! grep -q '"event":"wake"' "$TMP/out" || fail "the tone model woke on speech: $(cat "$TMP/out")"

# Both detectors: PocketSphinx still has "hey computer".
spoken_request "$TMP/request.wav"
printf '[wakeword]\nphrases = hey computer, tone\nmodel = %s\n' "$TMP/tone.hwm" >"$TMP/both.conf"
"$HARK" listen --config "$TMP/both.conf" --input "$TMP/request.wav" >"$TMP/out" 2>"$TMP/err" \
    </dev/null || fail "listen: $(cat "$TMP/err")"
[ "$(grep '"event":"wake"' "$TMP/out" | field phrase)" = "hey computer" ] ||
    fail "PocketSphinx's phrase did not wake hark beside the model: $(cat "$TMP/out")"

# Neural alone (the default), PocketSphinx not loaded at all: its model
# directory does not even exist.
# wakes CONF WAV: the wake events' "detector" fields, one per line.
wakes() {
    "$HARK" listen --config "$1" --input "$2" >"$TMP/out" 2>"$TMP/err" </dev/null ||
        fail "listen $1 $2: $(cat "$TMP/err")"
    grep '"event":"wake"' "$TMP/out" | field detector
}
sox -D "$TMP/phrase.wav" "$TMP/beep.wav" "$TMP/gap.wav" "$TMP/question.wav" "$TMP/gap.wav" \
    "$TMP/phrase-beep.wav"
for mode in neural verify either; do
    printf '[wakeword]\nmodel = hc-tone.hwm\ncombine = %s\n' $mode >"$TMP/$mode.conf"
done
printf '[wakeword]\nmodel = hc-tone.hwm\nmodel_dir = %s/none\n' "$TMP" >"$TMP/default.conf"
[ "$(wakes "$TMP/default.conf" "$TMP/with-tone.wav")" = neural ] ||
    fail "neural alone: not one neural wake on the tone: $(cat "$TMP/out" "$TMP/err")"
[ -z "$(wakes "$TMP/default.conf" "$TMP/request.wav")" ] ||
    fail "neural alone woke on the spoken phrase: $(cat "$TMP/out")"
grep '"event":"wake"' "$TMP/out" | grep -q verify && fail "a verify score without a second pass"
# verify: the tone alone is turned down by PocketSphinx's second pass; the
# spoken phrase alone is never proposed; the phrase with the tone after it
# wakes, with both scores.
[ -z "$(wakes "$TMP/verify.conf" "$TMP/with-tone.wav")" ] ||
    fail "verify: the second pass took a tone for the phrase: $(cat "$TMP/out")"
[ -z "$(wakes "$TMP/verify.conf" "$TMP/request.wav")" ] ||
    fail "verify: woke without a neural proposal: $(cat "$TMP/out")"
[ "$(wakes "$TMP/verify.conf" "$TMP/phrase-beep.wav")" = neural ] ||
    fail "verify: the phrase with the tone did not wake: $(cat "$TMP/out" "$TMP/err")"
v=$(grep '"event":"wake"' "$TMP/out" | field verify)
[ -n "$v" ] || fail "verify: no second-pass score in $(cat "$TMP/out")"
echo "verify: the phrase proposed by the neural detector, second pass $v"
# either: the tone wakes by the neural detector, the spoken phrase by
# PocketSphinx.
[ "$(wakes "$TMP/either.conf" "$TMP/with-tone.wav")" = neural ] ||
    fail "either: not one neural wake on the tone: $(cat "$TMP/out")"
[ "$(wakes "$TMP/either.conf" "$TMP/request.wav")" = pocketsphinx ] ||
    fail "either: the spoken phrase did not wake PocketSphinx: $(cat "$TMP/out")"
[ "$(wakes "$TMP/neural.conf" "$TMP/phrase-beep.wav")" = neural ] || fail "neural: $(cat "$TMP/out")"
echo "combine: neural, verify and either each heard what only they hear"
# check-config --dump says which detector hears each phrase, and still
# reads back; a neural-only phrase need not be in PocketSphinx's dictionary.
printf '[wakeword]\nphrases = hey computer, tone\nmodel = hc-tone.hwm\ncombine = either\n' >"$TMP/dump.conf"
"$HARK" check-config --dump "$TMP/dump.conf" >"$TMP/dump" 2>"$TMP/err" || fail "check-config: $(cat "$TMP/err")"
grep -q "^; hey computer: neural ($TMP/hc-tone.hwm, threshold 0.5, the model's own) or pocketsphinx (threshold 1e-40, second pass at -0.474)$" "$TMP/dump" &&
    grep -q "^; tone: pocketsphinx (threshold 1e-40, second pass at -0.474)$" "$TMP/dump" ||
    fail "the dump does not say the detectors: $(cat "$TMP/dump")"
chmod 600 "$TMP/dump"
"$HARK" check-config "$TMP/dump" 2>"$TMP/err" || fail "the dump does not read back: $(cat "$TMP/err")"
printf '[wakeword]\nphrases = zzyzxq\nmodel = zz.hwm\n' >"$TMP/zz.conf"
"$HARK" check-config "$TMP/zz.conf" 2>"$TMP/err" || fail "a neural-only word was looked up: $(cat "$TMP/err")"
printf 'combine = verify\n' >>"$TMP/zz.conf"
! "$HARK" check-config "$TMP/zz.conf" 2>"$TMP/err" || fail "verify without the word in the dictionary"
grep -q "wake word 'zzyzxq' is not in the dictionary" "$TMP/err" || fail "unclear: $(cat "$TMP/err")"

# hark tune with a model for the phrase: the thresholds are the neural
# detector's, and --write sets neural_threshold (with combine = verify the
# phrase's cut-off too), keeping PocketSphinx's keys.
mkdir "$TMP/pos"
cp "$TMP/phrase-beep.wav" "$TMP/with-tone.wav" "$TMP/pos/"
printf '[wakeword]\nmodel = %s\nphone_loop = 1e-2\n' "$TMP/hc-tone.hwm" >"$TMP/tuned.conf"
"$HARK" tune --config "$TMP/tuned.conf" --thresholds 0.2,0.4,0.6 --jobs 1 --write "$TMP/tuned.conf" \
    --positives "$TMP/pos" --negatives "$TMP/speech.wav" --negatives "$TMP/request.wav" \
    >"$TMP/tune" 2>"$TMP/err" || fail "tune: $(cat "$TMP/err")"
cat "$TMP/tune"
grep -q "is the neural detector's ($TMP/hc-tone.hwm, combine = neural)" "$TMP/err" || fail "$(cat "$TMP/err")"
for t in 0.2 0.4 0.6; do
    grep -q "^$t  *off  *2/2 " "$TMP/tune" || fail "no row for $t finding both"
done
! grep -q "best cut-off" "$TMP/tune" || fail "a cut-off swept without a second pass"
grep -q "^neural_threshold = 0.6$" "$TMP/tuned.conf" && grep -q "^phone_loop = 1e-2$" "$TMP/tuned.conf" &&
    ! grep -q "^phrases" "$TMP/tuned.conf" || fail "tune wrote: $(cat "$TMP/tuned.conf")"
"$HARK" check-config "$TMP/tuned.conf" 2>"$TMP/err" || fail "check-config: $(cat "$TMP/err")"
printf 'combine = verify\n' >>"$TMP/tuned.conf"
"$HARK" tune --config "$TMP/tuned.conf" --thresholds 0.5 --jobs 1 --write "$TMP/tuned.conf" \
    --positives "$TMP/pos/phrase-beep.wav" --negatives "$TMP/speech.wav" >"$TMP/tune" 2>"$TMP/err" ||
    fail "tune: $(cat "$TMP/err")"
cat "$TMP/tune" "$TMP/tuned.conf"
grep -q "^0.5  *-\{0,1\}[0-9.]*  *1/1 .*(best cut-off within the target)" "$TMP/tune" || fail "no cut-off swept"
grep -q "^neural_threshold = 0.5$" "$TMP/tuned.conf" &&
    grep -Eq "^phrases = hey computer/1e-40/-?[0-9.]+$" "$TMP/tuned.conf" || fail "tune wrote: $(cat "$TMP/tuned.conf")"
[ "$(grep -c "^neural_threshold" "$TMP/tuned.conf")" -eq 1 ] || fail "neural_threshold twice"
"$HARK" check-config "$TMP/tuned.conf" 2>"$TMP/err" || fail "check-config: $(cat "$TMP/err")"
! "$HARK" tune --config "$TMP/tuned.conf" --thresholds 2 --positives "$TMP/pos" \
    --negatives "$TMP/speech.wav" >/dev/null 2>"$TMP/err" || fail "tune took a threshold of 2 for the model"
grep -q "thresholds are its scores, between 0 and 1 (2 is not)" "$TMP/err" || fail "unclear: $(cat "$TMP/err")"
# A PocketSphinx threshold (1e-50 is 0 as the detector's float): refused as
# clearly, not as a detector that cannot be set up.
! "$HARK" tune --config "$TMP/tuned.conf" --thresholds 1e-50 --positives "$TMP/pos" \
    --negatives "$TMP/speech.wav" >/dev/null 2>"$TMP/err" || fail "tune took a threshold of 1e-50 for the model"
grep -q "thresholds are its scores, between 0 and 1 (1e-50 is not)" "$TMP/err" ||
    fail "unclear: $(cat "$TMP/err")"

# Refusals at start, naming the file.
printf '[wakeword]\nphrases = tone\nmodel = %s\n' "$TMP/damaged.hwm" >"$TMP/bad.conf"
! "$HARK" listen --config "$TMP/bad.conf" --input "$TMP/speech.wav" >/dev/null 2>"$TMP/err" \
    </dev/null || fail "a damaged model was taken"
grep -q "damaged.hwm: checksum mismatch" "$TMP/err" || fail "unclear message: $(cat "$TMP/err")"
printf '[wakeword]\nmodel = %s\n' "$TMP/tone.hwm" >"$TMP/other.conf"
! "$HARK" listen --config "$TMP/other.conf" --input "$TMP/speech.wav" >/dev/null 2>"$TMP/err" \
    </dev/null || fail "a model for a phrase that is not configured was taken"
grep -q "tone.hwm: the model's phrase \"tone\" is not one of" "$TMP/err" ||
    fail "unclear message: $(cat "$TMP/err")"
echo "ok"
