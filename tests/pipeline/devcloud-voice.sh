#!/bin/sh
# hark-devcloud's speech loop on a request spoken by flite: 0.5 s of quiet (the
# pre-roll), "hey computer", then the question, as the uplink carries it.
# usage: devcloud-voice.sh TEST-DEVCLOUD-VOICE INTENTS.CONF
PROG=$1
INTENTS=$2
. "$(dirname "$0")/lib.sh"

spoken_request "$TMP/request.wav"
"$PROG" "$TMP/request.wav" "$INTENTS"
