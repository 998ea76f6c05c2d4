#!/bin/sh
# hark run's states, hooks and control socket against hark-devcloud on
# loopback: the hooks see the states of one request in order; `hark ctl
# status` answers while hark runs; a mute stops the capture: a wake spoken
# while muted is not heard and no audio reaches the cloud; unmute listens
# again; a persisted mute outlives a restart. hark listens on no TCP or UDP
# socket, only on its Unix control socket. A mute is answered and applied
# at once while other clients hold the socket: some silent, one sending its
# line a byte at a time (TEST_CONTROL hold, tests/unit/test-control.c).
# usage: run-control.sh HARK DEVCLOUD SAMPLES_DIR TEST_CONTROL
HARK=$1
DEVCLOUD=$2
SAMPLES=$3
TEST_CONTROL=$4
. "$(dirname "$0")/cloud-lib.sh"

start_cloud_device
SOCK=$TMP/run/control # as write_config (cloud-lib.sh) sets it
cat >"$TMP/hook" <<'HOOK'
#!/bin/sh
echo "$1 $HARK_STATE" >>"$(dirname "$0")/states"
HOOK
chmod +x "$TMP/hook"
cat >>"$TMP/hark.conf" <<CONF
[control]
persist_mute = on
[hooks]
on_idle = $TMP/hook idle
on_listening = $TMP/hook listening
on_thinking = $TMP/hook thinking
on_speaking = $TMP/hook speaking
on_muted = $TMP/hook muted
on_error = "$TMP/hook" error
on_disconnected = $TMP/hook disconnected
CONF

# 1. One request: the hooks run in the order of the states.
"$HARK" run --config "$TMP/hark.conf" --input "$SAMPLES/weather.flac" --output "$TMP/answer.wav" \
    >"$TMP/out" 2>"$TMP/err" || fail "run exited non-zero: $(cat "$TMP/err")"
grep '"event":"state"' "$TMP/out"
states=$(grep '"event":"state"' "$TMP/out" | field state | tr '\n' ' ')
[ "$states" = "disconnected idle listening thinking speaking idle " ] || fail "states: $states"
hooked=$(cut -d' ' -f1 "$TMP/states" | tr '\n' ' ')
[ "$hooked" = "$states" ] || fail "the hooks saw '$hooked', the events '$states'"
# $HARK_STATE agrees with the argument.
awk '$1 != $2 { exit 1 }' "$TMP/states" || fail "HARK_STATE differs: $(cat "$TMP/states")"
[ ! -e "$SOCK" ] || fail "the control socket was left behind"
echo "ok: hooks"

# start_hark RECORDING: hark run on it in real time in the background, once
# it answers on its socket (the status in $TMP/status).
start_hark() {
    rm -f "$TMP/states"
    "$HARK" run --config "$TMP/hark.conf" --input "$1" --realtime \
        --output "$TMP/answer.wav" >"$TMP/out" 2>"$TMP/err" &
    HARK_PID=$!
    i=0
    until "$HARK" ctl --config "$TMP/hark.conf" status >"$TMP/status" 2>/dev/null &&
        grep -q '"connected":true' "$TMP/status"; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || fail "no status from hark: $(cat "$TMP/err")"
        sleep 0.1
    done
}

# 2. While hark runs: `hark ctl status` answers on a 0660 socket in a 0700
# directory, and hark listens on no TCP or UDP socket at all.
start_hark "$SAMPLES/weather.flac"
cat "$TMP/status"
grep -q '"muted":false' "$TMP/status" || fail "status: $(cat "$TMP/status")"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "the socket is mode $(stat -c %a "$SOCK")"
[ "$(stat -c %a "$(dirname "$SOCK")")" = 700 ] || fail "the socket's directory is not 0700"
ss -lntup >"$TMP/ss"
! grep -q "pid=$HARK_PID," "$TMP/ss" || fail "hark listens on TCP or UDP: $(grep "pid=$HARK_PID," "$TMP/ss")"
ss -lxp | grep -q "$SOCK" || fail "ss does not show the control socket"
# No core file could hold what hark has in memory.
grep -q "^Max core file size *0 *0 " "/proc/$HARK_PID/limits" ||
    fail "hark may dump core: $(grep core "/proc/$HARK_PID/limits")"
"$HARK" ctl --config "$TMP/hark.conf" frob >/dev/null 2>&1 && fail "ctl took an unknown command"
wait "$HARK_PID" || fail "run exited non-zero: $(cat "$TMP/err")"
"$HARK" ctl --config "$TMP/hark.conf" status >/dev/null 2>"$TMP/ctl.err" && fail "status without hark"
grep -q "is hark run running" "$TMP/ctl.err" || fail "ctl without hark: $(cat "$TMP/ctl.err")"
echo "ok: control socket"

# 3. Mute: 3 s of silence, then the weather request, read in real time. Muted
# at the start, hark does not hear the wake and sends nothing; the mute is
# kept (persist_mute) for the next run, which starts muted. The mute is asked
# for while slow and silent clients hold the control socket, and must not
# wait behind them.
sox "$SAMPLES/weather.flac" -r 16000 -c 1 -b 16 "$TMP/weather.wav"
silence 3 "$TMP/lead.wav"
sox -D "$TMP/lead.wav" "$TMP/weather.wav" "$TMP/late.wav"
stop_devcloud
start_devcloud "$DEVCLOUD_PORT"
start_hark "$TMP/late.wav"
"$TEST_CONTROL" hold "$SOCK" 3 &
HOLD_PID=$!
sleep 0.5
t0=$(date +%s%N)
"$HARK" ctl --config "$TMP/hark.conf" mute >"$TMP/status" || fail "ctl mute failed"
ms=$((($(date +%s%N) - t0) / 1000000))
wait "$HOLD_PID" || fail "the slow clients failed"
echo "mute answered in $ms ms behind slow and silent clients"
grep -q '"muted":true' "$TMP/status" || fail "mute: $(cat "$TMP/status")"
[ "$ms" -lt 1000 ] || fail "the mute took $ms ms behind slow and silent clients"
wait "$HARK_PID" || fail "muted run exited non-zero: $(cat "$TMP/err")"
! grep -q '"event":"wake"' "$TMP/out" || fail "a wake was heard while muted"
grep -q '"state":"muted"' "$TMP/out" || fail "no muted state event"
grep -q "^muted muted" "$TMP/states" || fail "the on_muted hook did not run: $(cat "$TMP/states")"
[ -e "$TMP/device/muted" ] || fail "the mute was not kept"
stop_devcloud
[ "$(cloud_stat audio_frames)" -eq 0 ] || fail "audio reached the cloud while muted: $(cloud_stat audio_frames) frames"

# The next run starts muted; unmuted at once, it hears the request.
start_devcloud "$DEVCLOUD_PORT"
start_hark "$TMP/late.wav"
grep -q '"muted":true' "$TMP/status" || fail "the kept mute did not hold: $(cat "$TMP/status")"
"$HARK" ctl --config "$TMP/hark.conf" unmute >"$TMP/status" || fail "ctl unmute failed"
grep -q '"muted":false' "$TMP/status" || fail "unmute: $(cat "$TMP/status")"
wait "$HARK_PID" || fail "run exited non-zero: $(cat "$TMP/err")"
grep -q "starting muted" "$TMP/err" || fail "hark did not say it starts muted"
grep -q '"event":"wake"' "$TMP/out" || fail "no wake after unmute"
grep '"event":"transcript"' "$TMP/out" | grep -q weather || fail "the request after unmute was not understood"
[ ! -e "$TMP/device/muted" ] || fail "unmute left the mute file"
stop_devcloud
[ "$(cloud_stat audio_frames)" -gt 50 ] || fail "too little audio after unmute: $(cloud_stat audio_frames)"
echo "ok: mute"
echo "ok"
