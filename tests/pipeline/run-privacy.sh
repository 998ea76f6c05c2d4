#!/bin/sh
# The privacy policy end to end through hark-devcloud: a banking request that
# carries a canary account number and a weather request in one recording. With
# the default rules the banking request is dropped: the canary is in no byte
# under the storage directory and nowhere in hark's stdout and stderr at the
# most verbose log level, while the weather request is in `history list`.
# Then the same recording with the rules changed: redact keeps the request
# with the number replaced; allow keeps the canary (so the checks above can
# see it when it is there); wipe leaves no history or key file.
# usage: run-privacy.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

CANARY_WORDS="four seven one one nine two three eight"
CANARY_DIGITS="47119238"

# weather, 2 s, banking with the canary, 1.5 s
sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
say rms "hey computer, transfer one hundred pounds to account number four seven one one, nine two three eight." "$TMP/bank.wav"
silence 2 "$TMP/gap.wav"
silence 1.5 "$TMP/tail.wav"
sox -D "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/bank.wav" "$TMP/tail.wav" "$TMP/input.wav"

# no_canary FILE...: fails if any file holds the canary, in words or digits
# (spaced or not), or a word of the dropped request or of its answer.
no_canary() {
    for f in "$@"; do
        if grep -a -i -q -e "$CANARY_WORDS" -e "$CANARY_DIGITS" -e "4 7 1 1 9 2 3 8" \
            -e "nine two three eight" -e transfer -e "hundred pounds" "$f"; then
            fail "$f holds words of the dropped request: $(grep -a -i -o -e transfer -e "$CANARY_WORDS" -e "nine two three eight" "$f" | head -3)"
        fi
    done
}

# run_input NAME [PRIVACY_KEY_LINE...]: hark -vv run on the recording with a
# [privacy] section of the given lines; stdout in $TMP/NAME.out, stderr in
# $TMP/NAME.err.
run_input() {
    name=$1
    shift
    write_config "wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist" "$DEVCLOUD_PIN"
    echo "[privacy]" >>"$TMP/hark.conf"
    for line in "$@"; do
        echo "$line" >>"$TMP/hark.conf"
    done
    "$HARK" -vv run --config "$TMP/hark.conf" --input "$TMP/input.wav" --output "$TMP/$name.wav" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" || fail "$name: run exited non-zero: $(cat "$TMP/$name.err")"
}

start_cloud_device 0 -v

# 1. The defaults: banking.* is dropped.
run_input default
cat "$TMP/default.out"
# The control: the cloud heard the canary, so hark had it in hand.
grep -q "$CANARY_WORDS" "$TMP/cloud.err" ||
    fail "hark-devcloud did not transcribe the canary: $(grep -i transcript "$TMP/cloud.err")"
[ "$(grep -c '"event":"wake"' "$TMP/default.out")" -eq 2 ] || fail "expected two wakes"
grep '"event":"policy"' "$TMP/default.out" | grep '"action":"drop"' |
    grep -q '"rule":"drop_intents banking.\*"' || fail "no drop decision for the banking request"
grep '"event":"transcript"' "$TMP/default.out" | grep -q weather || fail "the weather transcript is not shown"
[ "$(grep -c '"event":"transcript"' "$TMP/default.out")" -eq 1 ] || fail "a dropped transcript was shown"
[ "$(grep -c '"event":"remembered"' "$TMP/default.out")" -eq 1 ] || fail "expected one request remembered"
grep -q "policy drop" "$TMP/default.err" ||
    fail "stderr is not at the verbose level: $(head -3 "$TMP/default.err")"
no_canary "$TMP/default.out" "$TMP/default.err"
find "$TMP/device" -type f | while read -r f; do no_canary "$f"; done
"$HARK" history --config "$TMP/hark.conf" list >"$TMP/list" 2>"$TMP/list.err" ||
    fail "history list: $(cat "$TMP/list.err")"
cat "$TMP/list"
grep -q weather "$TMP/list" || fail "the weather request is not in the history"
[ "$(grep -c . "$TMP/list")" -eq 2 ] || fail "expected a header and one request in the history"
"$HARK" history --config "$TMP/hark.conf" export --json >"$TMP/export.json" ||
    fail "history export failed"
no_canary "$TMP/list" "$TMP/list.err" "$TMP/export.json"
grep -q '"intent":[[:space:]]*"weather"' "$TMP/export.json" || fail "export lacks the weather request"
# No audio was kept (debug_recording is off by default).
grep -q '"audio":[[:space:]]*false' "$TMP/export.json" || fail "the request says it kept audio"
! grep -q '"audio":[[:space:]]*true' "$TMP/export.json" || fail "audio was kept"

# 2. Redact instead (banking.* out of drop_intents, into redact_intents): the
# banking request is kept with the number replaced.
"$HARK" history --config "$TMP/hark.conf" wipe --yes 2>/dev/null || fail "wipe failed"
run_input redact "drop_intents =" "redact_intents = banking.*"
grep '"event":"policy"' "$TMP/redact.out" | grep -q '"action":"redact","rule":"redact_intents banking.\*"' ||
    fail "no redact decision: $(grep policy "$TMP/redact.out")"
grep '"event":"transcript"' "$TMP/redact.out" | grep -q 'account number \[number\]' ||
    fail "the shown transcript is not redacted: $(grep transcript "$TMP/redact.out")"
"$HARK" history --config "$TMP/hark.conf" export --json >"$TMP/export.json" || fail "export failed"
grep -q 'account number \[number\]' "$TMP/export.json" || fail "the stored transcript is not redacted"
for f in "$TMP/redact.out" "$TMP/redact.err" "$TMP/export.json"; do
    ! grep -a -q -e "$CANARY_WORDS" -e "nine two three eight" "$f" || fail "$f holds the canary"
done

# 3. Allow: now the canary is stored, and the checks find it.
"$HARK" history --config "$TMP/hark.conf" wipe --yes 2>/dev/null || fail "wipe failed"
run_input allow "drop_intents =" "allow_intents = banking.*"
"$HARK" history --config "$TMP/hark.conf" export --json >"$TMP/export.json" || fail "export failed"
grep -q "$CANARY_WORDS" "$TMP/export.json" || fail "an allowed request was not stored as it was"
if (no_canary "$TMP/export.json") 2>/dev/null; then
    fail "the canary check does not see the canary"
fi

# 4. Wipe: no history or key file is left; the device identity stays.
"$HARK" history --config "$TMP/hark.conf" wipe 2>"$TMP/wipe.err" && fail "wipe without --yes went ahead"
grep -q -- "--yes" "$TMP/wipe.err" || fail "wipe without --yes does not say how to confirm"
"$HARK" history --config "$TMP/hark.conf" wipe --yes 2>"$TMP/wipe.err" || fail "wipe: $(cat "$TMP/wipe.err")"
left=$(ls "$TMP/device" | grep -i history || true)
[ -z "$left" ] || fail "wipe left: $left"
[ -f "$TMP/device/device.key" ] || fail "wipe removed the device identity"
"$HARK" history --config "$TMP/hark.conf" list >"$TMP/list" || fail "list after wipe failed"
[ "$(grep -c . "$TMP/list")" -le 1 ] || fail "list after wipe shows records"
stop_devcloud
echo "ok"
