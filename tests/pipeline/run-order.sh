#!/bin/sh
# The privacy policy against a cloud that orders its messages to defeat it
# (hark-devcloud --misbehave, answer modes): the intent before the
# transcript, a second transcript after the intent, a second (sensitive)
# intent, messages after response_end, an error whose text holds the
# secret, and slots that hold an address and a code. Six requests in one
# recording, one mode each. Nothing of a request is shown before it has
# ended; the decision weighs every message, the strictest rule wins; the
# secret reaches no event, no log line at -vv, no history record, and no
# answer in --output; the request that failed makes hark exit 3.
# usage: run-order.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

MODES="intent-first,late-transcript,second-intent,after-end,error-text,secret-slots"

# secrets FILE...: fails if a file holds any of the secrets the cloud slips in.
secrets() {
    for f in "$@"; do
        if grep -a -i -q -e "four nine two seven" -e "4927" -e "45327719" -e "pin for my card" \
            -e "jane" -e "example dot com" -e "is locked" "$f"; then
            fail "$f holds a secret: $(grep -a -i -o -e "four nine two seven" -e 45327719 \
                -e "pin for my card" -e jane -e "example dot com" -e "is locked" "$f" | head -3)"
        fi
    done
}

# ev ID EVENT: the events EVENT of request ID.
ev() {
    grep "\"event\":\"$2\"" "$TMP/out" | grep "\"id\":$1[,}]" || true
}

sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
silence 2 "$TMP/gap.wav"
sox -D "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/weather.wav" \
    "$TMP/gap.wav" "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/weather.wav" "$TMP/gap.wav" \
    "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/input.wav"

start_cloud_device 0 -v --misbehave "$MODES"
status=0
"$HARK" -vv run --config "$TMP/hark.conf" --input "$TMP/input.wav" --output "$TMP/answers.wav" \
    >"$TMP/out" 2>"$TMP/err" || status=$?
cat "$TMP/out"
stop_devcloud
for m in intent-first late-transcript second-intent after-end error-text secret-slots; do
    grep -q "misbehaving ($m)" "$TMP/cloud.err" || fail "the cloud did not misbehave ($m): $(cat "$TMP/cloud.err")"
done
[ "$(grep -c '"event":"wake"' "$TMP/out")" -eq 6 ] || fail "expected six wakes"

# Every secret stays out of everything hark wrote (stderr is at -vv).
secrets "$TMP/out" "$TMP/err"
find "$TMP/device" -type f | while read -r f; do secrets "$f"; done

# Nothing of a request is shown before its end: the policy event comes after
# the last message of the cloud, so it follows response_end's predecessor
# only; here: no transcript, intent or response before the policy event.
awk '/"event":"policy"/ { decided[$0 ~ /"id":[0-9]+/ ? substr($0, index($0, "\"id\":")) : ""] = 1 }
     /"event":"(transcript|intent|response)"/ { id = substr($0, index($0, "\"id\":")); sub(/,.*/, "", id)
         found = 0; for (k in decided) { kk = k; sub(/,.*/, "", kk); if (kk == id) found = 1 }
         if (!found) { print "shown before the policy: " $0; bad = 1 } }
     END { exit bad }' "$TMP/out" || fail "words shown before the decision"

# 1-3: dropped, whatever the order.
for id in 1 2 3; do
    ev $id policy | grep -q '"action":"drop"' || fail "request $id not dropped: $(ev $id policy)"
    [ -z "$(ev $id transcript)$(ev $id intent)$(ev $id response)$(ev $id remembered)" ] ||
        fail "request $id: events of a dropped request: $(grep "\"id\":$id[,}]" "$TMP/out")"
done
ev 1 policy | grep -q '"rule":"drop_words"' || fail "intent-first: $(ev 1 policy)"
ev 2 policy | grep -q '"rule":"drop_words"' || fail "late-transcript: $(ev 2 policy)"
# 4: the real answer is kept; what came after its end is not.
ev 4 remembered | grep -q . || fail "after-end: the real answer was not remembered"
ev 4 transcript | grep -q weather || fail "after-end: $(ev 4 transcript)"
[ "$(ev 4 transcript | wc -l)" -eq 1 ] || fail "after-end: more than one transcript shown"
# 5: the error is shown without its text, and nothing is kept.
ev 5 error | grep -q '"code":"locked","message":""' || fail "error-text: $(ev 5 error)"
[ -z "$(ev 5 remembered)$(ev 5 transcript)" ] || fail "error-text: shown or kept"
# 6: the address redacted, the code slot left out.
ev 6 intent | grep -q '"recipient":"' || fail "secret-slots: the recipient slot is gone: $(ev 6 intent)"
! ev 6 intent | grep -q '"code"' || fail "secret-slots: the code slot is shown: $(ev 6 intent)"
ev 6 remembered | grep -q . || fail "secret-slots: not remembered"

"$HARK" history --config "$TMP/hark.conf" export --json >"$TMP/export.json" ||
    fail "history export failed"
secrets "$TMP/export.json"
[ "$(grep -c '"policy"' "$TMP/export.json")" -eq 2 ] || fail "expected two records: $(cat "$TMP/export.json")"
! grep -q '"code"' "$TMP/export.json" || fail "the code slot was stored"

# The answers file holds the answers of the kept requests only (4 and 6).
want=$(grep '"event":"response_end"' "$TMP/out" | grep -e '"id":4,' -e '"id":6,' | field audio_s |
    awk '{ s += $1 } END { printf "%.2f", s }')
got=$(soxi -D "$TMP/answers.wav")
approx "$got" "$want" 0.05 || fail "the answers file holds $got s, the kept answers are $want s"

# One request failed (the cloud's error): exit 3.
[ "$status" -eq 3 ] || fail "hark exited $status, not 3: $(tail -3 "$TMP/err")"
echo "ok"
