#!/usr/bin/python3
"""The trainer and hark agree: hark-features' log-mel frames match a plain
numpy computation of the same definition (Hann window, power spectrum, HTK
mel triangles, log with a floor), and a network built and exported by the
trainer's code scores the same in hark's streaming C (hark-features
--scores) as in PyTorch on those features.
usage: nn-parity.py HARK-FEATURES SOURCE-DIR"""

import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

exe, src = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, "wakeword", "train"))
import hwm  # noqa: E402
import model as nnmodel  # noqa: E402

FEAT = dict(sample_rate=16000, win=400, hop=160, n_fft=512, n_mels=40, fmin=60.0,
            fmax=7600.0, log_floor=1e-6)
failures = 0


def check(cond, what):
    global failures
    if not cond:
        print("check failed:", what, file=sys.stderr)
        failures += 1


def reference_logmel(x):
    f = FEAT
    x = x.astype(np.float64) / 32768.0
    n = 1 + (len(x) - f["win"]) // f["hop"]
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(f["win"]) / f["win"])
    mel = lambda hz: 2595.0 * np.log10(1.0 + hz / 700.0)
    imel = lambda m: 700.0 * (10 ** (m / 2595.0) - 1.0)
    pts = imel(np.linspace(mel(f["fmin"]), mel(f["fmax"]), f["n_mels"] + 2))
    hz = np.arange(f["n_fft"] // 2 + 1) * f["sample_rate"] / f["n_fft"]
    fb = np.zeros((f["n_mels"], len(hz)))
    for b in range(f["n_mels"]):
        l, c, r = pts[b], pts[b + 1], pts[b + 2]
        up = (hz - l) / (c - l)
        down = (r - hz) / (r - c)
        fb[b] = np.where((hz > l) & (hz < r), np.minimum(up, down), 0.0)
    out = np.empty((n, f["n_mels"]))
    for i in range(n):
        spec = np.fft.rfft(x[i * f["hop"]:i * f["hop"] + f["win"]] * win, f["n_fft"])
        out[i] = np.log(np.maximum(fb @ (np.abs(spec) ** 2), f["log_floor"]))
    return out


def run(args, pairs):
    lines = "".join("%s %s\n" % p for p in pairs)
    subprocess.run([exe] + args, input=lines.encode(), check=True)


rng = np.random.default_rng(7)
t = np.arange(16000 * 2) / 16000.0
# A chirp, a tone and noise, with a silent stretch (the floor).
audio = (3000 * np.sin(2 * np.pi * (200 + 1500 * t) * t) + 2000 * np.sin(2 * np.pi * 1000 * t)
         + rng.normal(0, 500, len(t)))
audio[8000:12000] = 0
audio = np.clip(audio, -32768, 32767).astype("<i2")

with tempfile.TemporaryDirectory() as tmp:
    raw, feats, scores, mpath = (os.path.join(tmp, n) for n in ("a.raw", "a.f32", "a.s", "m.hwm"))
    audio.tofile(raw)
    run([], [(raw, feats)])
    got = np.fromfile(feats, "<f4").reshape(-1, FEAT["n_mels"])
    want = reference_logmel(audio)
    check(got.shape == want.shape, "frames: %s, reference %s" % (got.shape, want.shape))
    err = np.abs(got - want).max()
    print("features: %d frames, largest difference %.2e (log units)" % (len(got), err))
    check(err < 2e-3, "features differ from the reference by %g" % err)

    torch.manual_seed(3)
    m = nnmodel.Detector(n_mels=40, channels=16)
    with torch.no_grad():
        m.mean.copy_(torch.tensor(want.mean(0), dtype=torch.float32))
        m.std.copy_(torch.tensor(want.std(0) + 0.1, dtype=torch.float32))
        for bn in [m.first_bn] + list(m.bn):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    m.eval()
    # Spread the logits over -2..2 so the comparison covers the sigmoid's range.
    with torch.no_grad():
        z = m(torch.tensor(got.T[None], dtype=torch.float32))[0]
        a = 2.0 / max(float(z.std()), 1e-6)
        m.head.weight.mul_(a)
        m.head.bias.copy_(a * (m.head.bias - z.mean()))
    open(mpath, "wb").write(hwm.serialise("hey computer", FEAT, 0.5, 1, nnmodel.export_layers(m)))
    run(["--scores", mpath], [(raw, scores)])
    c_scores = np.fromfile(scores, "<f4")
    with torch.no_grad():
        t_scores = torch.sigmoid(m(torch.tensor(got.T[None], dtype=torch.float32)))[0].numpy()
    check(len(c_scores) == len(t_scores),
          "scores: %d in C, %d in PyTorch" % (len(c_scores), len(t_scores)))
    n = min(len(c_scores), len(t_scores))
    err = np.abs(c_scores[:n] - t_scores[:n]).max()
    print("scores: %d frames (context %d), spread %.3f..%.3f, largest difference %.2e"
          % (n, m.context, t_scores.min(), t_scores.max(), err))
    check(err < 1e-4, "scores differ by %g" % err)
    check(t_scores.max() - t_scores.min() > 0.05, "the scores do not vary: a weak test")

sys.exit(1 if failures else 0)
