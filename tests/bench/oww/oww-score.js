#!/usr/bin/env node
// oww-score.js MODELDIR WAKEMODEL FILE.wav: openWakeWord's streaming pipeline
// on a 16 kHz mono 16-bit WAV, with openWakeWord's released ONNX models run by
// onnxruntime-node. Prints "t score" per 80 ms chunk (t: end of the chunk, s).
// Benchmark only (tests/bench/bench-neural.sh); never part of hark.
//
// It does what openwakeword/utils.py (AudioFeatures) and model.py (Model.predict)
// do for one 1280-sample chunk at a time:
//  - the melspectrogram model on the chunk and the 480 samples before it
//    (int16 values as float32, unscaled), then x / 10 + 2;
//  - the mel buffer starts as 76 frames of ones, and keeps at most 970 frames;
//  - one embedding of the last 76 mel frames per chunk (mel frames come 8 per
//    chunk, so an embedding every 8 mel frames);
//  - the embedding buffer starts with the embeddings of 4 s of random int16
//    noise in [-1000, 1000) (Python draws it from numpy's global state; here a
//    fixed generator, so runs repeat), and keeps the last 120;
//  - the wake model on the last 16 embeddings (or its own input length);
//  - the first 5 predictions are 0, as Model.predict makes them.
"use strict";

const fs = require("fs");
const path = require("path");
const ort = require("onnxruntime-node");

const CHUNK = 1280;
const MEL_CONTEXT = 160 * 3;
const MEL_WINDOW = 76;
const MEL_MAX = 10 * 97;
const FEATURE_MAX = 120;

function die(msg) {
    process.stderr.write("oww-score: " + msg + "\n");
    process.exit(1);
}

// The samples of a 16 kHz mono 16-bit PCM WAV, as an Int16Array.
function readWav(file) {
    const b = fs.readFileSync(file);
    if (b.length < 12 || b.toString("ascii", 0, 4) !== "RIFF" || b.toString("ascii", 8, 12) !== "WAVE") {
        die(file + ": not a RIFF/WAVE file");
    }
    let off = 12, fmt = null, data = null;
    while (off + 8 <= b.length) {
        const id = b.toString("ascii", off, off + 4);
        const len = b.readUInt32LE(off + 4);
        const body = off + 8;
        if (body + len > b.length) {
            die(file + ": chunk '" + id + "' runs past the end");
        }
        if (id === "fmt ") {
            fmt = { format: b.readUInt16LE(body), channels: b.readUInt16LE(body + 2),
                    rate: b.readUInt32LE(body + 4), bits: b.readUInt16LE(body + 14) };
        } else if (id === "data") {
            data = b.subarray(body, body + len);
        }
        off = body + len + (len & 1);
    }
    if (!fmt || !data) {
        die(file + ": no fmt or data chunk");
    }
    // 1: PCM; 0xfffe: WAVE_FORMAT_EXTENSIBLE (sox writes it for some files).
    if ((fmt.format !== 1 && fmt.format !== 0xfffe) || fmt.channels !== 1 || fmt.rate !== 16000 || fmt.bits !== 16) {
        die(file + ": want 16 kHz mono 16-bit PCM, got format " + fmt.format + ", " + fmt.channels +
            " channels, " + fmt.rate + " Hz, " + fmt.bits + " bits");
    }
    const n = Math.floor(data.length / 2);
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
        out[i] = data.readInt16LE(2 * i);
    }
    return out;
}

// Park-Miller: the same "random" start-up noise on every run.
function noise(n) {
    let s = 20240601;
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
        s = (s * 16807) % 2147483647;
        out[i] = Math.floor((s / 2147483647) * 2000) - 1000;
    }
    return out;
}

async function main() {
    if (process.argv.length !== 5) {
        die("usage: oww-score.js MODELDIR WAKEMODEL(.onnx) FILE.wav");
    }
    const [dir, wakeName, wav] = process.argv.slice(2);
    const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential" };
    const mel = await ort.InferenceSession.create(path.join(dir, "melspectrogram.onnx"), opts);
    const emb = await ort.InferenceSession.create(path.join(dir, "embedding_model.onnx"), opts);
    const wake = await ort.InferenceSession.create(
        wakeName.includes("/") ? wakeName : path.join(dir, wakeName), opts);
    const wakeIn = wake.inputNames[0];
    // The wake model's input is [1, frames, 96]; openWakeWord reads the frame
    // count from the model (16 for alexa and hey_jarvis).
    let nFeat = 16;
    const meta = wake.inputMetadata && wake.inputMetadata[0];
    if (meta && Array.isArray(meta.shape) && typeof meta.shape[1] === "number") {
        nFeat = meta.shape[1];
    }

    async function melspec(samples) {
        const x = new Float32Array(samples.length);
        for (let i = 0; i < samples.length; i++) {
            x[i] = samples[i];
        }
        const r = await mel.run({ [mel.inputNames[0]]: new ort.Tensor("float32", x, [1, x.length]) });
        const t = r[mel.outputNames[0]];
        const bands = t.dims[t.dims.length - 1];
        const frames = t.data.length / bands;
        const out = [];
        for (let f = 0; f < frames; f++) {
            const row = new Float32Array(bands);
            for (let k = 0; k < bands; k++) {
                row[k] = t.data[f * bands + k] / 10 + 2;
            }
            out.push(row);
        }
        return out;
    }

    // Embeddings of windows of 76 mel frames (a batch).
    async function embed(windows) {
        const bands = windows[0][0].length;
        const x = new Float32Array(windows.length * MEL_WINDOW * bands);
        windows.forEach((w, i) => w.forEach((row, f) => x.set(row, (i * MEL_WINDOW + f) * bands)));
        const r = await emb.run({ [emb.inputNames[0]]: new ort.Tensor("float32", x, [windows.length, MEL_WINDOW, bands, 1]) });
        const t = r[emb.outputNames[0]];
        const dim = t.data.length / windows.length;
        const out = [];
        for (let i = 0; i < windows.length; i++) {
            out.push(Float32Array.from(t.data.subarray(i * dim, (i + 1) * dim)));
        }
        return out;
    }

    // Start-up state, as AudioFeatures.__init__ leaves it.
    let melBuf = [];
    for (let f = 0; f < MEL_WINDOW; f++) {
        melBuf.push(new Float32Array(32).fill(1));
    }
    let features;
    {
        const spec = await melspec(noise(16000 * 4));
        const windows = [];
        for (let i = 0; i + MEL_WINDOW <= spec.length; i += 8) {
            windows.push(spec.slice(i, i + MEL_WINDOW));
        }
        features = await embed(windows);
    }

    const audio = readWav(wav);
    const raw = new Int16Array(MEL_CONTEXT + CHUNK);  // the last 1760 samples heard
    let predictions = 0;
    const lines = [];
    for (let c = 0; c + CHUNK <= audio.length; c += CHUNK) {
        raw.copyWithin(0, CHUNK);
        raw.set(audio.subarray(c, c + CHUNK), MEL_CONTEXT);
        // Python's raw buffer starts empty: before 480 samples of context
        // exist, the melspectrogram sees only what was heard.
        const have = Math.min(c + CHUNK, raw.length);
        melBuf = melBuf.concat(await melspec(raw.subarray(raw.length - have)));
        if (melBuf.length > MEL_MAX) {
            melBuf = melBuf.slice(melBuf.length - MEL_MAX);
        }
        features.push((await embed([melBuf.slice(melBuf.length - MEL_WINDOW)]))[0]);
        if (features.length > FEATURE_MAX) {
            features = features.slice(features.length - FEATURE_MAX);
        }
        const dim = features[0].length;
        const x = new Float32Array(nFeat * dim);
        features.slice(features.length - nFeat).forEach((e, i) => x.set(e, i * dim));
        const r = await wake.run({ [wakeIn]: new ort.Tensor("float32", x, [1, nFeat, dim]) });
        let score = r[wake.outputNames[0]].data[0];
        if (predictions < 5) {
            score = 0;
        }
        predictions++;
        lines.push(((c + CHUNK) / 16000).toFixed(2) + " " + score.toFixed(5));
    }
    // One write, checked: a benchmark must not score a truncated list.
    fs.writeFileSync(1, lines.join("\n") + (lines.length ? "\n" : ""));
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
