#!/bin/sh
# Link latency and uplink size, against hark-devcloud on loopback, in real-time
# mode: wake -> first Opus frame written to the socket; end of speech -> intent
# event, split into the cloud's recognition time and the rest; uplink bytes per
# second. Prints a Markdown report for doc/benchmarks.md.
# usage: tests/bench/bench-link.sh BUILDDIR [RUNS]
set -eu
BUILD=$(cd "$1" && pwd)
RUNS=${2:-3}
SAMPLES=$(cd "$(dirname "$0")/../../samples" && pwd)
HARK=$BUILD/src/hark
DEVCLOUD=$BUILD/samples/devcloud/hark-devcloud
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hark-bench-link.XXXXXX")
cloud=""
trap '[ -z "$cloud" ] || kill -TERM "$cloud"; rm -rf "$TMP"' EXIT

"$DEVCLOUD" --state "$TMP/cloud" --port 0 --port-file "$TMP/port" >"$TMP/cloud.out" 2>"$TMP/cloud.err" &
cloud=$!
while [ ! -s "$TMP/port" ]; do sleep 0.1; done
cat >"$TMP/hark.conf" <<CONF
[cloud]
url = wss://127.0.0.1:$(cat "$TMP/port")/v1/assist
pins = $(sed -n 's/^pin //p' "$TMP/cloud.out")
[storage]
dir = $TMP/device
[control]
socket = $TMP/run/control
CONF
fp=$("$HARK" provision --config "$TMP/hark.conf" 2>/dev/null)
"$DEVCLOUD" register --state "$TMP/cloud" "$fp" >/dev/null

: >"$TMP/rows"
for i in $(seq "$RUNS"); do
    for s in weather banking timer; do
        "$HARK" -v run --realtime --config "$TMP/hark.conf" --input "$SAMPLES/$s.flac" \
            --output "$TMP/a.wav" >"$TMP/out" 2>"$TMP/err"
        first=$(sed -n 's/.*first audio frame written \([0-9.]*\) ms.*/\1/p' "$TMP/err")
        intent=$(sed -n 's/.*intent \([0-9.]*\) ms after the end of speech.*/\1/p' "$TMP/err")
        asr=$(sed -n 's/.*recognised in \([0-9.]*\) s.*/\1/p' "$TMP/cloud.err" | tail -1)
        frames=$(sed -n 's/.*"event":"stream_end".*"frames":\([0-9]*\).*/\1/p' "$TMP/out")
        bytes=$(sed -n 's/.*"event":"stream_end".*"bytes":\([0-9]*\).*/\1/p' "$TMP/out")
        echo "$s $first $intent $asr $frames $bytes" >>"$TMP/rows"
    done
done
kill -TERM "$cloud"; wait "$cloud" || true; cloud=""

awk -v runs="$RUNS" '
function pct(a, n, p,    i, j, t, k) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    k = int((n - 1) * p + 0.5) + 1
    return a[k]
}
{
    n++
    first[n] = $2; intent[n] = $3; asr[n] = $4 * 1000; rest[n] = $3 - $4 * 1000
    fr += $5; by += $6
}
END {
    printf "| measure (%d requests: %d runs of weather, banking, timer) | median | max |\n", n, runs
    printf "|---|---:|---:|\n"
    printf "| wake detected -> first Opus frame written to the socket, ms | %.1f | %.1f |\n", pct(first, n, 0.5), pct(first, n, 1)
    printf "| end of speech -> intent event, ms | %.0f | %.0f |\n", pct(intent, n, 0.5), pct(intent, n, 1)
    printf "| ... of which hark-devcloud recognition (PocketSphinx LM), ms | %.0f | %.0f |\n", pct(asr, n, 0.5), pct(asr, n, 1)
    printf "| ... the rest: hark, link, decode, intent rules, on loopback, ms | %.0f | %.0f |\n", pct(rest, n, 0.5), pct(rest, n, 1)
    printf "\nUplink: %d frames of 20 ms, %d bytes of Opus: %.0f B/s of Opus payload; with the 9-byte frame header %.0f B/s, with the 6-byte websocket header (client frames are masked) %.0f B/s of websocket frames, before TLS record overhead.\n", fr, by, by / (fr * 0.02), (by + 9 * fr) / (fr * 0.02), (by + 15 * fr) / (fr * 0.02)
}' "$TMP/rows"
