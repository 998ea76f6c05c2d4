#!/usr/bin/env bash
# bench-wakeword.sh [OPTIONS] BUILDDIR CORPUSDIR
#
# Wake-word benchmark: runs hark (BUILDDIR/src/hark listen) and the reference,
# pocketsphinx_continuous in keyphrase mode, on the same corpus audio (made by
# tests/corpus/make-corpus.sh) over a sweep of thresholds, and hark with its
# second-pass verification over a sweep of cut-offs; scores misses and false
# alarms, measures wall time, peak RSS and (at the defaults) instructions per
# second of audio under callgrind, prints a Markdown report on stdout and
# with --det-png draws the DET curves (gnuplot). Progress goes to stderr.
#
# Options:
#   --quick              3 thresholds, 15 min of negative speech, 20 s
#                        callgrind excerpts (about a fifth of the time)
#   --thresholds "T..."  threshold sweep of hark without verification and of
#                        the reference (default: 1e-50 1e-40 1e-30 1e-20
#                        1e-10 1 1e10 1e15 1e20 1e30)
#   --default T          threshold of the callgrind runs and the breakdowns
#                        (default 1e-20)
#   --cutoffs "C..."     cut-off sweep of hark with verification (default:
#                        -2 -1.5 -1 -0.75 -0.5 -0.25 0 0.25 0.5)
#   --verify-threshold T spotter threshold of hark with verification (default:
#                        the shipped default, from `hark check-config --dump`)
#   --default-cutoff C   its cut-off for the breakdowns (default: shipped)
#   --systems "S..."     among: harkv (hark as shipped, with verification),
#                        hark (verification off), sphinx (default: all three;
#                        hark's are skipped, and reported as pending, when
#                        BUILDDIR/src/hark is not there)
#   --det-png FILE       draw the DET curves into FILE (needs gnuplot)
#   --no-callgrind       skip the callgrind runs
#   --jobs N             runs in parallel (default: number of CPUs)
#   --workdir DIR        keep outputs there (default: a temporary directory,
#                        removed at the end); a run whose output is there
#                        already is not repeated, so an interrupted benchmark
#                        goes on where it stopped (remove a system's runs/S
#                        folder after changing it)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
PHRASE="hey computer"

die() { echo "bench-wakeword: $*" >&2; exit 1; }
log() { echo "bench-wakeword: $*" >&2; }

# hark_config SYSTEM T FILE: hark's config for one run (T: the threshold, or
# for harkv the cut-off; VERIFY_T is harkv's spotter threshold).
hark_config() {
    case $1 in
        hark) printf '[wakeword]\nphrases = %s\nthreshold = %s\nverify = off\n' "$PHRASE" "$2" ;;
        harkv) printf '[wakeword]\nphrases = %s/%s/%s\nverify = on\n' "$PHRASE" "$VERIFY_T" "$2" ;;
    esac > "$3"
}

# detector_cmd SYSTEM THRESHOLD AUDIO OUTPREFIX: the command of one run into
# the array cmd (hark's config is written to OUTPREFIX.ini).
detector_cmd() {
    local sys=$1 t=$2 audio=$3 out=$4
    case $sys in
        hark|harkv)
            hark_config "$sys" "$t" "$out.ini"
            cmd=("$HARK" listen --config "$out.ini" --input "$audio") ;;
        sphinx)
            cmd=(pocketsphinx_continuous -infile "$audio" -keyphrase "$PHRASE"
                 -kws_threshold "$t" -time yes) ;;
        *) die "unknown system $sys" ;;
    esac
}

# run_one SYSTEM THRESHOLD AUDIO OUTPREFIX
# Runs one detector on one file under GNU time; writes OUTPREFIX.{out,err,time,rc}.
run_one() {
    local out=$4 rc=0
    local cmd=()
    [[ -f $out.rc ]] && return 0
    detector_cmd "$@"
    /usr/bin/time -f '%e %M %U %S' -o "$out.time" "${cmd[@]}" > "$out.out" 2> "$out.err" || rc=$?
    echo "$rc" > "$out.rc"
}

# cg_one SYSTEM THRESHOLD AUDIO OUTPREFIX : the same under callgrind.
cg_one() {
    local out=$4 rc=0
    local cmd=()
    [[ -f $out.rc ]] && return 0
    detector_cmd "$@"
    valgrind --tool=callgrind --callgrind-out-file="$out.callgrind" \
        "${cmd[@]}" > "$out.out" 2> "$out.err" || rc=$?
    echo "$rc" > "$out.rc"
    rm -f "$out.callgrind"
}

if [[ ${1:-} == __run || ${1:-} == __cg ]]; then
    # __run|__cg HARK VERIFY_T SYSTEM THRESHOLD AUDIO OUTPREFIX (from xargs)
    what=$1; HARK=$2; VERIFY_T=$3; shift 3
    if [[ $what == __run ]]; then run_one "$@"; else cg_one "$@"; fi
    exit 0
fi

# ---------------------------------------------------------------------------
QUICK=0
THRESHOLDS="1e-50 1e-40 1e-30 1e-20 1e-10 1 1e10 1e15 1e20 1e30"
THRESHOLDS_SET=0
DEFAULT_T=1e-20
CUTOFFS="-2 -1.5 -1 -0.75 -0.5 -0.25 0 0.25 0.5"
VERIFY_T=
DEFAULT_C=
DET_PNG=
SYSTEMS="harkv hark sphinx"
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
        --cutoffs) CUTOFFS=$2; shift ;;
        --verify-threshold) VERIFY_T=$2; shift ;;
        --default-cutoff) DEFAULT_C=$2; shift ;;
        --det-png) DET_PNG=$2; shift ;;
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
    THRESHOLDS="1e-30 $DEFAULT_T 1e-10 1e10"
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
        hark|harkv)
            if [[ -x $HARK ]]; then RUN_SYSTEMS+=("$s")
            else log "$HARK not found: $s skipped"; PENDING+=("$s"); fi ;;
        sphinx) RUN_SYSTEMS+=(sphinx) ;;
        *) die "unknown system $s (harkv, hark, sphinx)" ;;
    esac
done
[[ ${#RUN_SYSTEMS[@]} -gt 0 ]] || die "nothing to run"
# An absolute path, whatever the working directory of the runs.
[[ -x $HARK ]] && HARK="$(cd "$(dirname "$HARK")" && pwd)/hark"
# harkv runs as shipped: the default phrase's threshold and cut-off.
if [[ -x $HARK ]]; then
    dump=$("$HARK" check-config --dump /dev/null 2>/dev/null || true)
    [[ -n $VERIFY_T ]] || VERIFY_T=$(printf '%s\n' "$dump" | sed -n 's/^threshold = //p' | head -n 1)
    [[ -n $DEFAULT_C ]] || DEFAULT_C=$(printf '%s\n' "$dump" | sed -n 's/^verify_threshold = //p' | head -n 1)
fi
[[ -n $VERIFY_T ]] || VERIFY_T=$DEFAULT_T
[[ -n $DEFAULT_C ]] || DEFAULT_C=0
[[ " $CUTOFFS " == *" $DEFAULT_C "* ]] || CUTOFFS="$CUTOFFS $DEFAULT_C"
if [[ -n $DET_PNG ]]; then command -v gnuplot >/dev/null 2>&1 || die "--det-png needs gnuplot"; fi

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
    # Speech with the phrase: the second pass runs on every candidate.
    pos_len=$(soxi -D "$CORPUS/positives.wav")
    sox "$CORPUS/positives.wav" "$WORKDIR/audio/cg-positives.wav" trim 0 \
        "$(awk -v a="$CG_SECONDS" -v b="$pos_len" 'BEGIN { print (a < b) ? a : b }')"
    # A 1 s silence run measures start-up (model loading) to subtract.
    sox -n -r 16000 -c 1 -b 16 "$WORKDIR/audio/cg-startup.wav" trim 0 1
fi

# Task list: the longest files first so that the parallel runs end together.
{
    for f in negatives positives noise nearmiss; do
        for s in "${RUN_SYSTEMS[@]}"; do
            sweep=$THRESHOLDS
            [[ $s == harkv ]] && sweep=$CUTOFFS
            for t in $sweep; do
                mkdir -p "$WORKDIR/runs/$s/$t"
                printf '%s\n' __run "$HARK" "$VERIFY_T" "$s" "$t" "$WORKDIR/audio/$f.wav" "$WORKDIR/runs/$s/$t/$f"
            done
        done
    done
} > "$WORKDIR/tasks"
ntasks=$(($(wc -l < "$WORKDIR/tasks") / 7))
log "$ntasks runs (${RUN_SYSTEMS[*]}; thresholds $THRESHOLDS; cut-offs $CUTOFFS at $VERIFY_T) on $JOBS cores"
xargs -d '\n' -n 7 -P "$JOBS" "$SELF" < "$WORKDIR/tasks"
log "detection runs done in $((SECONDS - START)) s"

if [[ $CALLGRIND == 1 ]]; then
    {
        for s in "${RUN_SYSTEMS[@]}"; do
            t=$DEFAULT_T
            [[ $s == harkv ]] && t=$DEFAULT_C
            for f in cg-speech cg-positives cg-noise cg-startup; do
                mkdir -p "$WORKDIR/cg/$s"
                printf '%s\n' __cg "$HARK" "$VERIFY_T" "$s" "$t" "$WORKDIR/audio/$f.wav" "$WORKDIR/cg/$s/$f"
            done
        done
    } > "$WORKDIR/cgtasks"
    log "callgrind runs (${CG_SECONDS} s excerpts)"
    xargs -d '\n' -n 7 -P "$JOBS" "$SELF" < "$WORKDIR/cgtasks"
    for f in cg-speech cg-positives cg-noise cg-startup; do
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
    --cutoffs "$CUTOFFS" --default-cutoff "$DEFAULT_C" --verify-threshold "$VERIFY_T" \
    --det-png "$DET_PNG" \
    --callgrind "$CALLGRIND" --quick "$QUICK" --cmdline "$CMDLINE" \
    --elapsed "$((SECONDS - START))" --hark-rev "$HARK_REV" \
    --load "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
