"""The .hwm model file (doc/wakeword.md, "The model file"), as
wakeword/nn-model.c reads it: writes a model from its settings and layers."""

import hashlib
import struct

MAGIC = b"HARKWAKE"
VERSION = 1
CONV, DEPTHWISE = 1, 2
NONE, RELU, SIGMOID = 0, 1, 2


def serialise(phrase, features, threshold, trigger_frames, layers):
    """features: dict with sample_rate, win, hop, n_fft, n_mels, fmin, fmax,
    log_floor. layers: list of dicts with type, act, in_ch, out_ch, kernel,
    dilation, weights (flat floats: conv [out][tap][in], depthwise
    [tap][ch]; tap 0 the oldest) and bias (out_ch floats)."""
    name = phrase.encode("ascii")
    if len(name) >= 64:
        raise ValueError("phrase too long")
    table = b""
    weights = []
    for l in layers:
        table += struct.pack("<8I", l["type"], l["act"], l["in_ch"], l["out_ch"],
                             l["kernel"], l["dilation"], 0, 0)
        weights += list(l["weights"]) + list(l["bias"])
    body = struct.pack("<%df" % len(weights), *weights)
    size = 128 + len(table) + len(body) + 32
    header = MAGIC + struct.pack("<II", VERSION, size) + name.ljust(64, b"\0")
    header += struct.pack("<5I3ff3I", features["sample_rate"], features["win"],
                          features["hop"], features["n_fft"], features["n_mels"],
                          features["fmin"], features["fmax"], features["log_floor"],
                          threshold, trigger_frames, len(layers), 0)
    assert len(header) == 128
    data = header + table + body
    return data + hashlib.sha256(data).digest()
