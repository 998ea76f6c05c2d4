#!/bin/sh
# Fuzzes each harness with libFuzzer (clang, ASan+UBSan) for SECONDS each
# (default 60), starting from the seed corpora in tests/fuzz/corpus/. New
# interesting inputs go to build-fuzz/corpus-NAME, crashes to
# build-fuzz/crash-NAME-*; copy a crash into tests/fuzz/corpus/NAME/ once it is
# fixed so the default test suite replays it. -j N runs N harnesses at once
# (round robin over the list), for the long runs. FUZZ_BUILD=DIR builds in DIR
# instead of build-fuzz.
# usage: tests/fuzz/run.sh [-j N] [SECONDS] [HARNESS...]
set -eu
cd "$(dirname "$0")/../.."
jobs=1
if [ "${1:-}" = -j ]; then
    jobs=$2
    shift 2
fi
seconds=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-config audio protocol redact history pin update nn-model}
out=${FUZZ_BUILD:-build-fuzz}

sh scripts/deps.sh build
command -v clang >/dev/null || { echo "clang is missing: apt-get install clang" >&2; exit 1; }
if [ -f "$out/build.ninja" ]; then
    meson setup --reconfigure "$out" >/dev/null
else
    CC=clang meson setup "$out" -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$out" >/dev/null

fuzz() {
    h=$1
    mkdir -p "$out/corpus-$h"
    echo "== fuzz-$h for $seconds s" >&2
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "$out/tests/fuzz-$h" -max_total_time="$seconds" -max_len=65536 \
        -artifact_prefix="$out/crash-$h-" -print_final_stats=1 \
        "$out/corpus-$h" "tests/fuzz/corpus/$h" 2>"$out/fuzz-$h.log" ||
        { tail -40 "$out/fuzz-$h.log" >&2; return 1; }
    echo "== fuzz-$h: $(grep -E "^Done" "$out/fuzz-$h.log")" >&2
}

# Job k takes harnesses k, k + jobs, ...; each job runs its share in turn.
pids=""
k=0
while [ "$k" -lt "$jobs" ]; do
    (
        i=0
        status=0
        for h in $harnesses; do
            [ $((i % jobs)) -eq "$k" ] && { fuzz "$h" || status=1; }
            i=$((i + 1))
        done
        exit "$status"
    ) &
    pids="$pids $!"
    k=$((k + 1))
done
status=0
for pid in $pids; do
    wait "$pid" || status=1
done
exit "$status"
