# A real sound server for the live capture tests: a private PulseAudio daemon
# for this test only, with a null sink whose monitor is the default source,
# reached by PortAudio through ALSA's pulse plugin. Sourced (it sources lib.sh;
# after cloud-lib.sh when both are used). Its socket, runtime and state
# directories, the client config and the ALSA config all live in $TMP, so
# tests run in parallel without sharing a daemon, as root (CI) or not, and
# without any system-wide sound setup. KEEP_TMP=1 keeps $TMP (pulse.log).
. "$(dirname "$0")/lib.sh"
command -v pulseaudio >/dev/null || fail "pulseaudio (Debian package pulseaudio) is missing"
command -v paplay >/dev/null || fail "paplay (Debian package pulseaudio-utils) is missing"
[ -n "$(find /usr/lib -name libasound_module_pcm_pulse.so 2>/dev/null | head -1)" ] ||
    fail "ALSA's pulse plugin (Debian package libasound2-plugins) is missing"

PULSE_PID=""
# The test's hark in the background, if any: killed on exit too.
HARK_PID=""
PLAY_PID=""
PULSE_RATE=44100
PULSE_DIR="$TMP/pulse"

# Everything that talks to a sound server from here on (hark, paplay, pactl)
# finds ours and only ours: no session bus, no X11, no autospawn of a daemon
# with the user's configuration, and HOME is the test's own.
mkdir -p "$TMP/home" "$PULSE_DIR/state"
mkdir -p -m 700 "$PULSE_DIR/run"
export HOME="$TMP/home"
export XDG_CONFIG_HOME="$TMP/home/.config"
export XDG_RUNTIME_DIR="$PULSE_DIR/run"
export PULSE_RUNTIME_PATH="$PULSE_DIR/run/pulse"
export PULSE_STATE_PATH="$PULSE_DIR/state"
export PULSE_SERVER="unix:$PULSE_DIR/run/pulse/native"
export PULSE_CLIENTCONFIG="$PULSE_DIR/client.conf"
unset DBUS_SESSION_BUS_ADDRESS DISPLAY WAYLAND_DISPLAY PULSE_SINK PULSE_SOURCE
printf 'autospawn = no\n' >"$PULSE_CLIENTCONFIG"
cat >"$HOME/.asoundrc" <<'ASOUNDRC'
pcm.!default { type pulse }
ctl.!default { type pulse }
ASOUNDRC

pulse_cleanup() {
    [ -z "$PLAY_PID" ] || kill -KILL "$PLAY_PID" 2>/dev/null || true
    if [ -n "$HARK_PID" ]; then
        kill -KILL "$HARK_PID" 2>/dev/null || true
        wait "$HARK_PID" 2>/dev/null || true
    fi
    if [ -n "$PULSE_PID" ]; then
        kill -KILL "$PULSE_PID" 2>/dev/null || true
        wait "$PULSE_PID" 2>/dev/null || true
        PULSE_PID=""
    fi
    if command -v cloud_cleanup >/dev/null; then
        cloud_cleanup
    else
        [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
    fi
}
trap pulse_cleanup EXIT

# start_pulse [RATE]: starts the daemon (again, after stop_pulse: same
# socket, and the rate of the last start unless given) with the null sink
# "virt" at RATE Hz (default 44100), stereo, and its monitor as the default
# source; returns once it answers.
start_pulse() {
    PULSE_RATE=${1:-$PULSE_RATE}
    [ -z "$PULSE_PID" ] || fail "start_pulse: the daemon is already running"
    cat >"$PULSE_DIR/hark-test.pa" <<PA
load-module module-native-protocol-unix socket=$PULSE_DIR/run/pulse/native auth-anonymous=1
load-module module-null-sink sink_name=virt rate=$PULSE_RATE channels=2 format=s16le
set-default-sink virt
set-default-source virt.monitor
PA
    # -n: none of the system's default.pa; no real-time or D-Bus helpers.
    pulseaudio -n -F "$PULSE_DIR/hark-test.pa" --daemonize=no --system=no \
        --exit-idle-time=-1 --realtime=no --high-priority=no \
        --use-pid-file=no --log-target=stderr --log-level=notice \
        >>"$PULSE_DIR/pulse.log" 2>&1 3>&- 4>&- &
    PULSE_PID=$!
    i=0
    until pactl info >/dev/null 2>&1; do
        i=$((i + 1))
        kill -0 "$PULSE_PID" 2>/dev/null || {
            PULSE_PID=""
            fail "pulseaudio exited: $(tail -5 "$PULSE_DIR/pulse.log")"
        }
        [ "$i" -lt 100 ] || fail "pulseaudio did not answer in 10 s: $(tail -5 "$PULSE_DIR/pulse.log")"
        sleep 0.1
    done
    pactl info | grep -q "^Default Source: virt.monitor" || fail "virt.monitor is not the default source"
}

# stop_pulse [SIGNAL]: stops the daemon (TERM; KILL to make it crash).
stop_pulse() {
    [ -n "$PULSE_PID" ] || return 0
    kill "-${1:-TERM}" "$PULSE_PID" 2>/dev/null || true
    wait "$PULSE_PID" 2>/dev/null || true
    PULSE_PID=""
}

# play_into_mic FILE: plays FILE into the null sink (so the default source
# hears it) and returns when it has been played: about 2 s after its end, as
# paplay waits for the null sink to drain.
play_into_mic() {
    paplay -d virt "$1" 2>>"$PULSE_DIR/paplay.err" || fail "paplay $1: $(cat "$PULSE_DIR/paplay.err")"
}

# start_playing FILE: the same in the background (PLAY_PID), for a test that
# waits for hark's events instead; wait_playing checks that it worked.
start_playing() {
    paplay -d virt "$1" 2>>"$PULSE_DIR/paplay.err" &
    PLAY_PID=$!
}

wait_playing() {
    [ -n "$PLAY_PID" ] || return 0
    wait "$PLAY_PID" || fail "paplay: $(cat "$PULSE_DIR/paplay.err")"
    PLAY_PID=""
}

# wait_for FILE PATTERN SECONDS [COUNT]: waits until COUNT (default 1)
# lines of FILE match PATTERN (grep -E); fails after SECONDS, showing FILE.
wait_for() {
    i=0
    until [ "$(cat "$1" 2>/dev/null | grep -Ec "$2")" -ge "${4:-1}" ]; do
        i=$((i + 1))
        [ "$i" -le "$(($3 * 10))" ] || fail "no '$2' in $1 within $3 s: $(cat "$1" 2>/dev/null)"
        sleep 0.1
    done
}

# stop_hark: SIGTERM to $HARK_PID; fails unless it exits 0 within 5 s.
# Sets HARK_STOP_S to how long it took.
stop_hark() {
    t0=$(date +%s.%N)
    kill -TERM "$HARK_PID"
    i=0
    while kill -0 "$HARK_PID" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le 50 ] || fail "hark did not exit within 5 s of SIGTERM"
        sleep 0.1
    done
    rc=0
    wait "$HARK_PID" || rc=$?
    HARK_PID=""
    HARK_STOP_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
    [ "$rc" -eq 0 ] || fail "hark exited $rc after SIGTERM"
}
