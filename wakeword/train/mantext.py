"""The prose of a manual page, for speech to train and test with
(hark-train reads section 1, tests/bench/long-negatives.py sections 5, 7
and 8)."""

import gzip
import re


def man_text(path):
    """The text of a gzipped roff manual page with its requests and font
    escapes taken out (bold and italic lines kept as text); None if it
    cannot be read."""
    try:
        raw = gzip.open(path).read().decode("utf-8", "replace")
    except (OSError, EOFError):
        return None
    lines = [ln for ln in raw.split("\n") if not ln.startswith((".", "'\\\"")) or
             ln.startswith((".B ", ".I "))]
    text = "\n".join(re.sub(r"^\.[BI] ", "", ln) for ln in lines)
    return re.sub(r"\\f[BIRP]|\\f\(..|\\\(..|\\[-&e]|\\", " ", text)
