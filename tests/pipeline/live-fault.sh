#!/bin/sh
# A capture device that goes away and comes back: hark listens to a private
# PulseAudio, which is killed (SIGKILL, as in a crash) once hark has heard a
# request. hark must neither crash nor exit: it reports capture_lost within a
# few seconds, retries with backoff (0.25 s doubling to 5 s) while the daemon
# is gone, reports capture_restored once it is back, and then hears the next
# request. With DEVCLOUD, hark run too: the same events (written by its loop
# thread), and a whole request against hark-devcloud after the restore.
# usage: live-fault.sh HARK SAMPLES_DIR [DEVCLOUD]
HARK=$1
SAMPLES=$2
DEVCLOUD=${3:-}
. "$(dirname "$0")/cloud-lib.sh"
. "$(dirname "$0")/pulse-lib.sh"

now() {
    date +%s.%N
}

since() {
    awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# hear_request OUT EVENT N: plays the weather request and waits for the
# N-th EVENT.
hear_request() {
    start_playing "$SAMPLES/weather.flac"
    wait_for "$1" "\"event\":\"$2\"" 30 "$3"
    wait_playing
}

# The daemon dies once hark has heard a request, so capture is running:
# PortAudio 19.6 can wedge its capture thread when a device fails before
# delivering its first period (hark then exits 1 and says so).
start_pulse 44100
# -vv: each failed reopen attempt is logged.
"$HARK" -vv listen --input mic >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
wait_for "$TMP/err" 'listening to' 10
hear_request "$TMP/out" utterance_end 1

killed=$(now)
stop_pulse KILL
wait_for "$TMP/out" '"event":"error","code":"capture_lost"' 5
echo "capture_lost $(since "$killed") s after the daemon died"
grep '"code":"capture_lost"' "$TMP/out" | grep -q '"message":"mic: .*\\"default\\"' ||
    fail "the message does not name the device: $(cat "$TMP/out")"

# Gone for 3 s: the attempts back off (after 0.25, 0.75, 1.75 s; the next
# one at 3.75 s), and hark stays up.
sleep 3
kill -0 "$HARK_PID" 2>/dev/null || fail "hark exited when the device went away: $(tail -5 "$TMP/err")"
attempts=$(grep -c 'reopen attempt' "$TMP/err" || true)
echo "$attempts failed reopen attempts in 3 s"
[ "$attempts" -ge 2 ] && [ "$attempts" -le 4 ] || fail "$attempts reopen attempts in 3 s: not a backoff"

restarted=$(now)
start_pulse
wait_for "$TMP/out" '"event":"capture_restored"' 8
echo "capture_restored $(since "$restarted") s after the daemon came back"
grep '"event":"capture_restored"' "$TMP/out" | grep -q '"device":"mic: .*\\"default\\" via ALSA' ||
    fail "capture_restored does not name the device: $(cat "$TMP/out")"
hear_request "$TMP/out" utterance_end 2
stop_hark
cat "$TMP/out"
# A request, the fault, a request, in this order.
events=$(sed -n 's/.*"event":"\([a-z_]*\)".*/\1/p' "$TMP/out" | tr '\n' ' ')
[ "$events" = "wake utterance_end error capture_restored wake utterance_end " ] ||
    fail "events: $events"
# The log (capture.c returns what happened; the command logs it once).
for line in 'mic: .*; reopening it' 'capture restored after [0-9]* attempts\{0,1\}: mic: '; do
    grep -q "$line" "$TMP/err" || fail "hark listen did not log '$line': $(cat "$TMP/err")"
done
echo "hark listen: ok"
[ -n "$DEVCLOUD" ] || exit 0

start_cloud_device
"$HARK" -v run --config "$TMP/hark.conf" --input mic >"$TMP/run.out" 2>"$TMP/run.err" &
HARK_PID=$!
wait_for "$TMP/run.out" '"event":"connected"' 15
hear_request "$TMP/run.out" response_end 1
# Not while the answer plays into the same server: hark run's playback does
# not survive that (the request would stay open, and the spotter off).
sleep 3
stop_pulse KILL
wait_for "$TMP/run.out" '"event":"error","code":"capture_lost"' 5
sleep 1
kill -0 "$HARK_PID" 2>/dev/null || fail "hark run exited when the device went away: $(tail -5 "$TMP/run.err")"
start_pulse
wait_for "$TMP/run.out" '"event":"capture_restored"' 8
hear_request "$TMP/run.out" response_end 2
stop_hark
cat "$TMP/run.out"
[ "$(grep '"event":"transcript"' "$TMP/run.out" | grep -c weather)" -eq 2 ] ||
    fail "hark run: not two weather transcripts"
[ "$(grep -c '"event":"error"' "$TMP/run.out")" -eq 1 ] || fail "hark run: not one error event"
grep '"event":"error"' "$TMP/run.out" | grep -q '"code":"capture_lost"' || fail "hark run: the error is not capture_lost"
for line in 'mic: .*; reopening it' 'capture restored after [0-9]* attempts\{0,1\}: mic: '; do
    grep -q "$line" "$TMP/run.err" || fail "hark run did not log '$line': $(cat "$TMP/run.err")"
done
echo "live-fault: ok"
