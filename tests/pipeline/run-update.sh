#!/bin/sh
# Pin rotation by a signed update pushed over the link it protects, end to
# end against hark-devcloud on loopback. Cloud A pushes an update (version 5)
# whose only pin is the key of cloud B, with new rules: hark stores it, keeps
# the connection it came on, and decides its next request by the new rules.
# From then on hark refuses A (pin mismatch; the config still names A's pin)
# and talks to B. Then B pushes a bundle signed by another key, the same
# version again, an older one and a truncated one: each is refused with an
# update_refused event, and the stored version stays 5.
# usage: run-update.sh HARK DEVCLOUD SAMPLES_DIR HARK_SIGN
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
SIGN=$4
. "$(dirname "$0")/cloud-lib.sh"

# Two clouds with their own keys; the device is registered with both.
start_devcloud
PORT=$DEVCLOUD_PORT
PIN_A=$DEVCLOUD_PIN
provision_device
stop_devcloud
mv "$TMP/cloud" "$TMP/cloud-a"
start_devcloud "$PORT"
PIN_B=$DEVCLOUD_PIN
stop_devcloud
mv "$TMP/cloud" "$TMP/cloud-b"
[ "$PIN_A" != "$PIN_B" ] || fail "the two clouds have the same key"
"$DEVCLOUD" register --state "$TMP/cloud-b" "$DEVICE_FP" >/dev/null 2>>"$TMP/cloud.err" ||
    fail "register with B: $(cat "$TMP/cloud.err")"

# use_cloud a|b [OPTION...]: starts that cloud on the port of the config.
use_cloud() {
    name=$1
    shift
    rm -rf "$TMP/cloud"
    cp -a "$TMP/cloud-$name" "$TMP/cloud"
    start_devcloud "$PORT" "$@"
}

# The release key, fixed at provisioning; the identity stays as registered.
"$SIGN" keygen "$TMP/release.sec" "$TMP/release.pub" >/dev/null 2>&1 || fail "keygen"
"$SIGN" keygen "$TMP/other.sec" "$TMP/other.pub" >/dev/null 2>&1 || fail "keygen (other)"
fp=$("$HARK" provision --config "$TMP/hark.conf" --release-key "$TMP/release.pub" 2>"$TMP/err") ||
    fail "provision --release-key: $(cat "$TMP/err")"
[ "$fp" = "$DEVICE_FP" ] || fail "the identity changed"

# The bundles. The rules drop timer requests besides the usual ones.
cat >"$TMP/rules.ini" <<RULES
[privacy]
drop_intents = banking.*, payment.*, health.*, password.*, pin.*, timer
RULES
sign_bundle() {
    name=$1
    shift
    "$SIGN" sign --out "$TMP/$name" "$@" >/dev/null 2>"$TMP/err" || fail "sign $name: $(cat "$TMP/err")"
}
sign_bundle v5 --key "$TMP/release.sec" --version 5 --pin "$PIN_B" --policy "$TMP/rules.ini"
sign_bundle v4 --key "$TMP/release.sec" --version 4 --pin "$PIN_A"
sign_bundle v6-other --key "$TMP/other.sec" --version 6 --pin "$PIN_A"
head -c 100 "$TMP/v5" >"$TMP/v5-truncated"

# Two requests in one recording: weather, then a timer.
sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
sox "$SAMPLES/timer.flac" -r 16000 -c 1 -b 16 "$TMP/timer.wav"
silence 1.5 "$TMP/gap.wav"
sox -D "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/timer.wav" "$TMP/gap.wav" "$TMP/two.wav"

# run NAME INPUT: hark -v run; stdout in $TMP/NAME.out, stderr in $TMP/NAME.err.
run() {
    set +e
    timeout 120 "$HARK" -v run --config "$TMP/hark.conf" --input "$2" --output "$TMP/$1.wav" \
        >"$TMP/$1.out" 2>"$TMP/$1.err"
    RC=$?
    set -e
}
stored_version() {
    cat "$TMP/device/update.version" 2>/dev/null || echo none
}

# 1. A pushes version 5: applied and reported; the connection and both
# requests go on; the timer request, after the update, is dropped by the
# update's rules.
use_cloud a --push-update "$TMP/v5"
run push-good "$TMP/two.wav"
[ "$RC" -eq 0 ] || fail "run with the good update: exit $RC: $(cat "$TMP/push-good.err")"
cat "$TMP/push-good.out"
grep -q '"event":"update_applied","version":5,"pins":1,"policy":true' "$TMP/push-good.out" ||
    fail "no update_applied event"
[ "$(grep -c '"event":"response_end"' "$TMP/push-good.out")" -eq 2 ] ||
    fail "the requests did not both finish on the connection that brought the update"
grep '"event":"policy"' "$TMP/push-good.out" | tail -1 | grep -q '"action":"drop","rule":"drop_intents timer"' ||
    fail "the timer request was not dropped by the update's rules"
! grep -q '"event":"transcript".*timer' "$TMP/push-good.out" || fail "the dropped request was shown"
[ "$(stored_version)" = 5 ] || fail "stored version $(stored_version), expected 5"
cmp -s "$TMP/device/update.bundle" "$TMP/v5" || fail "update.bundle is not the pushed bundle"
stop_devcloud

# 2. A again: its key is not in the pinset any more, though the config still
# names it. hark refuses it after the handshake; A lets no device in.
use_cloud a
run old-key "$SAMPLES/weather.flac"
[ "$RC" -eq 1 ] || fail "run against the old key: exit $RC: $(cat "$TMP/old-key.err")"
grep -q "pin mismatch: server 127.0.0.1:$PORT presented $PIN_A" "$TMP/old-key.err" ||
    fail "no pin mismatch for the old key: $(cat "$TMP/old-key.err")"
grep -q "update version 5 .* in force" "$TMP/old-key.err" || fail "the update in force is not named"
grep -q '"event":"disconnected","reason":"pin mismatch' "$TMP/old-key.out" || fail "no disconnected event"
! grep -q '"event":"connected"' "$TMP/old-key.out" || fail "connected to the old key"
stop_devcloud
[ "$(cloud_stat connections)" -eq 0 ] || fail "the old cloud let the device in"

# 3. B, with only the new key: connected and answered; the stored rules
# apply from the start.
use_cloud b
run new-key "$TMP/two.wav"
[ "$RC" -eq 0 ] || fail "run against the new key: exit $RC: $(cat "$TMP/new-key.err")"
grep -q '"event":"connected"' "$TMP/new-key.out" || fail "not connected to the new key"
[ "$(grep -c '"event":"response_end"' "$TMP/new-key.out")" -eq 2 ] || fail "the requests did not finish"
grep '"event":"policy"' "$TMP/new-key.out" | tail -1 | grep -q '"rule":"drop_intents timer"' ||
    fail "the stored rules did not apply at start"
stop_devcloud
[ "$(cloud_stat utterances)" -eq 2 ] || fail "the new cloud did not hear both requests"

# 4. Refused pushes: another key, a replay, an older version, truncated.
# Each is reported; the request goes on; nothing stored changes.
refused() {
    name=$1
    reason=$2
    use_cloud b --push-update "$TMP/$name"
    run "push-$name" "$SAMPLES/weather.flac"
    [ "$RC" -eq 0 ] || fail "run with $name: exit $RC: $(cat "$TMP/push-$name.err")"
    grep '"event":"update_refused"' "$TMP/push-$name.out" | grep -q -- "$reason" ||
        fail "$name: no update_refused event with '$reason': $(cat "$TMP/push-$name.out")"
    ! grep -q '"event":"update_applied"' "$TMP/push-$name.out" || fail "$name was applied"
    grep -q "update from wss://127.0.0.1:$PORT/v1/assist refused: .*$reason" "$TMP/push-$name.err" ||
        fail "$name: the refusal is not logged with the peer"
    grep -q '"event":"response_end"' "$TMP/push-$name.out" || fail "$name: the request did not finish"
    [ "$(stored_version)" = 5 ] || fail "$name changed the stored version to $(stored_version)"
    cmp -s "$TMP/device/update.bundle" "$TMP/v5" || fail "$name changed update.bundle"
    stop_devcloud
}
refused v6-other "bad signature: not signed by the release key"
refused v5 "version 5 is not newer than the applied version 5: a replay or a rollback"
refused v4 "version 4 is not newer than the applied version 5"
refused v5-truncated "truncated"
echo "ok"
