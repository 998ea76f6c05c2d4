#!/usr/bin/env bash
# make-corpus.sh OUTDIR [small|full]
#
# Generates the wake-word test corpus for "hey computer" with flite voices and
# sox: positives (the phrase inside carrier sentences, with tempo, pitch, gain,
# reverb and noise variations), near misses, negative speech without the phrase
# (sentences of the licence texts under /usr/share/common-licenses) and a
# silence/noise set. Everything is 16 kHz mono 16-bit WAV and deterministic
# (fixed seeds, sox -R). The result is cached: when OUTDIR already holds a
# complete corpus of the same version and mode (its STAMP file), nothing is done.
#
# Layout of OUTDIR (times in seconds; TSV files start with one '#' header line):
#   positives.wav  positives.tsv  every positive clip, then 1-2 s of silence
#                                 or low-level noise (5-6 s when the phrase
#                                 ends the clip); columns
#                                 start_s end_s phrase_start_s phrase_end_s
#                                 voice variant clip text
#   pos/NNN.wav    pos.tsv        the individual positive clips; columns
#                                 clip duration_s phrase_start_s phrase_end_s
#                                 voice variant text
#   negatives.wav  negatives.tsv  speech without the phrase
#   nearmiss.wav   nearmiss.tsv   near misses ("hey commuter", "a computer", ...)
#   noise.wav      noise.tsv      pure silence, low-level noise, noise only
#   durations.tsv                 seconds of each long file
#   STAMP                         version line, written last
#
# Environment: JOBS (parallel jobs, default: number of CPUs).
set -euo pipefail
export LC_ALL=C   # the same text splitting and number formats everywhere

VERSION="hark-corpus 3"
RATE=16000
VOICES=(slt rms awb kal16)
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
OUT_FMT=(-r "$RATE" -c 1 -b 16 -e signed-integer)

die() { echo "make-corpus: $*" >&2; exit 1; }

# ---------------------------------------------------------------------------
# Helpers used by the jobs (all run inside $TMPD).

# rms FILE [TRIM_ARGS...] -> RMS amplitude (0..1) of FILE, or of a trimmed part.
rms() {
    local f=$1; shift
    sox "$f" -n "$@" stat 2>&1 | awk '/^RMS +amplitude/ {print $3; exit}'
}

samples() { soxi -s "$1"; }

# synth_part VOICE TEXT OUT FX... : flite, trim leading/trailing silence, effects.
synth_part() {
    local voice=$1 text=$2 out=$3; shift 3
    local raw="${out%.wav}.flite.wav"
    flite -voice "$voice" -t "$text" -o "$raw" >/dev/null 2>&1 \
        || die "flite failed for voice $voice: $text"
    sox -R "$raw" "${OUT_FMT[@]}" "$out" \
        silence 1 0.01 0.3% reverse silence 1 0.01 0.3% reverse "$@"
    rm -f "$raw"
}

# silence OUT SAMPLES : digital silence (no dither).
silence() {
    sox -R -D -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$1" trim 0 "${2}s"
}

# noise_slice COLOR OFFSET_S SAMPLES LEVEL OUT : a slice of the noise pool.
# LEVEL is "dB:X" (RMS of the slice set to X dBFS) or "vol:G" (linear gain).
noise_slice() {
    local color=$1 off=$2 n=$3 level=$4 out=$5 tmp="${5%.wav}.raw.wav" g
    sox -R "$TMPD/pool/$color.wav" "$tmp" trim "$off" "${n}s"
    [[ $(samples "$tmp") == "$n" ]] || die "noise slice $color at $off s: not $n samples"
    case $level in
        dB:*) g=$(awk -v r="$(rms "$tmp")" -v l="${level#dB:}" \
                  'BEGIN { printf "%.6f", 10^(l/20) / r }') ;;
        vol:*) g=${level#vol:} ;;
    esac
    sox -R "$tmp" "${OUT_FMT[@]}" "$out" vol "$g"
    rm -f "$tmp"
}

# mix_noise CLEAN OUT COLOR SNR OFF SPEECH_TRIM... : add noise so that the
# RMS of the speech part (SPEECH_TRIM = trim args) over the RMS of the noise
# slice is SNR dB. Prints the measured SNR.
mix_noise() {
    local clean=$1 out=$2 color=$3 snr=$4 off=$5; shift 5
    local n rs nfile="${out%.wav}.noise.wav" rn g
    n=$(samples "$clean")
    rs=$(rms "$clean" "$@")
    sox -R "$TMPD/pool/$color.wav" "$nfile" trim "$off" "${n}s"
    [[ $(samples "$nfile") == "$n" ]] || die "noise for $clean at $off s: not $n samples"
    rn=$(rms "$nfile")
    g=$(awk -v s="$rs" -v r="$rn" -v snr="$snr" \
        'BEGIN { printf "%.6f", s / (r * 10^(snr/20)) }')
    sox -R -G -m -v 1 "$clean" -v "$g" "$nfile" "${OUT_FMT[@]}" "$out"
    rm -f "$nfile"
}

# fx_args TEMPO PITCH -> sox effect words (none for 1 / 0)
fx_args() {
    local fx=()
    [[ $1 != 1 && $1 != 1.00 ]] && fx+=(tempo -s "$1")
    [[ $2 != 0 ]] && fx+=(pitch "$2")
    echo "${fx[@]}"
}

# ---------------------------------------------------------------------------
# Jobs: "$SELF" __job KIND LINE... (run by xargs, several in parallel).

job_pos() {
    local line=$1 id voice kind before after tempo pitch gain reverb color snr noff lead p1 p2 tail text
    IFS=$'\t' read -r id voice kind before after tempo pitch gain reverb color snr noff lead p1 p2 tail text \
        < <(sed -n "$((line + 1))p" "$TMPD/plan/pos.tsv")
    local w="$TMPD/jobs/pos$id"; mkdir -p "$w"
    local fx; read -r -a fx <<< "$(fx_args "$tempo" "$pitch")"
    local parts=() ns=0 ps pe
    silence "$w/lead.wav" "$(awk -v s="$lead" -v r=$RATE 'BEGIN{printf "%d", s*r}')"
    parts+=("$w/lead.wav"); ns=$(samples "$w/lead.wav")
    if [[ $before != - ]]; then
        synth_part "$voice" "$before" "$w/before.wav" "${fx[@]}"
        silence "$w/p1.wav" "$(awk -v s="$p1" -v r=$RATE 'BEGIN{printf "%d", s*r}')"
        parts+=("$w/before.wav" "$w/p1.wav")
        ns=$((ns + $(samples "$w/before.wav") + $(samples "$w/p1.wav")))
    fi
    synth_part "$voice" "hey computer" "$w/phrase.wav" "${fx[@]}"
    parts+=("$w/phrase.wav")
    ps=$ns; pe=$((ns + $(samples "$w/phrase.wav")))
    if [[ $after != - ]]; then
        synth_part "$voice" "$after" "$w/after.wav" "${fx[@]}"
        silence "$w/p2.wav" "$(awk -v s="$p2" -v r=$RATE 'BEGIN{printf "%d", s*r}')"
        parts+=("$w/p2.wav" "$w/after.wav")
    fi
    silence "$w/tail.wav" "$(awk -v s="$tail" -v r=$RATE 'BEGIN{printf "%d", s*r}')"
    parts+=("$w/tail.wav")
    sox -R "${parts[@]}" "${OUT_FMT[@]}" "$w/dry.wav"
    local n lead_n speech_n
    n=$(samples "$w/dry.wav"); lead_n=$(samples "$w/lead.wav")
    speech_n=$((n - lead_n - $(samples "$w/tail.wav")))
    local post=()
    [[ $reverb == 1 ]] && post+=(reverb 50 50 80)
    post+=(gain -n -3 gain "$gain")
    sox -R "$w/dry.wav" "${OUT_FMT[@]}" "$w/clean.wav" "${post[@]}"
    local out="$TMPD/pos/$id.wav"
    if [[ $color != - ]]; then
        mix_noise "$w/clean.wav" "$out" "$color" "$snr" "$noff" trim "${lead_n}s" "${speech_n}s"
    else
        mv "$w/clean.wav" "$out"
    fi
    printf '%s\t%s\t%s\n' "$id" "$ps" "$pe" > "$TMPD/pos/$id.times"
    rm -rf "$w"
}

# Negatives and near misses: one sentence each.
job_sent() {
    local set=$1 line=$2 id voice tempo pitch gain reverb color snr noff text
    IFS=$'\t' read -r id voice tempo pitch gain reverb color snr noff text \
        < <(sed -n "$((line + 1))p" "$TMPD/plan/$set.tsv")
    local w="$TMPD/jobs/$set$id"; mkdir -p "$w"
    local fx; read -r -a fx <<< "$(fx_args "$tempo" "$pitch")"
    synth_part "$voice" "$text" "$w/dry.wav" "${fx[@]}"
    local n post=()
    n=$(samples "$w/dry.wav")
    [[ $reverb == 1 ]] && post+=(reverb 50 50 80)
    post+=(gain -n -3 gain "$gain")
    sox -R "$w/dry.wav" "${OUT_FMT[@]}" "$w/clean.wav" "${post[@]}"
    local out="$TMPD/$set/$id.wav"
    if [[ $color != - ]]; then
        mix_noise "$w/clean.wav" "$out" "$color" "$snr" "$noff"
    else
        mv "$w/clean.wav" "$out"
    fi
    rm -rf "$w"
}

if [[ ${1:-} == __job ]]; then
    TMPD=$2; kind=$3; shift 3
    for line in "$@"; do
        case $kind in
            pos) job_pos "$line" ;;
            neg|nm) job_sent "$kind" "$line" ;;
        esac
    done
    exit 0
fi

# ---------------------------------------------------------------------------
# Main.

usage() { echo "usage: $0 OUTDIR [small|full]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
OUTDIR=${1%/}
MODE=${2:-small}
[[ $MODE == small || $MODE == full ]] || usage
STAMP_LINE="$VERSION mode=$MODE"

if [[ -f $OUTDIR/STAMP && "$(cat "$OUTDIR/STAMP")" == "$STAMP_LINE" ]]; then
    echo "make-corpus: $OUTDIR is up to date ($STAMP_LINE)" >&2
    exit 0
fi

for tool in flite sox soxi awk sed xargs cksum; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "'$tool' not found (Debian: apt-get install -y flite sox)"
done
have_voices=$(flite -lv 2>&1)
for v in "${VOICES[@]}"; do
    [[ " $have_voices " == *" $v "* ]] || die "flite voice '$v' missing (flite -lv: $have_voices)"
done
LICDIR=/usr/share/common-licenses
[[ -r $LICDIR/GPL-3 ]] || die "$LICDIR/GPL-3 not found (Debian package base-files)"

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TMPD="$OUTDIR.tmp"
rm -rf "$TMPD"
mkdir -p "$TMPD"/{plan,pool,jobs,pos,neg,nm,asm}
trap 'rm -rf "$TMPD"' EXIT
START_TIME=$SECONDS

if [[ $MODE == full ]]; then
    POS_VARIANTS=2      # per carrier and voice: 22 carriers x 4 voices x 2
    NEG_SECONDS=3600
    NM_VOICES=4         # each near-miss sentence in this many voices
    POOL_SECONDS=300
else
    POS_VARIANTS=0      # small: 12 hand-picked clips
    NEG_SECONDS=30
    NM_VOICES=1
    POOL_SECONDS=60
fi

# Noise pool: one long deterministic recording per colour; slices are cut at
# planned offsets. Brown noise gets a high-pass so it does not drift.
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/white.wav" synth "$POOL_SECONDS" whitenoise gain -3
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/pink.wav" synth "$POOL_SECONDS" pinknoise gain -3
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/brown.wav" synth "$POOL_SECONDS" brownnoise gain -6 highpass 20 gain -n -1

# ---------------------------------------------------------------------------
# Plans. One awk program with its own PRNG (Park-Miller, exact in doubles, so
# mawk and gawk give the same corpus) writes every plan.

# Source text for negatives: each distinct licence text once.
declare -A seen=()
LICFILES=()
for f in "$LICDIR"/*; do
    [[ -f $f ]] || continue
    sum=$(cksum < "$f")
    [[ -n ${seen[$sum]:-} ]] && continue
    seen[$sum]=1
    LICFILES+=("$f")
done

awk -v mode="$MODE" -v posvar="$POS_VARIANTS" -v negsec="$NEG_SECONDS" \
    -v nmvoices="$NM_VOICES" -v pool="$POOL_SECONDS" -v plandir="$TMPD/plan" '
function rnd() { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
function uni(a, b) { return a + (b - a) * rnd() }
function irand(n) { return int(n * rnd()) % n }
function orz(s) { return s == "" ? "-" : s }
BEGIN { seed = 20240601 }
# Licence text: collect cleaned sentences.
{
    line = $0
    gsub(/<[^>]*>/, " ", line)                 # <https://...>
    gsub(/https?:[^ ]*/, " ", line)
    gsub(/[\t]/, " ", line)
    if (line ~ /^[ ]*$/) { flush(); next }    # paragraph break ends a sentence
    nw = split(line, w, " ")
    for (i = 1; i <= nw; i++) {
        tok = w[i]
        if (tok !~ /[A-Za-z0-9]/) continue     # punctuation-only token
        gsub(/[_*=#|~^`"<>{}]/, "", tok)
        if (tok == "") continue
        cur = cur (cur == "" ? "" : " ") tok
        curw++
        if (tok ~ /[.!?;:]$/ && tok !~ /^[0-9a-zA-Z][0-9a-zA-Z]?\.$/ && tok !~ /^[a-z]\.[a-z]\.$/) flush()
        else if (curw >= 30 && tok ~ /,$/) flush()
        else if (curw >= 40) flush()
    }
}
function flush(   s) {
    s = cur; cur = ""; n = curw; curw = 0
    if (n < 4) return
    if (tolower(s) ~ /hey,? computer/) return
    gsub(/[.;:,]+$/, "", s)
    if (seenS[s]++) return
    ns++; sent[ns] = s; sentw[ns] = n
}
END {
    flush()
    split("slt rms awb kal16", V, " ")
    split("white pink brown", C, " ")
    split("20 15 10 5", SNR, " ")

    # ---- positives: carriers "before|after" (- = none)
    nc = split("-|what is the weather like today;" \
        "I was thinking|set a timer for ten minutes;" \
        "-|play some music;" \
        "okay|turn off the lights in the kitchen;" \
        "so I said|-;" \
        "can you hear me|-;" \
        "-|-;" \
        "excuse me|what time is it;" \
        "-|remind me to call my mother tomorrow;" \
        "good morning|read me the news;" \
        "well|how far is it to the station;" \
        "listen|add milk to the shopping list;" \
        "I wonder if it works when I say|-;" \
        "-|stop;" \
        "after dinner we sat down and then|dim the lights please;" \
        "-|what is twelve times seven;" \
        "right|call the office;" \
        "let us try again|-;" \
        "-|set an alarm for seven in the morning;" \
        "please listen carefully|open the garage door;" \
        "-|how do you spell necessary;" \
        "it is getting late|lock the front door", CAR, ";")
    f = plandir "/pos.tsv"
    print "#id\tvoice\tkind\tbefore\tafter\ttempo\tpitch\tgain\treverb\tcolor\tsnr\tnoise_off\tlead\tp1\tp2\ttail\ttext" > f
    np = 0
    if (mode == "small") {
        # 12 clips, voices rotating, the last 3 with 20/15/20 dB noise.
        for (k = 1; k <= 12; k++) {
            c = (k * 7) % nc + 1
            noisy = (k > 9)
            pos_row(c, V[(k - 1) % 4 + 1], k <= 4 ? "clean" : "mod", noisy ? C[k - 9] : "", noisy ? (k == 11 ? 15 : 20) : "")
        }
    } else {
        nn = 0
        for (c = 1; c <= nc; c++) for (v = 1; v <= 4; v++) for (r = 1; r <= posvar; r++) {
            if (r == 1) pos_row(c, V[v], (c + v) % 2 ? "clean" : "mod", "", "")
            else { nn++; pos_row(c, V[v], "mod", C[(nn - 1) % 3 + 1], SNR[int((nn - 1) / 3) % 4 + 1]) }
        }
    }

    # ---- near misses
    nm = split("I need a computer for my homework;" \
        "hey commuter, mind the gap;" \
        "they computed the answer in seconds;" \
        "hey come pewter mugs are on the shelf;" \
        "the computer needs a restart;" \
        "hey, compute this for me;" \
        "my computer is slow today;" \
        "hey commuter, your train is here;" \
        "they computed it again;" \
        "a computer can be very useful;" \
        "hey, compute the total please;" \
        "the computer and the printer are off", NM, ";")
    f = plandir "/nm.tsv"
    print "#id\tvoice\ttempo\tpitch\tgain\treverb\tcolor\tsnr\tnoise_off\ttext" > f
    k = 0
    for (i = 1; i <= nm; i++) for (v = 0; v < nmvoices; v++) {
        k++
        voice = V[(i + v - 1) % 4 + 1]
        tempo = (k % 3 == 0) ? 1 : sprintf("%.2f", uni(0.9, 1.12))
        pitch = (k % 3 == 0) ? 0 : int(uni(-200, 200))
        printf "%03d\t%s\t%s\t%s\t%.1f\t0\t-\t-\t0\t%s\n", k, voice, tempo, pitch, -uni(0, 9), NM[i] > f
    }

    # ---- negatives: deterministic shuffle of the sentences, then take them
    # until the word budget for NEG_SECONDS (~2.6 words/s here).
    for (i = ns; i > 1; i--) { j = irand(i) + 1; t = sent[i]; sent[i] = sent[j]; sent[j] = t; t = sentw[i]; sentw[i] = sentw[j]; sentw[j] = t }
    budget = negsec * 2.6
    f = plandir "/neg.tsv"
    print "#id\tvoice\ttempo\tpitch\tgain\treverb\tcolor\tsnr\tnoise_off\ttext" > f
    words = 0
    for (i = 1; i <= ns && words < budget; i++) {
        words += sentw[i]
        voice = V[(i - 1) % 4 + 1]
        tempo = sprintf("%.2f", uni(0.88, 1.15)); pitch = int(uni(-250, 250))
        gain = -uni(0, 12); rev = (rnd() < 0.2) ? 1 : 0
        if (rnd() < 0.25) { color = C[irand(3) + 1]; snr = SNR[irand(4) + 1] } else { color = "-"; snr = "-" }
        printf "%04d\t%s\t%s\t%s\t%.1f\t%d\t%s\t%s\t%.2f\t%s\n", i, voice, tempo, pitch, gain, rev, color, snr, uni(0, pool - 40), sent[i] > f
    }
    if (i > ns) print "make-corpus: warning: ran out of licence text for negatives" > "/dev/stderr"

    # ---- gaps between clips in the long files: seconds and kind
    f = plandir "/gaps.tsv"
    for (i = 1; i <= 4000; i++)
        printf "%.2f\t%.2f\t%s\t%.2f\n", uni(1, 2), uni(0.3, 0.8), (rnd() < 0.5) ? "silence" : "lownoise", uni(0, pool - 10) > f
}
function pos_row(c, voice, style, color, snr,   ba, before, after, kind, tempo, pitch, gain, rev, variant) {
    split(CAR[c], ba, "|"); before = ba[1]; after = ba[2]
    kind = (before == "-" && after == "-") ? "alone" : (before == "-") ? "start" : (after == "-") ? "end" : "middle"
    if (style == "clean") { tempo = 1; pitch = 0; gain = 0; rev = 0; variant = "clean" }
    else {
        tempo = sprintf("%.2f", uni(0.85, 1.2)); pitch = int(uni(-300, 300))
        gain = sprintf("%.1f", -uni(0, 12)); rev = (rnd() < 0.3) ? 1 : 0
        variant = sprintf("tempo=%s,pitch=%d,gain=%s,reverb=%s", tempo, pitch, gain, rev ? "yes" : "no")
    }
    if (color != "") variant = variant ",noise=" color ",snr=" snr
    np++
    printf "%03d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.2f\t0.50\t%.2f\t%.2f\t1.00\t%s\n", np, voice, kind, before, after, tempo, pitch, gain, rev, orz(color), orz(snr), uni(0, pool - 20), uni(0.1, 0.3), uni(0.1, 0.3), \
        (before == "-" ? "" : before ", ") "hey computer" (after == "-" ? "" : ", " after) "\t" variant > f
}' "${LICFILES[@]}"

# pos.tsv ends with text<TAB>variant: job_pos reads both into its last
# variable (unused); the assembly below reads them apart.

run_jobs() {  # KIND PLAN
    local n; n=$(($(wc -l < "$TMPD/plan/$2.tsv") - 1))
    [[ $n -gt 0 ]] || return 0
    seq 1 "$n" | xargs -P "$JOBS" -n 8 "$SELF" __job "$TMPD" "$1"
}
echo "make-corpus: synthesizing ($MODE, $JOBS jobs)" >&2
run_jobs pos pos
run_jobs nm nm
run_jobs neg neg

# ---------------------------------------------------------------------------
# Assembly of the long files by concatenating raw samples (exact offsets).

GAPLINE=0
next_gap() {  # sets GAP_LONG GAP_SHORT GAP_KIND GAP_OFF
    GAPLINE=$((GAPLINE + 1))
    IFS=$'\t' read -r GAP_LONG GAP_SHORT GAP_KIND GAP_OFF < <(sed -n "${GAPLINE}p" "$TMPD/plan/gaps.tsv")
}
# gap_raw SECONDS KIND OFF >> raw : silence or low-level (-60 dBFS) white noise.
gap_raw() {
    local n; n=$(awk -v s="$1" -v r=$RATE 'BEGIN{printf "%d", s*r}')
    if [[ $2 == silence ]]; then
        head -c $((2 * n)) /dev/zero
    else
        noise_slice white "$3" "$n" dB:-60 "$TMPD/asm/g.wav"
        sox "$TMPD/asm/g.wav" -t raw -
    fi
    GAP_N=$n
}
secs() { awk -v n="$1" -v r=$RATE 'BEGIN{printf "%.4f", n/r}'; }
# wav_from_raw RAW WAV SAMPLES : wrap, and check that the offsets written to
# the manifest add up to the audio.
wav_from_raw() {
    sox -t raw "${OUT_FMT[@]}" "$1" "$2"; rm -f "$1"
    [[ $(samples "$2") == "$3" ]] || die "$2: $(samples "$2") samples, manifest says $3"
}

# positives.wav
{
    printf '#start_s\tend_s\tphrase_start_s\tphrase_end_s\tvoice\tvariant\tclip\ttext\n' > "$TMPD/positives.tsv"
    printf '#clip\tduration_s\tphrase_start_s\tphrase_end_s\tvoice\tvariant\ttext\n' > "$TMPD/pos.tsv"
    : > "$TMPD/asm/positives.raw"
    gap_raw 1 silence 0 >> "$TMPD/asm/positives.raw"
    pos=$GAP_N
    while IFS=$'\t' read -r id voice kind before after tempo pitch gain reverb color snr noff lead p1 p2 tail text variant; do
        [[ $id == \#* ]] && continue
        n=$(samples "$TMPD/pos/$id.wav")
        IFS=$'\t' read -r _ ps pe < "$TMPD/pos/$id.times"
        sox "$TMPD/pos/$id.wav" -t raw - >> "$TMPD/asm/positives.raw"
        printf '%s\t%s\t%s\t%s\t%s\t%s\tpos/%s.wav\t%s\n' "$(secs "$pos")" "$(secs $((pos + n)))" \
            "$(secs $((pos + ps)))" "$(secs $((pos + pe)))" "$voice" "$variant" "$id" "$text" >> "$TMPD/positives.tsv"
        printf 'pos/%s.wav\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$(secs "$n")" "$(secs "$ps")" "$(secs "$pe")" \
            "$voice" "$variant" "$text" >> "$TMPD/pos.tsv"
        pos=$((pos + n))
        rm -f "$TMPD/pos/$id.times"
        # Quiet after the clip: 1-2 s, or 5-6 s when nothing follows the
        # phrase in the clip. After a wake, hark waits for the request and
        # does not spot; with no request it gives up after [endpoint]
        # no_speech (5 s by default). Without the longer gap the next
        # clip's phrase would be taken as the request.
        next_gap
        gap_s=$GAP_LONG
        [[ $kind == end || $kind == alone ]] && gap_s=$(awk -v g="$GAP_LONG" 'BEGIN { print g + 4 }')
        gap_raw "$gap_s" "$GAP_KIND" "$GAP_OFF" >> "$TMPD/asm/positives.raw"
        pos=$((pos + GAP_N))
    done < "$TMPD/plan/pos.tsv"
    wav_from_raw "$TMPD/asm/positives.raw" "$TMPD/positives.wav" "$pos"
}

# negatives.wav and nearmiss.wav: sentences with short silences between them.
assemble_sentences() {  # SET OUTNAME GAP(long|short)
    local set=$1 name=$2 pos=0 n id voice tempo pitch gain reverb color snr noff text variant
    printf '#start_s\tend_s\tvoice\tvariant\ttext\n' > "$TMPD/$name.tsv"
    : > "$TMPD/asm/$name.raw"
    while IFS=$'\t' read -r id voice tempo pitch gain reverb color snr noff text; do
        [[ $id == \#* ]] && continue
        next_gap
        if [[ $3 == long ]]; then
            gap_raw "$GAP_LONG" "$GAP_KIND" "$GAP_OFF" >> "$TMPD/asm/$name.raw"
        else
            gap_raw "$GAP_SHORT" silence 0 >> "$TMPD/asm/$name.raw"
        fi
        pos=$((pos + GAP_N))
        n=$(samples "$TMPD/$set/$id.wav")
        sox "$TMPD/$set/$id.wav" -t raw - >> "$TMPD/asm/$name.raw"
        variant="tempo=$tempo,pitch=$pitch,gain=$gain,reverb=$([[ $reverb == 1 ]] && echo yes || echo no)"
        [[ $color != - ]] && variant+=",noise=$color,snr=$snr"
        printf '%s\t%s\t%s\t%s\t%s\n' "$(secs "$pos")" "$(secs $((pos + n)))" "$voice" "$variant" "$text" >> "$TMPD/$name.tsv"
        pos=$((pos + n))
        rm -f "$TMPD/$set/$id.wav"
    done < "$TMPD/plan/$set.tsv"
    gap_raw 1 silence 0 >> "$TMPD/asm/$name.raw"
    pos=$((pos + GAP_N))
    wav_from_raw "$TMPD/asm/$name.raw" "$TMPD/$name.wav" "$pos"
    rmdir "$TMPD/$set"
}
assemble_sentences nm nearmiss long
assemble_sentences neg negatives short

# noise.wav: pure silence, low-level noise, noise only (kind color level_dBFS seconds [tremolo]).
if [[ $MODE == full ]]; then
    NOISE_PLAN="silence - - 60
lownoise white -70 20
lownoise pink -65 20
lownoise brown -60 20
lownoise white -55 20
lownoise pink -50 20
lownoise brown -50 20
noise white -40 30
noise pink -40 30
noise brown -40 30
noise white -30 30
noise pink -30 30
noise brown -30 30
noise white -20 30
noise pink -20 30
noise brown -20 30
noise pink -30 30 0.3
noise brown -25 30 1
silence - - 60"
else
    NOISE_PLAN="silence - - 10
lownoise white -60 10
noise white -30 7
noise pink -30 7
noise brown -25 6"
fi
{
    printf '#start_s\tend_s\tkind\tcolor\tlevel_dbfs\tmodulation_hz\n' > "$TMPD/noise.tsv"
    pos=0; k=0
    : > "$TMPD/asm/noise.raw"
    while read -r kind color level dur trem; do
        k=$((k + 1))
        n=$(awk -v s="$dur" -v r=$RATE 'BEGIN{printf "%d", s*r}')
        if [[ $kind == silence ]]; then
            head -c $((2 * n)) /dev/zero >> "$TMPD/asm/noise.raw"
        else
            off=$(awk -v k="$k" -v p="$POOL_SECONDS" -v d="$dur" 'BEGIN{printf "%.2f", (k * 37.3) % (p - d - 1)}')
            noise_slice "$color" "$off" "$n" "dB:$level" "$TMPD/asm/n.wav"
            if [[ -n ${trem:-} ]]; then
                sox -R "$TMPD/asm/n.wav" -t raw - tremolo "$trem" 90 >> "$TMPD/asm/noise.raw"
            else
                sox "$TMPD/asm/n.wav" -t raw - >> "$TMPD/asm/noise.raw"
            fi
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(secs "$pos")" "$(secs $((pos + n)))" "$kind" "$color" "$level" "${trem:--}" >> "$TMPD/noise.tsv"
        pos=$((pos + n))
    done <<< "$NOISE_PLAN"
    wav_from_raw "$TMPD/asm/noise.raw" "$TMPD/noise.wav" "$pos"
}

{
    printf '#file\tseconds\n'
    for f in positives negatives nearmiss noise; do
        printf '%s.wav\t%s\n' "$f" "$(soxi -D "$TMPD/$f.wav")"
    done
} > "$TMPD/durations.tsv"
rm -rf "$TMPD/plan" "$TMPD/pool" "$TMPD/jobs" "$TMPD/asm"

cat > "$TMPD/README" <<EOF
Generated by tests/corpus/make-corpus.sh ($STAMP_LINE); do not edit.
Voices: ${VOICES[*]} (flite). 16 kHz mono 16-bit WAV. See the script header
for the layout and the columns of the .tsv manifests.
EOF
echo "$STAMP_LINE" > "$TMPD/STAMP"

trap - EXIT
rm -rf "$OUTDIR"
mv "$TMPD" "$OUTDIR"
echo "make-corpus: wrote $OUTDIR ($MODE) in $((SECONDS - START_TIME)) s:" >&2
sed 's/^/  /' "$OUTDIR/durations.tsv" >&2
echo "  positive clips: $(($(wc -l < "$OUTDIR/pos.tsv") - 1))" >&2
