# Helpers for the end-to-end tests against hark-devcloud on loopback: sourced
# (it sources lib.sh). Every server is started here on 127.0.0.1 and stopped
# on exit, and so is the test's hark in the background ($HARK_PID), if any.
# KEEP_TMP=1 keeps the test's temporary directory, to look at after a failure.
. "$(dirname "$0")/lib.sh"
DEVCLOUD_PID=""
HARK_PID=""
cloud_cleanup() {
    if [ -n "$HARK_PID" ]; then
        kill "$HARK_PID" 2>/dev/null || true
    fi
    if [ -n "$DEVCLOUD_PID" ]; then
        kill -TERM "$DEVCLOUD_PID" 2>/dev/null || true
        wait "$DEVCLOUD_PID" 2>/dev/null || true
    fi
    [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cloud_cleanup EXIT

# wait_out PATTERN COUNT SECONDS: until $TMP/out (hark's events) has COUNT
# lines matching; fails after SECONDS showing hark's output ($MODE, when
# set, names the case).
wait_out() {
    i=0
    while [ "$(grep -c -- "$1" "$TMP/out" || true)" -lt "$2" ]; do
        i=$((i + 1))
        [ "$i" -le $(($3 * 10)) ] ||
            fail "${MODE:+$MODE: }no $2 x '$1' within $3 s: $(cat "$TMP/out" "$TMP/err")"
        sleep 0.1
    done
}

# start_devcloud [PORT [OPTION...]]: starts hark-devcloud with its state in
# $TMP/cloud and any further options; sets DEVCLOUD_PORT and DEVCLOUD_PIN.
# PORT 0 (default) picks a free one.
start_devcloud() {
    mkdir -p "$TMP/cloud"
    rm -f "$TMP/cloud.port"
    port_arg=${1:-0}
    [ "$#" -eq 0 ] || shift
    "$DEVCLOUD" --state "$TMP/cloud" --listen 127.0.0.1 --port "$port_arg" \
        --port-file "$TMP/cloud.port" --stats "$TMP/cloud.stats" "$@" \
        >"$TMP/cloud.out" 2>>"$TMP/cloud.err" 3>&- 4>&- &
    DEVCLOUD_PID=$!
    i=0
    while [ ! -s "$TMP/cloud.port" ]; do
        i=$((i + 1))
        [ "$i" -lt 300 ] || fail "hark-devcloud did not start: $(cat "$TMP/cloud.err")"
        kill -0 "$DEVCLOUD_PID" 2>/dev/null || fail "hark-devcloud exited: $(cat "$TMP/cloud.err")"
        sleep 0.1
    done
    DEVCLOUD_PORT=$(cat "$TMP/cloud.port")
    DEVCLOUD_PIN=$(sed -n 's/^pin \(sha256\/[A-Za-z0-9+\/=]*\).*/\1/p' "$TMP/cloud.out" | head -1)
    [ -n "$DEVCLOUD_PIN" ] || fail "hark-devcloud printed no pin: $(cat "$TMP/cloud.out")"
}

stop_devcloud() {
    kill -TERM "$DEVCLOUD_PID"
    wait "$DEVCLOUD_PID" || true
    DEVCLOUD_PID=""
}

# cloud_stat NAME: a counter from the devcloud's --stats file (after stop_devcloud).
cloud_stat() {
    sed -n "s/.*\"$1\": *\([0-9]*\).*/\1/p" "$TMP/cloud.stats"
}

# write_config URL PINS: $TMP/hark.conf for the device in $TMP/device, with
# its control socket in $TMP/run (tests run in parallel: each its own).
write_config() {
    cat >"$TMP/hark.conf" <<CONF
[cloud]
url = $1
pins = $2
[storage]
dir = $TMP/device
[control]
socket = $TMP/run/control
CONF
}

# provision_device [register]: makes the device identity; registers it with
# the running devcloud unless told "no".
provision_device() {
    write_config "wss://127.0.0.1:${DEVCLOUD_PORT:-1}/v1/assist" "${DEVCLOUD_PIN:-}"
    DEVICE_FP=$("$HARK" provision --config "$TMP/hark.conf" 2>>"$TMP/provision.err") ||
        fail "provision: $(cat "$TMP/provision.err")"
    if [ "${1:-register}" = register ]; then
        "$DEVCLOUD" register --state "$TMP/cloud" "$DEVICE_FP" >/dev/null 2>>"$TMP/cloud.err" ||
            fail "register: $(cat "$TMP/cloud.err")"
    fi
}

# start_cloud_device [PORT [OPTION...]]: start_devcloud, then a device
# registered with it (provision_device): the start of most end-to-end tests.
start_cloud_device() {
    start_devcloud "$@"
    provision_device
}
