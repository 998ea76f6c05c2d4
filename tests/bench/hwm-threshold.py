#!/usr/bin/python3
"""hwm-threshold.py MODEL: prints a neural wake-word model's own threshold
(the .hwm header, doc/wakeword.md), which the benchmark marks as hark-neural's
default in its sweep of [wakeword] neural_threshold."""

import hashlib
import struct
import sys

THRESHOLD_AT = 112


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hwm-threshold.py MODEL")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if len(data) < 128 + 32 or data[:8] != b"HARKWAKE" or \
            hashlib.sha256(data[:-32]).digest() != data[-32:]:
        sys.exit("hwm-threshold.py: %s: not a model file with a good checksum" % sys.argv[1])
    # %g of the float32: 0.995 prints as 0.995, as the sweeps spell it.
    print("%g" % struct.unpack_from("<f", data, THRESHOLD_AT)[0])


if __name__ == "__main__":
    main()
