#!/bin/sh
# End of speech through `hark listen` on synthesized requests: each reason
# (silence, no_speech, max_length), and the first words after the phrase kept.
# usage: listen-endpoint.sh HARK
HARK=$1
. "$(dirname "$0")/lib.sh"

# A request, then quiet: ends on silence, 0.7 s after the last word.
say slt "hey computer" "$TMP/phrase.wav"
say slt "what is the weather like in paris today" "$TMP/question.wav"
silence 1.0 "$TMP/s1.wav"
silence 0.4 "$TMP/s04.wav"
silence 3.0 "$TMP/s3.wav"
sox "$TMP/s1.wav" "$TMP/phrase.wav" "$TMP/s04.wav" "$TMP/question.wav" "$TMP/s3.wav" "$TMP/req.wav"
q_end=$(soxi -D "$TMP/s1.wav" "$TMP/phrase.wav" "$TMP/s04.wav" "$TMP/question.wav" | awk '{ s += $1 } END { print s }')
"$HARK" -v listen --input "$TMP/req.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen exited non-zero: $(cat "$TMP/err")"
cat "$TMP/out" "$TMP/err"
[ "$(grep -c '"event":"wake"' "$TMP/out")" -eq 1 ] || fail "expected one wake"
[ "$(grep '"event":"utterance_end"' "$TMP/out" | field reason)" = silence ] || fail "expected reason silence"
end=$(grep '"event":"utterance_end"' "$TMP/out" | field t)
# flite ends words with a little quiet of its own; allow for it.
approx "$end" "$(awk -v q="$q_end" 'BEGIN { print q + 0.7 }')" 0.35 || fail "silence end at $end, speech ended at $q_end"
# The request's audio starts 500 ms before the phrase (which starts at 1 s,
# give or take flite's own lead-in) and runs to the end.
phrase_start=$(sed -n 's/.*phrase from \([0-9.]*\) s.*/\1/p' "$TMP/err")
approx "$phrase_start" 1.05 0.2 || fail "phrase start estimated at $phrase_start s, it is at 1 s"
audio=$(sed -n 's/.*: \([0-9.]*\) s of audio from the pre-roll on.*/\1/p' "$TMP/err")
approx "$audio" "$(awk -v e="$end" -v p="$phrase_start" 'BEGIN { print e - p + 0.5 }')" 0.03 \
    || fail "request audio $audio s does not run from 0.5 s before the phrase to the end"

# The phrase and nothing after it: no_speech, 5 s after the wake.
silence 8.0 "$TMP/s8.wav"
sox "$TMP/s1.wav" "$TMP/phrase.wav" "$TMP/s8.wav" "$TMP/nospeech.wav"
"$HARK" listen --input "$TMP/nospeech.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen: $(cat "$TMP/err")"
cat "$TMP/out"
wake=$(grep '"event":"wake"' "$TMP/out" | field t)
[ -n "$wake" ] || fail "no wake in the no-speech recording"
[ "$(grep '"event":"utterance_end"' "$TMP/out" | field reason)" = no_speech ] || fail "expected no_speech"
approx "$(grep '"event":"utterance_end"' "$TMP/out" | field duration_s)" 5.0 0.05 || fail "no_speech not 5 s after the wake"

# Talking on without a pause: cut at max_length (10 s).
say rms "my list for the week is long and I will read it all to you now: apples and pears and bread and milk and cheese and butter and eggs and fish and rice and beans and tea and coffee and sugar and salt and pepper and oil and flour and soap and paper and candles and matches and string and tape and glue and nails and screws and a hammer and a saw" "$TMP/long.wav"
sox "$TMP/s1.wav" "$TMP/phrase.wav" "$TMP/long.wav" "$TMP/s3.wav" "$TMP/maxlen.wav"
"$HARK" listen --input "$TMP/maxlen.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen: $(cat "$TMP/err")"
cat "$TMP/out"
[ "$(grep '"event":"utterance_end"' "$TMP/out" | field reason)" = max_length ] || fail "expected max_length"
approx "$(grep '"event":"utterance_end"' "$TMP/out" | field duration_s)" 10.0 0.05 || fail "max_length not at 10 s"

# The question follows the phrase without a pause: it is heard (silence, not
# no_speech), and the request lasts until after the question.
say rms "hey computer what time is it in tokyo" "$TMP/together.wav"
sox "$TMP/s1.wav" "$TMP/together.wav" "$TMP/s3.wav" "$TMP/nopause.wav"
"$HARK" listen --input "$TMP/nopause.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen: $(cat "$TMP/err")"
cat "$TMP/out"
[ "$(grep '"event":"utterance_end"' "$TMP/out" | field reason)" = silence ] || fail "first words lost: expected silence"
speech_end=$(soxi -D "$TMP/s1.wav" "$TMP/together.wav" | awk '{ s += $1 } END { print s }')
ge "$(grep '"event":"utterance_end"' "$TMP/out" | field t)" "$speech_end" || fail "request ended before the question did"

# A recording that ends mid-request still ends the request.
sox "$TMP/s1.wav" "$TMP/phrase.wav" "$TMP/s04.wav" "$TMP/question.wav" "$TMP/cut.wav"
"$HARK" listen --input "$TMP/cut.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen: $(cat "$TMP/err")"
[ "$(grep -c '"event":"utterance_end"' "$TMP/out")" -eq 1 ] || fail "request not ended at the end of input"
# Two wake phrases, one with its own threshold: each wakes, named.
say rms "hello there. okay speaker, play some music." "$TMP/speaker.wav"
sox "$TMP/s1.wav" "$TMP/speaker.wav" "$TMP/s3.wav" "$TMP/req.wav" "$TMP/s3.wav" "$TMP/two.wav"
printf '[wakeword]\nphrases = hey computer, okay speaker/1e-25\n' >"$TMP/two.conf"
"$HARK" listen --config "$TMP/two.conf" --input "$TMP/two.wav" >"$TMP/out" 2>"$TMP/err" || fail "listen: $(cat "$TMP/err")"
cat "$TMP/out"
[ "$(grep '"event":"wake"' "$TMP/out" | field phrase | tr '\n' ,)" = "okay speaker,hey computer," ] ||
    fail "expected wakes on both phrases, in order"
echo "ok"
