#!/bin/sh
# The README's demo command: installs what is missing, builds hark, starts the
# development cloud on loopback with fresh certificates, provisions and
# registers this device, and runs `hark run` on three sample recordings (a
# weather question, a banking question, speech without the wake word),
# showing the events. Answers are written to build/demo/answer-*.wav.
#
# With --mic (laptop dev mode) it runs hark on the microphone instead, with
# samples/laptop.conf, until Ctrl-C; if hark run fails (no microphone) the
# demo fails too, with the reason.
set -eu
cd "$(dirname "$0")/.."
mic=""
case "${1:-}" in
    --mic) mic=yes ;;
    "") ;;
    *) echo "usage: $0 [--mic]" >&2; exit 2 ;;
esac

sh scripts/deps.sh demo
# Only the two programs the demo runs: the default target also builds the
# tests and synthesizes their corpus, which needs the test packages (flite,
# sox), not the demo's. The build's output is kept out of the demo's, and
# shown when it fails.
build() {
    if [ -f build/build.ninja ]; then
        meson setup --reconfigure build
    else
        meson setup build
    fi && ninja -C build src/hark samples/devcloud/hark-devcloud
}
log=$(mktemp "${TMPDIR:-/tmp}/hark-demo-build.XXXXXX")
if ! build >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$0: the build failed (its output is above)" >&2
    exit 1
fi
rm -f "$log"

demo=build/demo
rm -rf "$demo"
mkdir -p "$demo"
cloud_pid=""
trap '[ -z "$cloud_pid" ] || { kill -TERM "$cloud_pid"; wait "$cloud_pid" || true; }' EXIT

# The cloud makes its own key and certificate and prints their pin.
./build/samples/devcloud/hark-devcloud --state "$demo/cloud" --listen 127.0.0.1 --port 0 \
    --port-file "$demo/port" --stats "$demo/cloud-stats.json" >"$demo/cloud.out" 2>"$demo/cloud.log" &
cloud_pid=$!
i=0
until [ -s "$demo/port" ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { cat "$demo/cloud.log" >&2; exit 1; }
    sleep 0.1
done
port=$(cat "$demo/port")
pin=$(sed -n 's/^pin //p' "$demo/cloud.out")
echo "== hark-devcloud listening on 127.0.0.1:$port, its key's pin: $pin"

: >"$demo/hark.conf"
[ -z "$mic" ] || cat samples/laptop.conf >"$demo/hark.conf"
cat >>"$demo/hark.conf" <<CONF
[cloud]
url = wss://127.0.0.1:$port/v1/assist
pins = $pin
[storage]
dir = $demo/device
[control]
socket = $demo/run/control
CONF

fingerprint=$(./build/src/hark provision --config "$demo/hark.conf" 2>/dev/null)
./build/samples/devcloud/hark-devcloud register --state "$demo/cloud" "$fingerprint" >/dev/null
echo "== this device: $fingerprint (registered with the cloud)"

if [ -n "$mic" ]; then
    echo
    echo "== hark run on the microphone: say \"hey computer, what is the weather like in paris?\"; Ctrl-C stops"
    # Ctrl-C stops hark, and this script goes on to show the history (a
    # trap with a command, unlike an ignored signal, is not inherited).
    trap 'true' INT
    rc=0
    ./build/src/hark -v run --config "$demo/hark.conf" || rc=$?
    trap - INT
    # Ctrl-C stops hark with status 0; anything else is a failure (no
    # microphone, most often), said by hark above and here by the demo.
    if [ "$rc" -ne 0 ]; then
        echo "demo --mic: hark run failed (exit $rc): see its message above; no microphone?" \
            "build/src/hark devices lists the input devices hark can use" >&2
        exit "$rc"
    fi
    echo
    echo "== what hark remembers (hark history list)"
    ./build/src/hark history --config "$demo/hark.conf" list
    exit 0
fi

n=0
for f in samples/weather.flac samples/banking.flac samples/no-wake.flac; do
    n=$((n + 1))
    echo
    echo "== hark run --input $f"
    ./build/src/hark run --config "$demo/hark.conf" --input "$f" --output "$demo/answer-$n.wav" \
        2>>"$demo/hark.log"
done

kill -TERM "$cloud_pid"
wait "$cloud_pid" || true
cloud_pid=""
echo
echo "== what hark remembers (hark history list): the banking request was dropped"
./build/src/hark history --config "$demo/hark.conf" list
echo
echo "== the cloud's counters: $(cat "$demo/cloud-stats.json")"
echo "== answers: $demo/answer-1.wav, $demo/answer-2.wav; logs: $demo/hark.log, $demo/cloud.log"
