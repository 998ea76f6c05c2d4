#!/bin/sh
# `hark history` on what `hark run` remembered through hark-devcloud: show,
# delete, delete --last, verify, a debug recording and its audio, retention of
# a few seconds, history = off, and a key file others can read.
# usage: run-history.sh HARK DEVCLOUD SAMPLES_DIR
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
. "$(dirname "$0")/cloud-lib.sh"

# Two weather requests and a timer in one recording.
sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
sox "$SAMPLES/timer.flac" -r 16000 -c 1 -b 16 "$TMP/timer.wav"
silence 1.5 "$TMP/gap.wav"
sox -D "$TMP/weather.wav" "$TMP/gap.wav" "$TMP/timer.wav" "$TMP/gap.wav" "$TMP/weather.wav" \
    "$TMP/gap.wav" "$TMP/input.wav"

# config PRIVACY_LINE...: $TMP/hark.conf with these [privacy] lines.
config() {
    write_config "wss://127.0.0.1:$DEVCLOUD_PORT/v1/assist" "$DEVCLOUD_PIN"
    echo "[privacy]" >>"$TMP/hark.conf"
    for line in "$@"; do
        echo "$line" >>"$TMP/hark.conf"
    done
}

# run_input [RECORDING]: default, the three requests.
run_input() {
    "$HARK" run --config "$TMP/hark.conf" --input "${1:-$TMP/input.wav}" --output "$TMP/answer.wav" \
        >"$TMP/out" 2>"$TMP/err" || fail "run exited non-zero: $(cat "$TMP/err")"
}

history() {
    "$HARK" history --config "$TMP/hark.conf" "$@"
}

# ids: the ids in `history list --json`, one line.
ids() {
    history list --json | field id | tr '\n' ' '
}

start_cloud_device

# Three requests remembered, in order, each with its recording.
config "debug_recording = on"
run_input
[ "$(grep -c '"event":"remembered"' "$TMP/out")" -eq 3 ] || fail "expected 3 requests remembered: $(cat "$TMP/out")"
grep '"event":"remembered"' "$TMP/out" | grep -q '"audio":true' || fail "no recording kept"
history list >"$TMP/list" || fail "list failed"
cat "$TMP/list"
set -- $(ids)
[ "$#" -eq 3 ] || fail "list shows $# requests, not 3"
first=$1 second=$2 third=$3
history list --json | sed -n 2p | grep -q '"intent":"timer"' || fail "the second request is not the timer"
history show "$second" >"$TMP/show" || fail "show failed"
cat "$TMP/show"
grep -q "^intent: *timer" "$TMP/show" || fail "show: not the timer"
grep -q "^transcript: .*timer" "$TMP/show" || fail "show: no transcript"
grep -q "^recording: " "$TMP/show" || fail "show: no recording"
# The recording is the request's audio: a second or more, 0600.
history audio "$second" "$TMP/rec.wav" || fail "audio failed"
ge "$(soxi -D "$TMP/rec.wav")" 1.0 || fail "recording too short: $(soxi -D "$TMP/rec.wav") s"
[ "$(stat -c %a "$TMP/rec.wav")" = 600 ] || fail "the recording is not 0600"
history verify >"$TMP/verify" || fail "verify of a good history failed: $(cat "$TMP/verify")"

# A flipped byte in the first record: verify reports it and exits 1, the
# others stay readable. Then the good file goes back.
cp -p "$TMP/device/history.dat" "$TMP/good.dat"
printf 'X' | dd of="$TMP/device/history.dat" bs=1 seek=1124 conv=notrunc 2>/dev/null
history verify >"$TMP/verify" && fail "verify missed a flipped byte"
grep -q "1 modified" "$TMP/verify" || fail "verify: $(cat "$TMP/verify")"
[ "$(ids)" = "$second $third " ] || fail "with record $first damaged, list shows: $(ids)"
cp -p "$TMP/good.dat" "$TMP/device/history.dat"
history verify >/dev/null || fail "verify after restoring the file"

# delete ID and delete --last: the others stay, ids are stable.
history delete "$second" 2>/dev/null || fail "delete failed"
[ "$(ids)" = "$first $third " ] || fail "after delete: $(ids)"
history show "$second" 2>"$TMP/show.err" && fail "show of a deleted request succeeded"
grep -q "no request $second" "$TMP/show.err" || fail "show of a deleted request: $(cat "$TMP/show.err")"
history audio "$second" "$TMP/rec2.wav" 2>/dev/null && fail "the deleted request's recording is still there"
history delete --last 2>/dev/null || fail "delete --last failed"
[ "$(ids)" = "$first " ] || fail "after delete --last: $(ids)"
history delete 999999 2>"$TMP/del.err" && fail "deleting a missing id succeeded"
history delete 12x 2>/dev/null && fail "a bad id was accepted"
history verify >"$TMP/verify" || fail "verify after deletes: $(cat "$TMP/verify")"
cat "$TMP/verify"

# A key file that others can read: run and history refuse, and say why.
chmod 644 "$TMP/device/history.key"
"$HARK" run --config "$TMP/hark.conf" --input "$TMP/input.wav" --output "$TMP/answer.wav" \
    >"$TMP/out" 2>"$TMP/err" && fail "run started with a 0644 key file"
grep -q "history.key" "$TMP/err" || fail "the refusal does not name the key file: $(cat "$TMP/err")"
grep -q "0644\|others" "$TMP/err" || fail "the refusal does not say why: $(cat "$TMP/err")"
! grep -q '"event":"wake"' "$TMP/out" || fail "run listened before refusing"
history list >/dev/null 2>&1 && fail "history list used a 0644 key file"
chmod 600 "$TMP/device/history.key"
history list >/dev/null || fail "list after chmod 600 failed"

# Retention of a few seconds: the request expires, and purge says that its
# record and its epoch's key went.
history wipe --yes 2>/dev/null
config "retention = 4s"
run_input "$TMP/weather.wav"
[ "$(ids | wc -w)" -eq 1 ] || fail "retention 4s: the request is not there right after the run"
sleep 5
history purge >"$TMP/purge" || fail "purge failed"
cat "$TMP/purge"
grep -q "^1 records expired, [1-9][0-9]* keys destroyed" "$TMP/purge" || fail "purge: $(cat "$TMP/purge")"
[ -z "$(ids)" ] || fail "records outlived a 2 s retention: $(ids)"

# history = off over an old history: hark run says so at start and how to
# wipe it, and the old records still expire: one expired before the start
# goes at once, one that expires while hark runs goes then. Nothing new is
# kept. (verify reads only: it shows what hark run left.)
history wipe --yes 2>/dev/null
config "retention = 4s"
run_input "$TMP/weather.wav"
sleep 5
config "history = off" "retention = 4s"
run_input "$TMP/weather.wav"
grep -q "history is off: nothing new is kept, but the history left in .* holds 0 record(s)" "$TMP/err" ||
    fail "history = off: no word of the old history at start: $(cat "$TMP/err")"
grep -q "hark history wipe --yes" "$TMP/err" || fail "history = off: the start-up message does not say how to wipe it"
! grep -q '"event":"remembered"' "$TMP/out" || fail "history = off remembered a request"
history verify >"$TMP/verify" || fail "verify: $(cat "$TMP/verify")"
grep -q "^0 records" "$TMP/verify" || fail "history = off: the expired record was kept: $(cat "$TMP/verify")"
# 6 s: still young when the next run starts, even on a loaded machine, and
# expired (a purge every 0.75 s) well before 12 s of quiet, read in real
# time, end.
config "retention = 6s"
run_input "$TMP/weather.wav"
config "history = off" "retention = 6s"
silence 12 "$TMP/quiet.wav"
"$HARK" run --config "$TMP/hark.conf" --input "$TMP/quiet.wav" --realtime >"$TMP/out" 2>"$TMP/err" ||
    fail "run exited non-zero: $(cat "$TMP/err")"
grep -q "holds 1 record(s)" "$TMP/err" || fail "history = off: the young record was not counted at start: $(cat "$TMP/err")"
history verify >"$TMP/verify" || fail "verify: $(cat "$TMP/verify")"
grep -q "^0 records" "$TMP/verify" || fail "history = off: a record outlived its retention while hark ran: $(cat "$TMP/verify")"

# history = off: nothing is written at all, not even the files.
history wipe --yes 2>/dev/null
config "history = off"
run_input
! grep -q '"event":"remembered"' "$TMP/out" || fail "history = off remembered a request"
left=$(ls "$TMP/device" | grep -i history || true)
[ -z "$left" ] || fail "history = off wrote: $left"
stop_devcloud
echo "ok"
