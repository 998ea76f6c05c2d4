#!/usr/bin/python3
"""hwm-threshold.py MODEL [THRESHOLD OUT]: prints a neural wake-word model's
own threshold (the .hwm header, doc/wakeword.md), or writes a copy of MODEL
with another threshold and its checksum made again. The benchmark sweeps the
threshold this way where hark has no [wakeword] neural_threshold."""

import hashlib
import struct
import sys

THRESHOLD_AT = 112


def main():
    if len(sys.argv) not in (2, 4):
        sys.exit("usage: hwm-threshold.py MODEL [THRESHOLD OUT]")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if len(data) < 128 + 32 or data[:8] != b"HARKWAKE" or \
            hashlib.sha256(data[:-32]).digest() != data[-32:]:
        sys.exit("hwm-threshold.py: %s: not a model file with a good checksum" % sys.argv[1])
    if len(sys.argv) == 2:
        # %g of the float32: 0.995 prints as 0.995, as the sweeps spell it.
        print("%g" % struct.unpack_from("<f", data, THRESHOLD_AT)[0])
        return
    t = float(sys.argv[2])
    if not 0.0 < t < 1.0:
        sys.exit("hwm-threshold.py: threshold %s not between 0 and 1" % sys.argv[2])
    body = bytearray(data[:-32])
    struct.pack_into("<f", body, THRESHOLD_AT, t)
    with open(sys.argv[3], "wb") as f:
        f.write(bytes(body) + hashlib.sha256(body).digest())


if __name__ == "__main__":
    main()
