#!/usr/bin/env bash
# bench-wakeword.sh [OPTIONS] BUILDDIR CORPUSDIR
#
# Wake-word benchmark: runs hark (BUILDDIR/src/hark listen) and the reference,
# pocketsphinx_continuous in keyphrase mode, on the same corpus audio (made by
# tests/corpus/make-corpus.sh) over a sweep of thresholds, scores misses and
# false alarms, measures wall time, peak RSS and (at the default threshold)
# instructions per second of audio under callgrind, and prints a Markdown
# report on stdout. Progress goes to stderr.
#
# Options:
#   --quick              3 thresholds, 15 min of negative speech, 20 s
#                        callgrind excerpts (about a fifth of the time)
#   --thresholds "T..."  threshold sweep (default: 1e-40 1e-30 1e-25 1e-20
#                        1e-15 1e-10 1e-5 1)
#   --default T          threshold of the callgrind runs and the breakdowns
#                        (default 1e-20)
#   --systems "S..."     among: hark sphinx (default: both; hark is skipped,
#                        and reported as pending, when BUILDDIR/src/hark is
#                        not there)
#   --no-callgrind       skip the callgrind runs
#   --jobs N             runs in parallel (default: number of CPUs)
#   --workdir DIR        keep outputs there (default: a temporary directory,
#                        removed at the end)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
PHRASE="hey computer"

die() { echo "bench-wakeword: $*" >&2; exit 1; }
log() { echo "bench-wakeword: $*" >&2; }

# run_one SYSTEM THRESHOLD AUDIO OUTPREFIX
# Runs one detector on one file under GNU time; writes OUTPREFIX.{out,err,time,rc}.
run_one() {
    local sys=$1 t=$2 audio=$3 out=$4 cfg rc=0
    local cmd=()
    case $sys in
        hark)
            cfg="$out.ini"
            printf '[wakeword]\nphrases = %s\nthreshold = %s\n' "$PHRASE" "$t" > "$cfg"
            cmd=("$HARK" listen --config "$cfg" --input "$audio") ;;
        sphinx)
            cmd=(pocketsphinx_continuous -infile "$audio" -keyphrase "$PHRASE"
                 -kws_threshold "$t" -time yes) ;;
        *) die "unknown system $sys" ;;
    esac
    /usr/bin/time -f '%e %M %U %S' -o "$out.time" "${cmd[@]}" > "$out.out" 2> "$out.err" || rc=$?
    echo "$rc" > "$out.rc"
}

# cg_one SYSTEM THRESHOLD AUDIO OUTPREFIX : the same under callgrind.
cg_one() {
    local sys=$1 t=$2 audio=$3 out=$4 rc=0
    local cmd=()
    case $sys in
        hark)
            printf '[wakeword]\nphrases = %s\nthreshold = %s\n' "$PHRASE" "$t" > "$out.ini"
            cmd=("$HARK" listen --config "$out.ini" --input "$audio") ;;
        sphinx)
            cmd=(pocketsphinx_continuous -infile "$audio" -keyphrase "$PHRASE"
                 -kws_threshold "$t" -time yes) ;;
    esac
    valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" \
        "${cmd[@]}" > "$out.out" 2> "$out.err" || rc=$?
    echo "$rc" > "$out.rc"
    rm -f "$out.callgrind"
}

if [[ ${1:-} == __run || ${1:-} == __cg ]]; then
    # __run|__cg HARK SYSTEM THRESHOLD AUDIO OUTPREFIX (from xargs)
    what=$1; HARK=$2; shift 2
    if [[ $what == __run ]]; then run_one "$@"; else cg_one "$@"; fi
    exit 0
fi

# ---------------------------------------------------------------------------
QUICK=0
THRESHOLDS="1e-40 1e-30 1e-25 1e-20 1e-15 1e-10 1e-5 1"
THRESHOLDS_SET=0
DEFAULT_T=1e-20
SYSTEMS="hark sphinx"
CALLGRIND=1
JOBS=$(nproc 2>/dev/null || echo 2)
WORKDIR=
ARGS=("$@")
POSITIONAL=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --thresholds) THRESHOLDS=$2; THRESHOLDS_SET=1; shift ;;
        --default) DEFAULT_T=$2; shift ;;
        --systems) SYSTEMS=$2; shift ;;
        --no-callgrind) CALLGRIND=0 ;;
        --jobs) JOBS=$2; shift ;;
        --workdir) WORKDIR=$2; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
[[ ${#POSITIONAL[@]} -eq 2 ]] || die "usage: $0 [OPTIONS] BUILDDIR CORPUSDIR (see --help)"
BUILDDIR=${POSITIONAL[0]}
CORPUS=${POSITIONAL[1]}
if [[ $QUICK == 1 && $THRESHOLDS_SET == 0 ]]; then
    THRESHOLDS="1e-30 $DEFAULT_T 1e-10"
fi
CG_SECONDS=60
NEG_LIMIT=
if [[ $QUICK == 1 ]]; then CG_SECONDS=20; NEG_LIMIT=900; fi

for tool in sox soxi python3 pocketsphinx_continuous xargs; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) not found (Debian: apt-get install -y time)"
if [[ $CALLGRIND == 1 ]]; then
    command -v valgrind >/dev/null 2>&1 || die "valgrind not found (or pass --no-callgrind)"
fi
for f in positives.wav positives.tsv negatives.wav nearmiss.wav nearmiss.tsv noise.wav noise.tsv STAMP; do
    [[ -e $CORPUS/$f ]] || die "$CORPUS/$f missing: make it with tests/corpus/make-corpus.sh $CORPUS full"
done

HARK="$BUILDDIR/src/hark"
RUN_SYSTEMS=()
PENDING=()
for s in $SYSTEMS; do
    case $s in
        hark)
            if [[ -x $HARK ]]; then RUN_SYSTEMS+=(hark)
            else log "$HARK not found: hark skipped"; PENDING+=(hark); fi ;;
        sphinx) RUN_SYSTEMS+=(sphinx) ;;
        *) die "unknown system $s (hark, sphinx)" ;;
    esac
done
[[ ${#RUN_SYSTEMS[@]} -gt 0 ]] || die "nothing to run"
# An absolute path, whatever the working directory of the runs.
[[ -x $HARK ]] && HARK="$(cd "$(dirname "$HARK")" && pwd)/hark"

if [[ -z $WORKDIR ]]; then
    WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-wakeword.XXXXXX")
    trap 'rm -rf "$WORKDIR"' EXIT
else
    mkdir -p "$WORKDIR"
fi
mkdir -p "$WORKDIR/audio" "$WORKDIR/runs" "$WORKDIR/cg"
START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)

# Audio under test (negatives trimmed in --quick mode).
for f in positives nearmiss noise; do ln -sf "$(cd "$CORPUS" && pwd)/$f.wav" "$WORKDIR/audio/$f.wav"; done
if [[ -n $NEG_LIMIT ]]; then
    sox "$CORPUS/negatives.wav" "$WORKDIR/audio/negatives.wav" trim 0 \
        "$(awk -v a="$NEG_LIMIT" -v b="$(soxi -D "$CORPUS/negatives.wav")" 'BEGIN { print (a < b) ? a : b }')"
else
    ln -sf "$(cd "$CORPUS" && pwd)/negatives.wav" "$WORKDIR/audio/negatives.wav"
fi
for f in negatives positives nearmiss noise; do
    printf '%s\t%s\n' "$f" "$(soxi -D "$WORKDIR/audio/$f.wav")"
done > "$WORKDIR/audio.tsv"

# Callgrind excerpts: speech from negatives.wav, and silence/noise made of
# equal parts of the corpus's pure silence, low-level noise and noise.
if [[ $CALLGRIND == 1 ]]; then
    # (A small corpus gives shorter excerpts: the parts are cut to what it has.)
    neg_len=$(soxi -D "$CORPUS/negatives.wav")
    sox "$CORPUS/negatives.wav" "$WORKDIR/audio/cg-speech.wav" trim 0 \
        "$(awk -v a="$CG_SECONDS" -v b="$neg_len" 'BEGIN { print (a < b) ? a : b }')"
    pieces=()
    for kind in silence lownoise noise; do
        # start and length of the first segment of this kind, at most CG_SECONDS/3
        read -r start len < <(awk -F'\t' -v k="$kind" -v s="$CG_SECONDS" \
            '$3 == k { l = $2 - $1; if (l > s / 3) l = s / 3; printf "%.3f %.3f\n", $1, l; exit }' \
            "$CORPUS/noise.tsv") || die "no '$kind' segment in $CORPUS/noise.tsv"
        sox "$CORPUS/noise.wav" "$WORKDIR/audio/cg-part-$kind.wav" trim "$start" "$len"
        pieces+=("$WORKDIR/audio/cg-part-$kind.wav")
    done
    sox "${pieces[@]}" "$WORKDIR/audio/cg-noise.wav"
    rm -f "${pieces[@]}"
    # A 1 s silence run measures start-up (model loading) to subtract.
    sox -n -r 16000 -c 1 -b 16 "$WORKDIR/audio/cg-startup.wav" trim 0 1
fi

# Task list: the longest files first so that the parallel runs end together.
{
    for f in negatives positives noise nearmiss; do
        for s in "${RUN_SYSTEMS[@]}"; do
            for t in $THRESHOLDS; do
                mkdir -p "$WORKDIR/runs/$s/$t"
                printf '%s\n' __run "$HARK" "$s" "$t" "$WORKDIR/audio/$f.wav" "$WORKDIR/runs/$s/$t/$f"
            done
        done
    done
} > "$WORKDIR/tasks"
ntasks=$(($(wc -l < "$WORKDIR/tasks") / 6))
log "$ntasks runs (${RUN_SYSTEMS[*]}; thresholds $THRESHOLDS) on $JOBS cores"
xargs -d '\n' -n 6 -P "$JOBS" "$SELF" < "$WORKDIR/tasks"
log "detection runs done in $((SECONDS - START)) s"

if [[ $CALLGRIND == 1 ]]; then
    {
        for s in "${RUN_SYSTEMS[@]}"; do
            for f in cg-speech cg-noise cg-startup; do
                mkdir -p "$WORKDIR/cg/$s"
                printf '%s\n' __cg "$HARK" "$s" "$DEFAULT_T" "$WORKDIR/audio/$f.wav" "$WORKDIR/cg/$s/$f"
            done
        done
    } > "$WORKDIR/cgtasks"
    log "callgrind runs (${CG_SECONDS} s excerpts)"
    xargs -d '\n' -n 6 -P "$JOBS" "$SELF" < "$WORKDIR/cgtasks"
    for f in cg-speech cg-noise cg-startup; do
        printf '%s\t%s\n' "$f" "$(soxi -D "$WORKDIR/audio/$f.wav")"
    done >> "$WORKDIR/audio.tsv"
    log "callgrind done at $((SECONDS - START)) s"
fi

CMDLINE="tests/bench/bench-wakeword.sh ${ARGS[*]}"
HARK_REV=
if [[ " ${RUN_SYSTEMS[*]} " == *" hark "* ]]; then
    # This tree's revision (best effort: the binary may be older than the tree).
    HARK_REV=$(git -C "$HERE/../.." describe --always --dirty 2>/dev/null || true)
    HARK_REV="$("$HARK" --version 2>/dev/null | head -n 1)${HARK_REV:+, tree $HARK_REV}"
    HARK_REV="$HARK_REV, binary of $(date -u -r "$HARK" '+%Y-%m-%d %H:%M UTC')"
fi
python3 "$HERE/score.py" --corpus "$CORPUS" --work "$WORKDIR" \
    --systems "${RUN_SYSTEMS[*]}" --pending "${PENDING[*]:-}" \
    --thresholds "$THRESHOLDS" --default "$DEFAULT_T" --phrase "$PHRASE" \
    --callgrind "$CALLGRIND" --quick "$QUICK" --cmdline "$CMDLINE" \
    --elapsed "$((SECONDS - START))" --hark-rev "$HARK_REV" \
    --load "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
