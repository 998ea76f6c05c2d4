#!/bin/sh
# Fuzzes each harness with libFuzzer (clang, ASan+UBSan) for SECONDS each
# (default 60), starting from the seed corpora in tests/fuzz/corpus/. New
# interesting inputs go to build-fuzz/corpus-NAME, crashes to
# build-fuzz/crash-NAME-*; copy a crash into tests/fuzz/corpus/NAME/ once it is
# fixed so the default test suite replays it.
# usage: tests/fuzz/run.sh [SECONDS] [HARNESS...]
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
harnesses=${*:-config audio protocol redact history}

sh scripts/deps.sh build
command -v clang >/dev/null || { echo "clang is missing: apt-get install clang" >&2; exit 1; }
if [ -f build-fuzz/build.ninja ]; then
    meson setup --reconfigure build-fuzz >/dev/null
else
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C build-fuzz >/dev/null

for h in $harnesses; do
    mkdir -p "build-fuzz/corpus-$h"
    echo "== fuzz-$h for $seconds s" >&2
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        "./build-fuzz/tests/fuzz-$h" -max_total_time="$seconds" -max_len=65536 \
        -artifact_prefix="build-fuzz/crash-$h-" -print_final_stats=1 \
        "build-fuzz/corpus-$h" "tests/fuzz/corpus/$h" 2>"build-fuzz/fuzz-$h.log" ||
        { tail -40 "build-fuzz/fuzz-$h.log" >&2; exit 1; }
    grep -E "stat::number_of_executed_units|Done" "build-fuzz/fuzz-$h.log" >&2 || true
done
