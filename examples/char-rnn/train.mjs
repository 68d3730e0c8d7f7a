#!/usr/bin/env node
// A character-level language model: embedding -> LSTM -> dense over the characters, trained with
// the recur SDK in Node (the training runs in recur's worker thread) on the Book of Genesis (King
// James Version, examples/data/kjv-genesis.txt), then asked to write some text of its own.
//
//   node examples/char-rnn/train.mjs [--quick] [--check] [--length N] [--temperature T] [--seed S]
//
// --quick trains a smaller model briefly (CI); --check exits non-zero unless the training loss fell
// clearly below the uniform baseline ln(vocabulary) and the sample has the requested length and
// uses only characters of the vocabulary.
//
// The text is cut into BATCH parallel streams, each read in consecutive windows of STEPS
// characters. Batch k holds window k of every stream, so with `bptt.stateful` the LSTM's states
// carry from one window to the next of the same stream (across batches, not shuffled), while
// `bptt.truncate` cuts the gradient every TRUNCATE steps. Gradients are clipped by global norm.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createRecur } from 'recur';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    length: { type: 'string' },
    temperature: { type: 'string', default: '0.7' },
    seed: { type: 'string', default: '7' },
  },
});
const quick = args.quick;
const cfg = quick
  ? { chars: 60_000, hidden: 96, dim: 24, steps: 64, truncate: 32, batch: 16, epochs: 4, lr: 1e-2, sample: 240 }
  : { chars: Infinity, hidden: 160, dim: 32, steps: 100, truncate: 50, batch: 32, epochs: 10, lr: 5e-3, sample: 600 };
const sampleLength = args.length === undefined ? cfg.sample : Number(args.length);
const temperature = Number(args.temperature);
const sampleSeed = Number(args.seed);
if (!(Number.isInteger(sampleLength) && sampleLength > 0)) throw new Error(`--length must be a positive integer, got ${args.length}`);
if (!(temperature > 0)) throw new Error(`--temperature must be > 0, got ${args.temperature}`);

// ---- data --------------------------------------------------------------------------------
const full = readFileSync(new URL('../data/kjv-genesis.txt', import.meta.url), 'utf8');
const text = full.slice(0, Math.min(full.length, cfg.chars));
const vocab = [...new Set(full)].sort();
const idOf = new Map(vocab.map((c, i) => [c, i]));
const ids = Uint8Array.from(text, (c) => idOf.get(c));

// The last 5 % of the text is held out: validation windows, read from a zero state.
const nVal = Math.floor(ids.length * 0.05);
const trainIds = ids.subarray(0, ids.length - nVal);
const valIds = ids.subarray(ids.length - nVal);

// Training: BATCH streams of length L, each cut into K windows of STEPS characters; the target of
// every position is the next character. Sequence k·BATCH + s is window k of stream s.
const { steps: T, batch: B } = cfg;
const L = Math.floor((trainIds.length - 1) / B);
const K = Math.floor(L / T);
const xTrain = new Uint8Array(K * B * T);
const yTrain = new Uint8Array(K * B * T);
for (let k = 0; k < K; k++) {
  for (let s = 0; s < B; s++) {
    const from = s * L + k * T;
    const row = (k * B + s) * T;
    xTrain.set(trainIds.subarray(from, from + T), row);
    yTrain.set(trainIds.subarray(from + 1, from + 1 + T), row);
  }
}
const nValSeq = Math.floor((valIds.length - 1) / T);
const xVal = new Uint8Array(nValSeq * T);
const yVal = new Uint8Array(nValSeq * T);
for (let i = 0; i < nValSeq; i++) {
  xVal.set(valIds.subarray(i * T, i * T + T), i * T);
  yVal.set(valIds.subarray(i * T + 1, i * T + 1 + T), i * T);
}

// Baselines in nats per character: uniform over the vocabulary, and the unigram entropy of the
// training text (what a model that ignores all context can reach at best).
const uniform = Math.log(vocab.length);
const counts = new Float64Array(vocab.length);
for (const c of trainIds) counts[c]++;
let unigram = 0;
for (const n of counts) if (n > 0) unigram -= (n / trainIds.length) * Math.log(n / trainIds.length);

const recur = createRecur();
const info = await recur.init();
console.log(`recur ${info.version} (${info.variant} build, ${info.mode} in ${info.runtime})`);
console.log(`text: ${ids.length} characters of Genesis (KJV), vocabulary ${vocab.length}; ${K * B} training windows of ${T} (${B} streams), ${nValSeq} validation windows`);
console.log(`baselines (nats/char): uniform ln(${vocab.length}) = ${uniform.toFixed(3)}, unigram entropy = ${unigram.toFixed(3)}`);

const model = await recur.createModel({
  layers: [
    { type: 'embedding', vocabSize: vocab.length, dim: cfg.dim },
    { type: 'lstm', hiddenSize: cfg.hidden, returnSequences: true },
    { type: 'dense', units: vocab.length },
  ],
  seed: 42,
});
const nParams = model.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
console.log(`model: embedding ${vocab.length}x${cfg.dim} -> LSTM ${cfg.hidden} -> dense ${vocab.length} (${nParams} parameters)${quick ? ' [quick]' : ''}`);

// ---- training, with a progress bar on stderr ----------------------------------------------
const started = Date.now();
const tty = process.stderr.isTTY === true;
let last = { loss: NaN, valLoss: NaN, batchLoss: NaN };
const draw = (progress, epoch, final = false) => {
  const width = 30;
  const done = Math.min(width, Math.floor(progress * width));
  const text = `[${'#'.repeat(done)}${'.'.repeat(width - done)}] epoch ${epoch}/${cfg.epochs}` +
    `  batch loss ${last.batchLoss.toFixed(3)}  loss ${last.loss.toFixed(3)}  val loss ${last.valLoss.toFixed(3)}` +
    `  ${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (tty) process.stderr.write(`\r${text} `);
  else if (final) process.stderr.write(`${text}\n`);
};
const history = await model.fit({ data: xTrain, shape: [K * B, T] }, { data: yTrain, shape: [K * B, T] }, {
  epochs: cfg.epochs,
  batchSize: B,
  shuffle: false,
  bptt: { stateful: true, truncate: cfg.truncate },
  clip: { norm: 5 },
  optimizer: { type: 'adam', lr: cfg.lr },
  loss: 'crossEntropy',
  validationData: [{ data: xVal, shape: [nValSeq, T] }, { data: yVal, shape: [nValSeq, T] }],
  onBatchEnd: (b) => {
    last.batchLoss = b.loss;
    draw((b.epoch + (b.batch + 1) / b.batches) / cfg.epochs, b.epoch + 1);
  },
  onEpochEnd: (e) => {
    last = { ...last, loss: e.loss, valLoss: e.valLoss };
    draw((e.epoch + 1) / cfg.epochs, e.epoch + 1, true);
  },
});
if (tty) process.stderr.write('\n');
const seconds = (Date.now() - started) / 1000;
const losses = history.history.loss;
const valLosses = history.history.valLoss;
console.log(`trained ${history.steps} steps in ${seconds.toFixed(1)} s (${Math.round((history.steps * B * T) / seconds)} chars/s): ` +
  `loss ${losses[0].toFixed(3)} -> ${losses.at(-1).toFixed(3)}, val loss ${valLosses.at(-1).toFixed(3)} nats/char`);

// ---- sampling ----------------------------------------------------------------------------
// Feed a prompt one character at a time (predictStep carries the states), then draw each next
// character from softmax(logits / temperature) with a seeded generator.
let rngState = sampleSeed >>> 0;
const random = () => {
  // mulberry32
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const sample = (logits) => {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = Array.from(logits, (v) => Math.exp((v - max) / temperature));
  let r = random() * p.reduce((a, b) => a + b, 0);
  for (let i = 0; i < p.length; i++) if ((r -= p[i]) <= 0) return i;
  return p.length - 1;
};
const prompt = 'And God said';
await model.resetStates();
let logits;
for (const c of prompt) logits = (await model.predictStep({ data: Uint32Array.of(idOf.get(c)), shape: [1] })).data;
let generated = '';
for (let i = 0; i < sampleLength; i++) {
  const next = sample(logits);
  generated += vocab[next];
  logits = (await model.predictStep({ data: Uint32Array.of(next), shape: [1] })).data;
}
console.log(`\nsample (temperature ${temperature}, ${sampleLength} characters after the prompt "${prompt}"):\n`);
console.log(prompt + generated);

await model.dispose();
await recur.dispose();

if (args.check) {
  const failures = [];
  const final = losses.at(-1);
  // "Clearly below": at least 25 % under ln(vocab) (a model that learned only character
  // frequencies sits near the unigram entropy, itself ~30 % under it).
  if (!(final < 0.75 * uniform)) failures.push(`final training loss ${final.toFixed(3)} is not below 0.75·ln(${vocab.length}) = ${(0.75 * uniform).toFixed(3)}`);
  if (!(final < unigram)) failures.push(`final training loss ${final.toFixed(3)} is not below the unigram entropy ${unigram.toFixed(3)} (no context learned)`);
  if (!(final < losses[0])) failures.push(`training loss did not fall (${losses[0].toFixed(3)} -> ${final.toFixed(3)})`);
  if ([...generated].length !== sampleLength) failures.push(`sample has ${[...generated].length} characters, asked for ${sampleLength}`);
  const foreign = [...new Set(generated)].filter((c) => !idOf.has(c));
  if (foreign.length > 0) failures.push(`sample has characters outside the vocabulary: ${JSON.stringify(foreign)}`);
  if (failures.length > 0) {
    console.error(`\ncheck FAILED:\n  ${failures.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`\ncheck ok: loss ${final.toFixed(3)} < 0.75·ln(vocab) = ${(0.75 * uniform).toFixed(3)} and < unigram entropy ${unigram.toFixed(3)}; sample of ${sampleLength} characters from the vocabulary`);
}
