#!/bin/sh
# hark-devcloud's speech loop on a request spoken by flite: 0.5 s of quiet (the
# pre-roll), "hey computer", then the question, as the uplink carries it.
# usage: devcloud-voice.sh TEST-DEVCLOUD-VOICE INTENTS.CONF
PROG=$1
INTENTS=$2
. "$(dirname "$0")/lib.sh"

# quiet SECONDS OUT.wav: digital silence. lib.sh's silence() lets sox dither,
# which is random: what the recogniser makes of the wake phrase would then
# change from run to run.
quiet() {
    sox -D -n -r 16000 -c 1 -b 16 "$2" trim 0 "$1"
}

say slt "hey computer" "$TMP/phrase.wav"
say slt "what is the weather like in paris" "$TMP/question.wav"
quiet 0.5 "$TMP/lead.wav"
quiet 0.3 "$TMP/gap.wav"
quiet 0.7 "$TMP/tail.wav"
sox -D "$TMP/lead.wav" "$TMP/phrase.wav" "$TMP/gap.wav" "$TMP/question.wav" "$TMP/tail.wav" \
    "$TMP/request.wav"
"$PROG" "$TMP/request.wav" "$INTENTS"
