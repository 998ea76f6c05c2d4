#!/bin/sh
# Makes the short sample recordings committed in samples/ (the demo plays
# them): flite speech, a little room noise, FLAC at 22.05 kHz so the demo also
# exercises decoding and resampling. Re-run after changing a text.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make() {
    out=$1 voice=$2 text=$3
    flite -voice "$voice" -t "$text" -o "$tmp/speech.wav"
    sox -D -n -r 16000 -c 1 -b 16 "$tmp/lead.wav" trim 0 0.8
    sox -D -n -r 16000 -c 1 -b 16 "$tmp/tail.wav" trim 0 1.5
    sox "$tmp/lead.wav" "$tmp/speech.wav" "$tmp/tail.wav" "$tmp/clean.wav"
    len=$(soxi -D "$tmp/clean.wav")
    sox -R -n -r 16000 -c 1 -b 16 "$tmp/noise.wav" synth "$len" pinknoise vol 0.004
    sox -R -m "$tmp/clean.wav" "$tmp/noise.wav" -r 22050 "$out"
}

make weather.flac slt "hey computer, what is the weather like in paris today?"
make timer.flac rms "good morning. hey computer, set a timer for ten minutes."
make banking.flac kal16 "hey computer, what is the balance of my bank account?"
make no-wake.flac awb "I was thinking we could take the car to the garage tomorrow morning."
