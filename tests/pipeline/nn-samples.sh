#!/bin/sh
# samples/wakeword/*.conf, the configs that hear a phrase with its shipped
# model and nothing else (`alexa.conf`: "alexa" with
# wakeword/models/alexa.hwm). Each is a valid config whose model's phrase is
# the config's phrase; through `hark listen`, the phrase said by flite's
# four voices in front of a question wakes it once each, by the neural
# detector, at that phrase; the question alone does not, nor does "hey
# computer" (hark's default phrase) in front of it.
# usage: nn-samples.sh HARK SOURCE_DIR
HARK=$1
SRC=$2
. "$(dirname "$0")/lib.sh"

confs=$(ls "$SRC"/samples/wakeword/*.conf 2>/dev/null) || fail "no samples/wakeword/*.conf"
silence 1 "$TMP/quiet.wav"
say slt "what time is it in the kitchen" "$TMP/question.wav"
sox -D "$TMP/quiet.wav" "$TMP/question.wav" "$TMP/quiet.wav" "$TMP/alone.wav"

# listen CONF AUDIO: the number of wakes, all by the neural detector.
listen() {
    "$HARK" listen --config "$1" --input "$2" >"$TMP/out" 2>"$TMP/err" </dev/null ||
        fail "listen --config $1 on $2: $(cat "$TMP/err")"
    grep '"event":"wake"' "$TMP/out" >"$TMP/wakes" || true
    ! grep -v '"detector":"neural"' "$TMP/wakes" || fail "$1: a wake not by the neural detector"
    wc -l <"$TMP/wakes"
}

for conf in $confs; do
    name=$(basename "$conf" .conf)
    phrase=$(sed -n 's/^phrases *= *//p' "$conf")
    [ -n "$phrase" ] || fail "$conf: no phrases ="
    "$HARK" check-config "$conf" >/dev/null 2>"$TMP/err" || fail "$conf: $(cat "$TMP/err")"
    model=$(sed -n 's/^model *= *//p' "$conf")
    [ -f "$(dirname "$conf")/$model" ] || fail "$conf: model $model is not there"
    [ "$model" = "../../wakeword/models/$name.hwm" ] || fail "$conf: model $model is not the shipped $name.hwm"
    for voice in slt rms awb kal16; do
        say "$voice" "$phrase" "$TMP/phrase.wav"
        sox -D "$TMP/quiet.wav" "$TMP/phrase.wav" "$TMP/question.wav" "$TMP/quiet.wav" "$TMP/req.wav"
        end=$(soxi -D "$TMP/phrase.wav")
        [ "$(listen "$conf" "$TMP/req.wav")" -eq 1 ] || fail "$name, $voice: not one wake: $(cat "$TMP/out")"
        grep -q "\"phrase\":\"$phrase\"" "$TMP/wakes" || fail "$name, $voice: another phrase: $(cat "$TMP/wakes")"
        t=$(field t <"$TMP/wakes")
        ge "$t" 1 && ge "$(awk -v e="$end" 'BEGIN { print 1 + e + 1.0 }')" "$t" ||
            fail "$name, $voice: wake at $t s, the phrase is at 1-$(awk -v e="$end" 'BEGIN { print 1 + e }') s"
    done
    [ "$(listen "$conf" "$TMP/alone.wav")" -eq 0 ] || fail "$name: woke on the question alone: $(cat "$TMP/wakes")"
    say slt "hey computer" "$TMP/phrase.wav"
    sox -D "$TMP/quiet.wav" "$TMP/phrase.wav" "$TMP/question.wav" "$TMP/quiet.wav" "$TMP/req.wav"
    [ "$(listen "$conf" "$TMP/req.wav")" -eq 0 ] || fail "$name: woke on hey computer: $(cat "$TMP/wakes")"
    echo "$name: \"$phrase\" woke it once in each of 4 voices, at the phrase; the question alone and hey computer did not"
done
