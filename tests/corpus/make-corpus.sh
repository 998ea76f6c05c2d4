#!/usr/bin/env bash
# make-corpus.sh OUTDIR [small|quick|full] [PHRASE]
#
# Generates a wake-word test corpus for PHRASE ("hey computer", the default,
# "alexa" or "hey jarvis") with flite, festival and espeak-ng voices and sox:
# positives (the phrase inside carrier sentences, with tempo, pitch, gain,
# reverb and noise variations), near misses, negative
# speech without the phrase (sentences of the licence texts under
# /usr/share/common-licenses) and a silence/noise set. Noise types: white,
# pink and brown noise, babble (several voices of the corpus's own speech at
# once), a synthetic music bed and a fan with mains hum. Everything is 16 kHz
# mono 16-bit WAV and deterministic (fixed seeds, sox -R). The result is
# cached: when OUTDIR already holds a complete corpus of the same version, mode
# and phrase (its STAMP file), nothing is done. The small mode (for the test suite)
# uses the flite voices only; the full mode (the benchmark's) needs festival
# and espeak-ng too; the quick mode has the full mode's voices with fewer
# carriers and less speech (for developing the benchmark).
#
# Voices held out of the neural detector's training (wakeword/train/hark-train
# never uses them; the benchmark reports on them apart): festival's
# kal_diphone and cmu_us_slt_arctic_hts and the espeak-ng voices below
# (accents en-029 and en-us-nyc). The others (flite's, festival's ked_diphone)
# are voices the trainer also speaks with, though never these sentences.
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
#   nearmiss.wav   nearmiss.tsv   near misses ("hey commuter", "a computer", ...;
#                                 each phrase has its own)
#   noise.wav      noise.tsv      pure silence, low-level noise, noise only
#   durations.tsv                 seconds of each long file
#   STAMP                         version line, written last
#
# Environment: JOBS (parallel jobs, default: number of CPUs).
set -euo pipefail
export LC_ALL=C   # the same text splitting and number formats everywhere

VERSION="hark-corpus 5"
RATE=16000
FLITE_VOICES=(slt rms awb kal16)
# Debian festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts (full mode).
FEST_VOICES=(kal_diphone ked_diphone cmu_us_slt_arctic_hts)
# espeak-ng accent+variant pairs the trainer never uses (quick and full mode).
ESPEAK_VOICES=(en-029+f4 en-029+klatt2 en-us-nyc+m5 en-us-nyc+f5)
# Noise types: the pools below, one file each; the first three are sox's.
NOISES=(white pink brown babble music fan)
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

is_fest() { [[ " ${FEST_VOICES[*]} " == *" $1 "* ]]; }
is_espeak() { [[ $1 == *+* ]]; }

# synth_part VOICE TEXT OUT FX... : flite, festival or espeak-ng (a voice
# with a '+'), trim leading/trailing
# silence, effects.
synth_part() {
    local voice=$1 text=$2 out=$3; shift 3
    local raw="${out%.wav}.tts.wav"
    if is_fest "$voice"; then
        # festival gets plain ASCII words: its diphone voices crash on a
        # token that is only punctuation ("it is? ?").
        printf '%s\n' "$text" | tr -c 'A-Za-z0-9 .,;:!?()\n'"'"'-' ' ' \
            | awk '{ o = ""; for (i = 1; i <= NF; i++) if ($i ~ /[A-Za-z0-9]/) o = o (o == "" ? "" : " ") $i; print o }' \
            > "${out%.wav}.txt"
        text2wave -eval "(voice_$voice)" -o "$raw" "${out%.wav}.txt" >/dev/null 2>&1 \
            && [[ -s $raw ]] || die "festival (text2wave) failed for voice $voice: $text"
        rm -f "${out%.wav}.txt"
    elif is_espeak "$voice"; then
        espeak-ng -v "$voice" -w "$raw" "$text" >/dev/null 2>&1 && [[ -s $raw ]] \
            || die "espeak-ng failed for voice $voice: $text"
    else
        flite -voice "$voice" -t "$text" -o "$raw" >/dev/null 2>&1 \
            || die "flite failed for voice $voice: $text"
    fi
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
    synth_part "$voice" "$PHRASE" "$w/phrase.wav" "${fx[@]}"
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

# Babble: one sentence of one talker, dry, then the pause before the next.
job_bab() {
    local line=$1 id talker voice tempo pitch pause text
    IFS=$'\t' read -r id talker voice tempo pitch pause text \
        < <(sed -n "$((line + 1))p" "$TMPD/plan/bab.tsv")
    local fx; read -r -a fx <<< "$(fx_args "$tempo" "$pitch")"
    synth_part "$voice" "$text" "$TMPD/bab/$id.wav" "${fx[@]}" gain -n -3 pad 0 "$pause"
}

if [[ ${1:-} == __job ]]; then
    TMPD=$2; PHRASE=$3; kind=$4; shift 4
    for line in "$@"; do
        case $kind in
            pos) job_pos "$line" ;;
            neg|nm) job_sent "$kind" "$line" ;;
            bab) job_bab "$line" ;;
        esac
    done
    exit 0
fi

# ---------------------------------------------------------------------------
# Main.

usage() { echo "usage: $0 OUTDIR [small|quick|full] [\"hey computer\"|alexa|\"hey jarvis\"]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 3 ]] || usage
OUTDIR=${1%/}
MODE=${2:-small}
PHRASE=${3:-hey computer}
[[ $MODE == small || $MODE == quick || $MODE == full ]] || usage
case $PHRASE in
    "hey computer"|alexa|"hey jarvis") ;;
    *) die "no near misses known for the phrase '$PHRASE' (\"hey computer\", alexa, \"hey jarvis\")" ;;
esac
# The default phrase has no phrase in its stamp (its corpus is the one the
# tests use).
STAMP_LINE="$VERSION mode=$MODE"
[[ $PHRASE == "hey computer" ]] || STAMP_LINE="$STAMP_LINE phrase=$PHRASE"

if [[ -f $OUTDIR/STAMP && "$(cat "$OUTDIR/STAMP")" == "$STAMP_LINE" ]]; then
    echo "make-corpus: $OUTDIR is up to date ($STAMP_LINE)" >&2
    exit 0
fi

for tool in flite sox soxi awk sed xargs cksum tr; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "'$tool' not found (Debian: apt-get install -y flite sox)"
done
have_voices=$(flite -lv 2>&1)
for v in "${FLITE_VOICES[@]}"; do
    [[ " $have_voices " == *" $v "* ]] || die "flite voice '$v' missing (flite -lv: $have_voices)"
done
LICDIR=/usr/share/common-licenses
[[ -r $LICDIR/GPL-3 ]] || die "$LICDIR/GPL-3 not found (Debian package base-files)"

JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
TMPD="$OUTDIR.tmp"
rm -rf "$TMPD"
mkdir -p "$TMPD"/{plan,pool,jobs,pos,neg,nm,bab,asm}
trap 'rm -rf "$TMPD"' EXIT
START_TIME=$SECONDS

NCARRIERS=0  # carriers used (0: all)
if [[ $MODE == full ]]; then
    VOICES=("${FLITE_VOICES[@]}" "${FEST_VOICES[@]}" "${ESPEAK_VOICES[@]}")
    POS_VARIANTS=2      # per carrier and voice: 22 carriers x 11 voices x 2
    NEG_SECONDS=5400    # the licence texts give about 60 min; then again in other voices
    NM_VOICES=7         # each near-miss sentence in this many voices
    POOL_SECONDS=300
    BABBLE_SECONDS=300  # of each talker's speech (looped up to the pool)
elif [[ $MODE == quick ]]; then
    VOICES=("${FLITE_VOICES[@]}" "${FEST_VOICES[@]}" "${ESPEAK_VOICES[@]}")
    POS_VARIANTS=2
    NCARRIERS=5         # 5 carriers x 11 voices x 2
    NEG_SECONDS=600
    NM_VOICES=3
    POOL_SECONDS=120
    BABBLE_SECONDS=60
else
    VOICES=("${FLITE_VOICES[@]}")
    POS_VARIANTS=0      # small: 15 hand-picked clips
    NEG_SECONDS=30
    NM_VOICES=1
    POOL_SECONDS=60
    BABBLE_SECONDS=20
fi
BABBLE_TALKERS=4

if [[ $MODE != small ]]; then
    command -v espeak-ng >/dev/null 2>&1 || die "'espeak-ng' not found (Debian: apt-get install -y espeak-ng)"
    for v in "${ESPEAK_VOICES[@]}"; do
        espeak-ng -v "$v" -w "$TMPD/probe.wav" "test" >/dev/null 2>&1 && [[ -s $TMPD/probe.wav ]] \
            || die "espeak-ng voice '$v' missing"
    done
    rm -f "$TMPD/probe.wav"
    command -v text2wave >/dev/null 2>&1 \
        || die "'text2wave' not found (Debian: apt-get install -y festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)"
    for v in "${FEST_VOICES[@]}"; do
        echo "test" > "$TMPD/probe.txt"
        text2wave -eval "(voice_$v)" -o "$TMPD/probe.wav" "$TMPD/probe.txt" >/dev/null 2>&1 && [[ -s $TMPD/probe.wav ]] \
            || die "festival voice '$v' missing (Debian: festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)"
    done
    rm -f "$TMPD/probe.txt" "$TMPD/probe.wav"
fi

# Noise pools: one long deterministic recording per type, POOL_SECONDS each;
# slices are cut at planned offsets. Brown noise gets a high-pass so it does
# not drift. The babble pool is made after the plans (it is speech).
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/white.wav" synth "$POOL_SECONDS" whitenoise gain -3
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/pink.wav" synth "$POOL_SECONDS" pinknoise gain -3
sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$TMPD/pool/brown.wav" synth "$POOL_SECONDS" brownnoise gain -6 highpass 20 gain -n -1

# fan: low-passed brown noise with a slight 9 Hz blade flutter, and mains hum
# (50 Hz and harmonics) about 5 dB below it.
make_fan() {
    local d="$TMPD/jobs/fan"; mkdir -p "$d"
    sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$d/air.wav" synth "$POOL_SECONDS" brownnoise \
        highpass 30 lowpass 500 lowpass 900 tremolo 9 10 gain -n -3
    sox -R -r "$RATE" -c 6 -n "${OUT_FMT[@]}" "$d/hum.wav" synth "$POOL_SECONDS" \
        sine 50 sine 100 sine 150 sine 200 sine 250 sine 350 remix 1v0.6,2v1,3v0.7,4v0.3,5v0.25,6v0.1 gain -n -3
    sox -R -G -m -v 0.7 "$d/air.wav" -v 0.25 "$d/hum.wav" "${OUT_FMT[@]}" "$TMPD/pool/fan.wav" gain -n -1
    rm -rf "$d"
}

# music: a 32 s song (120 bpm, 16 bars of strummed plucked chords, a plucked
# bass, a melody and kick/hi-hat on eighths), looped to the pool length.
# (sox plucks only at 44.1-48 kHz.)
make_music() {
    local d="$TMPD/jobs/music"; mkdir -p "$d"
    local -A chord=([C]="C3 E3 G3 C4 E4" [Am]="A2 E3 A3 C4 E4" [F]="F2 C3 F3 A3 C4"
                    [G]="G2 B2 D3 G3 B3" [Em]="E2 B2 E3 G3 B3" [Dm]="D3 A3 D4 F4 A4")
    local -A bass=([C]=C2 [Am]=A1 [F]=F1 [G]=G1 [Em]=E2 [Dm]=D2)
    local song="C Am F G C Am F G F G Em Am Dm G C C" c n pl
    for c in "${!chord[@]}"; do
        pl=(); for n in ${chord[$c]}; do pl+=(pluck "$n"); done
        sox -R -r 48000 -c 5 -n "${OUT_FMT[@]}" "$d/strum-$c.wav" synth 0.5 "${pl[@]}" \
            delay 0 0.012 0.024 0.036 0.048 remix - fade 0 0.5 0.1 gain -n -3
        sox -R -r 48000 -c 1 -n "${OUT_FMT[@]}" "$d/bass-$c.wav" synth 1 pluck "${bass[$c]}" fade 0 1 0.2 gain -n -3
    done
    for n in C5 D5 E5 G5 A5 C6; do
        sox -R -r 48000 -c 1 -n "${OUT_FMT[@]}" "$d/mel-$n.wav" synth 0.25 pluck "$n" fade 0 0.25 0.05 gain -n -3
    done
    silence "$d/mel-rest.wav" $((RATE / 4))
    sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$d/hat.wav" synth 0.04 whitenoise highpass 6000 fade 0 0.04 0.03 gain -n -12 pad 0 0.21
    sox -R -r "$RATE" -c 1 -n "${OUT_FMT[@]}" "$d/kick.wav" synth 0.25 sine 130:45 fade 0.002 0.25 0.2 gain -n -3
    sox -R -G -m -v 1 "$d/kick.wav" -v 1 "$d/hat.wav" "${OUT_FMT[@]}" "$d/kickhat.wav"
    # Melody: a fixed pseudo-random walk over the notes, a rest now and then.
    local mel
    mel=$(awk 'BEGIN { s = 7; split("C5 D5 E5 G5 A5 C6", N, " "); k = 3
        for (i = 0; i < 128; i++) { s = (s * 16807) % 2147483647; r = s / 2147483647
            if (r < 0.2) { printf "rest " } else { k += (r < 0.6) ? -1 : 1; if (k < 1) k = 2; if (k > 6) k = 5; printf "%s ", N[k] } } }')
    local chords=() basses=() mels=() drums=() i
    for c in $song; do
        chords+=("$d/strum-$c.wav" "$d/strum-$c.wav" "$d/strum-$c.wav" "$d/strum-$c.wav")
        basses+=("$d/bass-$c.wav" "$d/bass-$c.wav")
        for i in 0 1 2 3 4 5 6 7; do
            drums+=("$d/$([[ $i == 0 || $i == 4 ]] && echo kickhat || echo hat).wav")
        done
    done
    for n in $mel; do mels+=("$d/mel-$n.wav"); done
    sox -R "${chords[@]}" "${OUT_FMT[@]}" "$d/l-chords.wav"
    sox -R "${basses[@]}" "${OUT_FMT[@]}" "$d/l-bass.wav"
    sox -R "${mels[@]}" "${OUT_FMT[@]}" "$d/l-mel.wav"
    sox -R "${drums[@]}" "${OUT_FMT[@]}" "$d/l-drums.wav"
    sox -R -G -m -v 0.34 "$d/l-chords.wav" -v 0.27 "$d/l-bass.wav" -v 0.2 "$d/l-mel.wav" -v 0.17 "$d/l-drums.wav" \
        "${OUT_FMT[@]}" "$d/song.wav" gain -n -3
    loop_to "$d/song.wav" "$TMPD/pool/music.wav" "$POOL_SECONDS"
    rm -rf "$d"
}

# loop_to IN OUT SECONDS : IN repeated and cut to exactly SECONDS.
loop_to() {
    local n want reps
    n=$(samples "$1"); want=$((RATE * $3))
    reps=$(( (want + n - 1) / n - 1 ))
    sox -R "$1" "${OUT_FMT[@]}" "$2" repeat "$reps" trim 0 "${want}s"
    [[ $(samples "$2") == "$want" ]] || die "$2: not $want samples"
}
make_fan
make_music

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
    -v phrase="$PHRASE" -v ncar="$NCARRIERS" \
    -v nmvoices="$NM_VOICES" -v pool="$POOL_SECONDS" -v plandir="$TMPD/plan" \
    -v voices="${VOICES[*]}" -v noises="${NOISES[*]}" \
    -v babsec="$BABBLE_SECONDS" -v babtalk="$BABBLE_TALKERS" '
function rnd() { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
function uni(a, b) { return a + (b - a) * rnd() }
function irand(n) { return int(n * rnd()) % n }
function orz(s) { return s == "" ? "-" : s }
BEGIN {
    seed = 20240601
    # The phrase, also with a comma between its words; its last word (no
    # babble sentence holds it).
    np_ = split(phrase, PW, " "); phrase_re = PW[1]
    for (i = 2; i <= np_; i++) phrase_re = phrase_re ",? " PW[i]
    keyword = PW[np_]
}
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
    if (tolower(s) ~ phrase_re) return
    gsub(/[.;:,]+$/, "", s)
    if (seenS[s]++) return
    ns++; sent[ns] = s; sentw[ns] = n
}
END {
    flush()
    nv = split(voices, V, " ")
    nnt = split(noises, C, " ")
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
    # The quick mode takes every few carriers.
    cstep = (ncar > 0 && ncar < nc) ? int(nc / ncar) : 1
    f = plandir "/pos.tsv"
    print "#id\tvoice\tkind\tbefore\tafter\ttempo\tpitch\tgain\treverb\tcolor\tsnr\tnoise_off\tlead\tp1\tp2\ttail\ttext" > f
    np = 0
    if (mode == "small") {
        # 15 clips, voices rotating, the last 6 with each noise type at
        # 20 or 15 dB SNR.
        for (k = 1; k <= 9 + nnt; k++) {
            c = (k * 7) % nc + 1
            noisy = (k > 9)
            pos_row(c, V[(k - 1) % nv + 1], k <= 4 ? "clean" : "mod", noisy ? C[k - 9] : "", noisy ? (k % 3 == 2 ? 15 : 20) : "")
        }
    } else {
        # The second variant of each carrier and voice is noisy: the noise
        # types in turn, and the SNR steps after each round of them.
        nn = 0
        for (c = 1; c <= nc; c += cstep) for (v = 1; v <= nv; v++) for (r = 1; r <= posvar; r++) {
            if (r == 1) pos_row(c, V[v], (c + v) % 2 ? "clean" : "mod", "", "")
            else { nn++; pos_row(c, V[v], "mod", C[(nn - 1) % nnt + 1], SNR[int((nn - 1) / nnt) % 4 + 1]) }
        }
    }

    # ---- near misses: words of the phrase alone, words a phone away, the
    # sounds of the phrase across word boundaries.
    if (phrase == "alexa") nm = split("alexis, come here please;" \
        "I drive a lexus to work;" \
        "we will elect a new mayor;" \
        "alex is at the door;" \
        "a lexicon of old words;" \
        "alexander crossed the river;" \
        "relax a little, it is late;" \
        "alexis, your train is here;" \
        "she bought a lexus yesterday;" \
        "they elect a leader every year;" \
        "I lent alex a pen;" \
        "the lexer reads the text", NM, ";")
    else if (phrase == "hey jarvis") nm = split("hey jarvie, over here;" \
        "hey service, can you help;" \
        "a jar of this jam is enough;" \
        "hey jar, hey jar;" \
        "hey, jar the pickles now;" \
        "the jarvis report came out today;" \
        "hey marvin, how are you;" \
        "hey harvest moon is playing;" \
        "they carve his name in stone;" \
        "hey nervous, calm down;" \
        "hey jarvie, your train is here;" \
        "say jar of this twice", NM, ";")
    else nm = split("I need a computer for my homework;" \
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
        voice = V[(i + v - 1) % nv + 1]
        tempo = (k % 3 == 0) ? 1 : sprintf("%.2f", uni(0.9, 1.12))
        pitch = (k % 3 == 0) ? 0 : int(uni(-200, 200))
        printf "%03d\t%s\t%s\t%s\t%.1f\t0\t-\t-\t0\t%s\n", k, voice, tempo, pitch, -uni(0, 9), NM[i] > f
    }

    # ---- negatives: deterministic shuffle of the sentences, then take them
    # until the word budget for NEG_SECONDS (~2.6 words/s here). When the
    # text runs out it is read again from the start, each sentence in
    # another voice (3 voices on) with other variations.
    for (i = ns; i > 1; i--) { j = irand(i) + 1; t = sent[i]; sent[i] = sent[j]; sent[j] = t; t = sentw[i]; sentw[i] = sentw[j]; sentw[j] = t }

    # ---- babble: BABBLE_TALKERS talkers, each speaking sentences taken from
    # the end of the shuffled list (none with the last word of the phrase in it) for about
    # BABBLE_SECONDS; the voices turn so that the talkers differ at any time.
    f = plandir "/bab.tsv"
    print "#id\ttalker\tvoice\ttempo\tpitch\tpause\ttext" > f
    j = ns; k = 0
    for (t = 1; t <= babtalk; t++) {
        est = 0
        for (m = 0; est < babsec * 1.25; m++) {
            while (j >= 1 && tolower(sent[j]) ~ keyword) j--
            if (j < 1) j = ns
            if (tolower(sent[j]) ~ keyword) { print "make-corpus: no babble text" > "/dev/stderr"; exit 1 }
            k++; pause = uni(0.1, 0.6)
            printf "%04d\t%d\t%s\t%.2f\t%d\t%.2f\t%s\n", k, t, V[(t - 1 + 2 * m) % nv + 1], uni(0.9, 1.1), int(uni(-200, 200)), pause, sent[j] > f
            isbab[sent[j]] = 1
            est += sentw[j] / 2.6 + pause
            j--
        }
    }

    budget = negsec * 2.6
    f = plandir "/neg.tsv"
    print "#id\tvoice\ttempo\tpitch\tgain\treverb\tcolor\tsnr\tnoise_off\ttext" > f
    words = 0; k = 0
    for (p = 0; p < 3 && words < budget; p++) for (i = 1; i <= ns && words < budget; i++) {
        words += sentw[i]; k++
        voice = V[(i - 1 + 3 * p) % nv + 1]
        tempo = sprintf("%.2f", uni(0.88, 1.15)); pitch = int(uni(-250, 250))
        gain = -uni(0, 12); rev = (rnd() < 0.2) ? 1 : 0
        if (rnd() < 0.25) {
            color = C[irand(nnt) + 1]; snr = SNR[irand(4) + 1]
            # babble never made of the sentence it covers
            while (color == "babble" && isbab[sent[i]]) color = C[irand(nnt) + 1]
        } else { color = "-"; snr = "-" }
        printf "%04d\t%s\t%s\t%s\t%.1f\t%d\t%s\t%s\t%.2f\t%s\n", k, voice, tempo, pitch, gain, rev, color, snr, uni(0, pool - 40), sent[i] > f
    }
    if (words < budget) print "make-corpus: warning: ran out of licence text for negatives" > "/dev/stderr"

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
        (before == "-" ? "" : before ", ") phrase (after == "-" ? "" : ", " after) "\t" variant > f
}' "${LICFILES[@]}"

# pos.tsv ends with text<TAB>variant: job_pos reads both into its last
# variable (unused); the assembly below reads them apart.

run_jobs() {  # KIND PLAN
    local n; n=$(($(wc -l < "$TMPD/plan/$2.tsv") - 1))
    [[ $n -gt 0 ]] || return 0
    seq 1 "$n" | xargs -P "$JOBS" -n 8 "$SELF" __job "$TMPD" "$PHRASE" "$1"
}
echo "make-corpus: synthesizing ($MODE, $JOBS jobs)" >&2
run_jobs bab bab

# babble pool: each talker's sentences one after the other, cut (or looped)
# to BABBLE_SECONDS, the talkers 2 dB apart in level, mixed, looped to
# the pool length.
make_babble() {
    local t ids talk=() n want reps
    want=$((RATE * BABBLE_SECONDS))
    for ((t = 1; t <= BABBLE_TALKERS; t++)); do
        ids=()
        while IFS=$'\t' read -r id talker _; do
            [[ $talker == "$t" ]] && ids+=("$TMPD/bab/$id.wav")
        done < <(tail -n +2 "$TMPD/plan/bab.tsv")
        sox -R "${ids[@]}" "${OUT_FMT[@]}" "$TMPD/bab/talker.wav"
        n=$(samples "$TMPD/bab/talker.wav")
        reps=$(( (want + n - 1) / n - 1 ))
        sox -R "$TMPD/bab/talker.wav" "${OUT_FMT[@]}" "$TMPD/bab/t$t.wav" \
            repeat "$reps" trim 0 "${want}s" gain -n "$((-1 - 2 * (t - 1)))"
        talk+=("$TMPD/bab/t$t.wav")
    done
    sox -R -G -m "${talk[@]}" "${OUT_FMT[@]}" "$TMPD/bab/mix.wav" gain -n -3
    loop_to "$TMPD/bab/mix.wav" "$TMPD/pool/babble.wav" "$POOL_SECONDS"
    rm -rf "$TMPD/bab"
}
make_babble

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
noise babble -30 30
noise music -30 30
noise fan -30 30
noise babble -20 30
noise music -20 30
noise fan -20 30
silence - - 60"
else
    NOISE_PLAN="silence - - 10
lownoise white -60 10
noise white -30 7
noise pink -30 7
noise brown -25 6
noise babble -30 5
noise music -30 5
noise fan -30 5"
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

FEST_NOTE=""
[[ $MODE != small ]] && FEST_NOTE=", ${FEST_VOICES[*]} (festival), ${ESPEAK_VOICES[*]} (espeak-ng)"
cat > "$TMPD/README" <<EOF
Generated by tests/corpus/make-corpus.sh ($STAMP_LINE); do not edit.
Phrase: "$PHRASE". Voices: ${FLITE_VOICES[*]} (flite)$FEST_NOTE. Noise: ${NOISES[*]}.
16 kHz mono 16-bit WAV. See the script header for the layout and the columns
of the .tsv manifests.
EOF
echo "$STAMP_LINE" > "$TMPD/STAMP"

trap - EXIT
rm -rf "$OUTDIR"
mv "$TMPD" "$OUTDIR"
echo "make-corpus: wrote $OUTDIR ($MODE) in $((SECONDS - START_TIME)) s:" >&2
sed 's/^/  /' "$OUTDIR/durations.tsv" >&2
echo "  positive clips: $(($(wc -l < "$OUTDIR/pos.tsv") - 1))" >&2
