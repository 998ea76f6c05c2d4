#!/bin/sh
# Soak: N requests (default 1000) through one long-running `hark run` against
# hark-devcloud on loopback, in fast mode (the audio is read as fast as hark
# takes it, not in real time). The weather, timer and banking recordings take
# turns as raw audio on hark's stdin; hark reads on only after each answer, so
# the pipe paces the requests. After every INTERVAL requests the feeder waits
# until hark has answered them and is idle, and hark's RSS, threads and open
# file descriptors and the history's size are recorded: always at the same
# point of the cycle, so the samples compare. The history is bounded by
# `max_entries = 50`. Prints a Markdown table and a verdict, and fails on a
# lost request, RSS growth beyond the tolerance, an fd or thread count that
# changed, or a history beyond its bound. RSS growth is counted from the
# first quarter, or from the first sample after the history's first
# compaction when that comes later: the first run of a path may grow the heap
# once (the compaction's 1 MiB buffer stays in glibc's heap), a leak grows it
# with every request.
# usage: tests/bench/soak.sh BUILDDIR [N]
# env: SOAK_INTERVAL (50 requests), SOAK_RSS_TOLERANCE_KB (256)
set -eu
BUILD=$(cd "$1" && pwd)
N=${2:-1000}
INTERVAL=${SOAK_INTERVAL:-50}
RSS_TOLERANCE_KB=${SOAK_RSS_TOLERANCE_KB:-256}
MAX_ENTRIES=50
HARK=$BUILD/src/hark
DEVCLOUD=$BUILD/samples/devcloud/hark-devcloud
SAMPLES=$(cd "$(dirname "$0")/../../samples" && pwd)
. "$(dirname "$0")/../pipeline/lib.sh"
. "$(dirname "$0")/../pipeline/cloud-lib.sh"

HARK_PID=""
soak_cleanup() {
    : >"$TMP/done"
    [ -z "$HARK_PID" ] || kill -TERM "$HARK_PID" 2>/dev/null || true
    cloud_cleanup
}
trap soak_cleanup EXIT
# A signal (meson's timeout) still runs the cleanup: hark and the feeder go too.
trap 'exit 143' TERM
trap 'exit 130' INT

now() {
    date +%s.%N
}

# history_walk FILE: "records live_bytes dropped_bytes largest_record" of a
# history.dat laid out as doc/privacy.md says. No key is needed: the header
# slots and the record lengths are in the clear (the MACs are not checked).
history_walk() {
    [ -s "$1" ] || { echo "0 0 0 0"; return; }
    od -An -v -t u1 "$1" | awk '
    { for (i = 1; i <= NF; i++) b[n++] = $i }
    function u(off, len,    v, k) {
        v = 0
        for (k = len - 1; k >= 0; k--) v = v * 256 + b[off + k]
        return v
    }
    END {
        split("72 65 82 75 72 73 83 84", magic, " ")   # HARKHIST
        best = -1; start = 1024
        for (s = 0; s < 2; s++) {
            o = s * 512; ok = n >= o + 72
            for (k = 1; ok && k <= 8; k++) if (b[o + k - 1] != magic[k]) ok = 0
            if (ok && u(o + 16, 8) > best) { best = u(o + 16, 8); start = u(o + 32, 8) }
        }
        recs = 0; big = 0
        for (p = start; p + 72 <= n; p += size) {
            size = 72 + u(p, 4)
            if (p + size > n) break
            recs++
            if (size > big) big = size
        }
        printf "%d %d %d %d\n", recs, n - start, start - 1024, big
    }'
}

count() {
    grep -c "$1" "$TMP/out" || true
}

# sample: one row of $TMP/samples, while hark is idle between requests.
sample() {
    status=/proc/$HARK_PID/status
    rss=$(sed -n 's/^VmRSS:[^0-9]*\([0-9]*\).*/\1/p' "$status")
    threads=$(sed -n 's/^Threads:[^0-9]*\([0-9]*\).*/\1/p' "$status")
    fds=$(ls "/proc/$HARK_PID/fd" | wc -l)
    dat=$(stat -c %s "$TMP/device/history.dat" 2>/dev/null || echo 0)
    keys=$(stat -c %s "$TMP/device/history.keys" 2>/dev/null || echo 0)
    elapsed=$(awk -v a="$START" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }')
    echo "$(count '"event":"response_end"') $elapsed $rss $threads $fds $dat $keys $(history_walk "$TMP/device/history.dat")" \
        >>"$TMP/samples"
}

# wait_idle TARGET: until hark has answered TARGET requests and is idle again,
# or nothing has happened for 40 s (a lost request: hark gives up on an
# answer after 30 s).
wait_idle() {
    last_lines=-1
    quiet=0
    while :; do
        kill -0 "$HARK_PID" 2>/dev/null || fail "hark exited early: $(tail -5 "$TMP/err")"
        if [ "$(count '"event":"response_end"')" -ge "$1" ] &&
            tail -1 "$TMP/out" | grep -q '"state":"idle"'; then
            return 0
        fi
        lines=$(wc -l <"$TMP/out")
        if [ "$lines" -eq "$last_lines" ]; then
            quiet=$((quiet + 1))
            [ "$quiet" -lt 200 ] || { echo "soak: no answer for 40 s at request $1" >&2; return 0; }
        else
            quiet=0
            last_lines=$lines
        fi
        sleep 0.2
    done
}

# The feeder: the recordings in turn; after every INTERVAL requests (and at
# the start) it waits for go.K. At the end it keeps stdin open until done, so
# hark is still there for the last sample.
feed() {
    i=0
    while [ ! -e "$TMP/go.0" ] && [ ! -e "$TMP/done" ]; do sleep 0.1; done
    while [ "$i" -lt "$N" ]; do
        case $((i % 3)) in
            0) cat "$TMP/weather.raw" ;;
            1) cat "$TMP/timer.raw" ;;
            2) cat "$TMP/banking.raw" ;;
        esac
        i=$((i + 1))
        echo "$i" >"$TMP/sent"
        if [ $((i % INTERVAL)) -eq 0 ] || [ "$i" -eq "$N" ]; then
            while [ ! -e "$TMP/go.$i" ] && [ ! -e "$TMP/done" ]; do sleep 0.1; done
        fi
    done
    while [ ! -e "$TMP/done" ]; do sleep 0.2; done
}

for s in weather timer banking; do
    sox "$SAMPLES/$s.flac" -t raw -r 16000 -c 1 -b 16 -e signed-integer -L "$TMP/$s.raw"
done
START=$(now)
start_devcloud
provision_device
cat >>"$TMP/hark.conf" <<CONF
[privacy]
max_entries = $MAX_ENTRIES
retention = 10min
CONF
: >"$TMP/samples"
: >"$TMP/out"
echo 0 >"$TMP/sent"
feed | "$HARK" run --config "$TMP/hark.conf" --input - --output /dev/null >"$TMP/out" 2>"$TMP/err" &
HARK_PID=$!
echo "soak: hark pid $HARK_PID, $N requests, a sample every $INTERVAL" >&2

# Start: connected and idle, before any request.
wait_idle 0
sample
: >"$TMP/go.0"
k=0
while [ "$k" -lt "$N" ]; do
    k=$((k + INTERVAL))
    [ "$k" -le "$N" ] || k=$N
    wait_idle "$k"
    sample
    echo "soak: $(tail -1 "$TMP/samples")" >&2
    : >"$TMP/go.$k"
done
: >"$TMP/done"
hark_status=0
wait "$HARK_PID" || hark_status=$?
HARK_PID=""
END=$(now)
stop_devcloud
verify_status=0
"$HARK" history --config "$TMP/hark.conf" verify >"$TMP/verify" 2>&1 || verify_status=$?
listed=$("$HARK" history --config "$TMP/hark.conf" list | tail -n +2 | wc -l)

sent=$(cat "$TMP/sent")
woke=$(count '"event":"wake"')
answered=$(count '"event":"response_end"')
errors=$(count '"event":"error"')
remembered=$(count '"event":"remembered"')
utterances=$(cloud_stat utterances)

echo "Soak: $N requests (weather, timer, banking in turn) through one \`hark run --input -\`"
echo "against hark-devcloud on 127.0.0.1; \`[privacy] max_entries = $MAX_ENTRIES\`, \`retention = 10min\`;"
echo "a sample every $INTERVAL requests, with hark idle between two requests."
echo
echo "| requests answered | time s | RSS KiB | threads | fds | history.dat bytes | live records | history.keys bytes |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
awk '{ printf "| %d | %d | %d | %d | %d | %d | %d | %d |\n", $1, $2, $3, $4, $5, $6, $8, $7 }' "$TMP/samples"
echo

awk -v n="$N" -v tol="$RSS_TOLERANCE_KB" -v max_entries="$MAX_ENTRIES" \
    -v sent="$sent" -v woke="$woke" -v answered="$answered" -v errors="$errors" \
    -v remembered="$remembered" -v utterances="$utterances" -v listed="$listed" \
    -v hark_status="$hark_status" -v verify_status="$verify_status" \
    -v seconds="$(awk -v a="$START" -v b="$END" 'BEGIN { print b - a }')" '
function verdict(ok) { if (!ok) failed = 1; return ok ? "ok" : "**FAIL**" }
{
    rows++
    a[rows] = $1; rss[rows] = $3; thr[rows] = $4; fd[rows] = $5; dat[rows] = $6; keys[rows] = $7
    recs[rows] = $8; live[rows] = $9; big[rows] = $11
    if (q1 == 0 && $1 >= n / 4 && $1 > 0) q1 = rows
    if (compacted == 0 && rows > 1 && $6 < dat[rows - 1]) compacted = rows
}
END {
    lost = sent - answered
    printf "- requests: %d sent, %d woke hark, %d reached the cloud, %d answered, %d errors, %d remembered; lost %d: %s\n", \
        sent, woke, utterances, answered, errors, remembered, lost, \
        verdict(lost == 0 && errors == 0 && sent == n && woke == n && utterances == n && hark_status == 0)
    base = compacted > q1 && compacted < rows ? compacted : q1
    growth = rss[rows] - rss[base]
    per = a[rows] > a[base] ? growth * 1024 / (a[rows] - a[base]) : 0
    printf "- RSS: %d KiB at the start, %d KiB after %d requests (the first quarter), ", rss[1], rss[q1], a[q1]
    if (base != q1)
        printf "%d KiB after %d requests (the first sample after the history'"'"'s first compaction, the baseline), ", rss[base], a[base]
    printf "%d KiB at the end: %+d KiB from the %s to the end (%.0f bytes per request; tolerance %d KiB): %s\n", \
        rss[rows], growth, base != q1 ? "baseline" : "first quarter", per, tol, verdict(growth <= tol)
    fmin = fmax = fd[2]; tmin = tmax = thr[2]
    for (i = 2; i <= rows; i++) {
        if (fd[i] < fmin) fmin = fd[i]; if (fd[i] > fmax) fmax = fd[i]
        if (thr[i] < tmin) tmin = thr[i]; if (thr[i] > tmax) tmax = thr[i]
    }
    printf "- file descriptors: %d at the start, %d to %d from the first %d requests to the end; threads %d to %d: %s\n", \
        fd[1], fmin, fmax, a[2], tmin, tmax, verdict(fmin == fmax && tmin == tmax)
    ok = 1; worst = 0; most = 0; kworst = 0
    for (i = 1; i <= rows; i++) {
        # doc/privacy.md: max_entries is applied before each append, so the
        # file holds one record more until the next append or purge; dropped
        # bytes stay until they are at least 64 KiB and at least the live
        # part, and one record may be over before the rewrite; an epoch key
        # is kept only for a live record or the current epoch.
        bound = 1024 + live[i] + (live[i] > 65536 ? live[i] : 65536) + big[i]
        if (recs[i] > max_entries + 1 || dat[i] > bound || keys[i] > 16 + 96 * (recs[i] + 1)) ok = 0
        if (dat[i] > worst) { worst = dat[i]; wbound = bound }
        if (recs[i] > most) most = recs[i]
        if (keys[i] > kworst) kworst = keys[i]
    }
    printf "- history: at most %d records in the file (max_entries %d, plus the one appended since the last purge), history.dat at most %d bytes (its bound at that sample: %d = 1024 + live + max(64 KiB, live) + one record), history.keys at most %d bytes (16 + 96 per epoch key; at most one per live record, plus the current epoch); at the end %d listed and `hark history verify` %s: %s\n", \
        most, max_entries, worst, wbound, kworst, listed, verify_status == 0 ? "clean" : "FAILED", \
        verdict(ok && listed == (remembered < max_entries ? remembered : max_entries) && verify_status == 0)
    printf "- duration: %.0f s (%.2f s per request)\n", seconds, seconds / n
    printf "\nsoak: %s\n", failed ? "FAIL" : "ok"
    exit failed
}' "$TMP/samples"
