#!/usr/bin/python3
"""Hours of speech without the wake phrase, for false alarms per hour that
a 100 min corpus cannot measure (0 false alarms in 1.7 h only bounds the
rate below 1.8 an hour; 0.5 an hour needs 6 h).

    long-negatives.py OUT_DIR --hours H [--jobs N] [--seed S]

Text: the manual pages of sections 5, 7 and 8 (hark-train reads section 1
and Python's docstrings, the corpus the licence texts: neither is used),
sentences of 4 to 30 words. Voices: the benchmark corpus's eleven
(tests/corpus/make-corpus.sh), in turn, each sentence varied by sox in
tempo (0.9-1.1), pitch (+-150 cents) and gain, with pauses of 0.2-1 s; a
third of the sentences under pink, brown or babble-like noise at 5-20 dB
SNR. Writes OUT_DIR/long.wav (16 kHz mono) and OUT_DIR/long.tsv (start,
end, voice, text); made once (OUT_DIR/STAMP)."""

import argparse
import glob
import hashlib
import os
import random
import re
import subprocess
import sys
import wave
from concurrent.futures import ThreadPoolExecutor

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..",
                                "wakeword", "train"))
import mantext  # noqa: E402

RATE = 16000
VOICES = ([("flite", v) for v in ("slt", "rms", "awb", "kal16")] +
          [("festival", v) for v in ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")] +
          [("espeak-ng", v) for v in ("en-029+f4", "en-029+klatt2", "en-us-nyc+m5", "en-us-nyc+f5")])
STAMP = "long-negatives 1"


def sentences(phrase_words):
    out = []
    for path in sorted(glob.glob("/usr/share/man/man[578]/*.gz")):
        text = mantext.man_text(path)
        if text is None:
            continue
        for s in re.split(r"(?<=[.?!])\s+|\n\s*\n", text):
            s = " ".join(s.split()).lstrip("-/,.;:?!' ")
            ws = re.findall(r"[a-z']+", s.lower())
            if 4 <= len(ws) <= 30 and re.match(r"^[A-Za-z0-9 ,.;:'()?!/-]+$", s) and \
                    not phrase_words & set(ws):
                out.append(s)
    return sorted(set(out))


def synth(engine, voice, text, path):
    if engine == "flite":
        subprocess.run(["flite", "-voice", voice, "-t", text, "-o", path], check=True,
                       stdout=subprocess.DEVNULL)
    elif engine == "festival":
        subprocess.run(["text2wave", "-eval", "(voice_%s)" % voice, "-o", path],
                       input=text.encode(), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    else:
        subprocess.run(["espeak-ng", "-v", voice, "-w", path, "--", text], check=True)


def one(job):
    i, (engine, voice), text, tmp, seed = job
    rng = random.Random("%d-%d" % (seed, i))
    raw, out = "%s/%d.wav" % (tmp, i), "%s/%d.raw" % (tmp, i)
    synth(engine, voice, text, raw)
    subprocess.run(["sox", "-R", raw, "-r", str(RATE), "-c", "1", "-b", "16", "-e",
                    "signed-integer", "-t", "raw", out, "tempo", "%.3f" % rng.uniform(0.9, 1.1),
                    "pitch", "%.0f" % rng.uniform(-150, 150), "gain", "-n",
                    "%.1f" % rng.uniform(-20, -3)], check=True, stderr=subprocess.DEVNULL)
    x = np.fromfile(out, "<i2").astype(np.float64)
    os.remove(raw)
    os.remove(out)
    return x


def noise(kind, n, rng):
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec)) + 1.0
    if kind == "pink":
        spec /= np.sqrt(f)
    elif kind == "brown":
        spec /= f
    else:  # babble-like: speech-band noise, syllable-rate modulated
        spec[(f < 300 * n / RATE) | (f > 3400 * n / RATE)] = 0
    x = np.fft.irfft(spec, n)
    if kind == "babble":
        t = np.arange(n) / RATE
        x *= 1 + 0.8 * np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6))
    return x / (np.sqrt(np.mean(x**2)) + 1e-9)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--hours", type=float, required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--phrase", default="hey computer",
                    help="sentences with any of its words are left out")
    a = ap.parse_args()
    stamp = "%s hours=%g seed=%d phrase=%s" % (STAMP, a.hours, a.seed, a.phrase)
    os.makedirs(a.out, exist_ok=True)
    sp = os.path.join(a.out, "STAMP")
    if os.path.exists(sp) and open(sp).read().strip() == stamp:
        print("long-negatives: %s is up to date" % a.out, file=sys.stderr)
        return 0
    rng = random.Random(a.seed)
    texts = sentences(set(a.phrase.lower().split()))
    rng.shuffle(texts)
    # Sentences take 2 to 8 s; the ones not needed are cancelled.
    n = min(len(texts), int(a.hours * 3600 / 1.5))
    tmp = os.path.join(a.out, "tmp")
    os.makedirs(tmp, exist_ok=True)
    jobs = [(i, VOICES[i % len(VOICES)], texts[i], tmp, a.seed) for i in range(n)]
    total = int(a.hours * 3600 * RATE)
    nrng = np.random.default_rng(a.seed)
    parts, rows, at = [], [], 0
    ex = ThreadPoolExecutor(a.jobs)
    try:
        for (i, (e, v), text, _, _), x in zip(jobs, ex.map(one, jobs)):
            pause = np.zeros(int(nrng.uniform(0.2, 1.0) * RATE))
            seg = np.concatenate([pause, x])
            if nrng.random() < 1 / 3:
                kind = ("pink", "brown", "babble")[nrng.integers(3)]
                snr = nrng.uniform(5, 20)
                seg += noise(kind, len(seg), nrng) * np.sqrt(np.mean(x**2)) / 10 ** (snr / 20)
            rows.append("%.3f\t%.3f\t%s\t%s" % ((at + len(pause)) / RATE, (at + len(seg)) / RATE,
                                                 v, text))
            parts.append(np.clip(seg, -32768, 32767).astype("<i2"))
            at += len(seg)
            if len(rows) % 500 == 0:
                print("long-negatives: %d sentences, %.0f min" % (len(rows), at / RATE / 60),
                      file=sys.stderr)
            if at >= total:
                break
    finally:
        ex.shutdown(wait=True, cancel_futures=True)
    for f in os.listdir(tmp):
        os.remove(os.path.join(tmp, f))
    os.rmdir(tmp)
    audio = np.concatenate(parts)
    with wave.open(os.path.join(a.out, "long.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(audio.tobytes())
    with open(os.path.join(a.out, "long.tsv"), "w") as f:
        f.write("#start_s\tend_s\tvoice\ttext\n" + "\n".join(rows) + "\n")
    with open(sp, "w") as f:
        f.write(stamp + "\n")
    print("long-negatives: %d sentences, %.2f h, sha1 %s" % (
        len(rows), len(audio) / RATE / 3600, hashlib.sha1(audio.tobytes()).hexdigest()[:12]),
        file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
