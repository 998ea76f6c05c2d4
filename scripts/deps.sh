#!/bin/sh
# Installs the Debian packages hark needs for a purpose (build, test, demo,
# bench, cross). As root it runs apt-get; otherwise it prints the exact
# command and fails, so nothing is half set up.
set -eu

# hark-devcloud (samples/) is built with hark: it needs flite to speak. The
# echo canceller's WebRTC back end (a C++ shim) needs g++ and
# libwebrtc-audio-processing-dev; without them it is left out of the build.
build="meson ninja-build pkg-config gcc g++ libc6-dev
    libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us
    portaudio19-dev libsndfile1-dev libspeexdsp-dev libinih-dev
    libwebsockets-dev libssl-dev libmbedtls-dev libcjson-dev libopus-dev libsodium-dev flite1-dev
    libwebrtc-audio-processing-dev"
# Test audio is synthesized with flite and shaped with sox; the no-network
# test uses strace and unshare (util-linux); pocketsphinx_continuous is the
# reference the wake test compares with. The live capture tests run a private
# PulseAudio with a null sink, reached through ALSA's pulse plugin; ss
# (iproute2) shows that hark listens on no TCP or UDP port. The service test
# runs systemd-analyze on the unit; the tune test finds its passes with ps
# (procps). The neural wake word's parity test runs the trainer's network in
# Debian's PyTorch (python3-torch, python3-numpy); the tiny training test
# speaks with flite and espeak-ng. scripts/fresh-root.sh bootstraps a
# minimal Debian 12 root with mmdebstrap to run the demo in.
test="$build flite sox strace util-linux pocketsphinx openssl iproute2 procps
    pulseaudio pulseaudio-utils libasound2-plugins alsa-utils systemd mmdebstrap
    python3-torch python3-numpy espeak-ng"
# The demo builds hark and hark-devcloud only (not the tests, whose corpus
# needs flite and sox); scripts/fresh-root.sh checks that this is enough.
demo="$build openssl"
# The full corpus adds three festival voices and espeak-ng's; the DET curves
# are drawn by gnuplot. The neural benchmark (tests/bench/bench-neural.sh)
# runs openWakeWord under node, its npm packages installed by npm into the
# benchmark's work directory (never a run-time dependency).
bench="$test pocketsphinx valgrind time python3 gnuplot-nox
    festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts espeak-ng
    nodejs npm"
# The aarch64 (Raspberry Pi) build: a cross compiler and user-mode qemu for
# its unit tests. Meson also wants a native compiler. The arm64 libraries are
# not installed but unpacked into a sysroot by scripts/cross-aarch64.sh.
cross="meson ninja-build pkg-config gcc libc6-dev gcc-aarch64-linux-gnu qemu-user-static"

case "${1:-}" in
    build) want=$build ;;
    test) want=$test ;;
    demo) want=$demo ;;
    bench) want=$bench ;;
    cross) want=$cross ;;
    *) echo "usage: $0 build|test|demo|bench|cross [--list]" >&2; exit 2 ;;
esac
# --list prints the packages instead (the cross build takes its arm64
# libraries from the build list).
if [ "${2:-}" = --list ]; then
    echo $want
    exit 0
fi

missing=""
for p in $want; do
    # A nodejs from elsewhere (NodeSource's) brings its own npm, and Debian's
    # npm would not install beside it.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then
        continue
    fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "Installing:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >&2
else
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
