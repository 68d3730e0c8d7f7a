// Shared definitions of the benchmark: configurations, FLOP counts, data, timing.

export const CONFIGS = {
  tiny: { name: 'tiny', B: 4, T: 8, I: 4, H: 8 }, // --quick only
  small: { name: 'small', B: 32, T: 32, I: 8, H: 32 },
  medium: { name: 'medium', B: 32, T: 64, I: 16, H: 128 },
  large: { name: 'large', B: 64, T: 64, I: 64, H: 256 },
  // Inference only: one sequence at a time (a live sensor stream), medium's and large's layers.
  one: { name: 'one', B: 1, T: 64, I: 16, H: 128 },
  'one-large': { name: 'one-large', B: 1, T: 64, I: 64, H: 256 },
  // Training only: medium's batch and layers over sequences four times as long.
  long: { name: 'long', B: 32, T: 256, I: 16, H: 128 },
};

/** The batch-1 configurations of the inference section "one sequence at a time" (not targets of issue 5). */
export const SINGLE_CONFIGS = ['one', 'one-large'];

/** The configurations of the training section "long sequences" (not targets of issue 5). */
export const LONG_CONFIGS = ['long'];

/** Output features of the dense head (predicting the next input vector, as brain.js's LSTMTimeStep does). */
export const outputSize = (c) => c.I;

/** Gates per cell kind. */
export const GATES = { lstm: 4, gru: 3, rnn: 1 };

/** FLOPs of one training step, as the issue counts them: 3 · T · 2 · B · G·H · (I + H). */
export function trainFlops(c, kind = 'lstm') {
  return 3 * c.T * 2 * c.B * GATES[kind] * c.H * (c.I + c.H);
}
/** FLOPs of one forward pass (one third of the training count). */
export function inferFlops(c, kind = 'lstm') {
  return c.T * 2 * c.B * GATES[kind] * c.H * (c.I + c.H);
}

/** Deterministic PRNG (mulberry32), uniform in [-1, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

export function randArray(n, seed, scale = 1) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = r() * scale;
  return out;
}

/**
 * The task: B sequences of T+1 vectors of I features (a sum of sines with random phases);
 * the input is steps 0..T-1, the target is step T (the next vector).
 * Returns x as [B, T, I] (batch-major), y as [B, O], and the full sequences for brain.js.
 */
export function makeData(c, seed = 1) {
  const r = rng(seed);
  const { B, T, I } = c;
  const seq = [];
  const x = new Float32Array(B * T * I);
  const y = new Float32Array(B * I);
  for (let b = 0; b < B; b++) {
    const phase = [];
    for (let i = 0; i < I; i++) phase.push(r() * Math.PI);
    const s = [];
    for (let t = 0; t <= T; t++) {
      const v = [];
      for (let i = 0; i < I; i++) v.push(0.5 * Math.sin(0.3 * t + phase[i]) + 0.1 * r());
      s.push(v);
      if (t < T) for (let i = 0; i < I; i++) x[(b * T + t) * I + i] = v[i];
      else for (let i = 0; i < I; i++) y[b * I + i] = v[i];
    }
    seq.push(s);
  }
  return { x, y, seq };
}

/** [B, T, I] → [T, B, I]. */
export function toTimeMajor(x, c) {
  const { B, T, I } = c;
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let i = 0; i < I; i++) out[(t * B + b) * I + i] = x[(b * T + t) * I + i];
  return out;
}

/**
 * The shared LSTM weights of the inference section, in Keras/TF.js layout and gate order
 * (i, f, c, o): kernel [I, 4H], recurrent [H, 4H], bias [4H]; head [H, O], head bias [O].
 */
export function lstmWeights(c, seed = 7) {
  const { I, H } = c;
  const O = outputSize(c);
  const s1 = 1 / Math.sqrt(I + H);
  return {
    kernel: randArray(I * 4 * H, seed, s1),
    recurrent: randArray(H * 4 * H, seed + 1, s1),
    bias: randArray(4 * H, seed + 2, 0.1),
    headW: randArray(H * O, seed + 3, 1 / Math.sqrt(H)),
    headB: randArray(O, seed + 4, 0.1),
  };
}

export const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function stats(times) {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/**
 * Times `step` (sync or async). Warm-up, then N steps with N chosen from the warm-up time so
 * the cell runs about `budgetMs`, within [minSteps, maxSteps], 2 ms apart. Then a stall probe:
 * a quarter as many steps (at least `minSteps`, at most N) while a 1 ms interval timer records
 * the longest gap of the calling thread's event loop during each step (the 2 ms between steps
 * make a gap one step's stall, not idle time).
 *
 * The probe has steps of its own because its timer is load: it wakes the calling thread 1000
 * times a second, and on a 2-core machine those wake-ups take a core from a library that
 * computes on two threads while the calling thread is free (recur's worker and its helper),
 * where a library that blocks the calling thread never sees them during a step. Timed with the
 * timer running, recur's 2-thread predict was 2–6 % slower at medium and large (NOTES).
 * `probeStalls: false` skips the probe (the GEMM table, which has no stall column).
 */
export async function measure(step, { budgetMs = 3000, minSteps = 3, maxSteps = 50, maxWarmup = 3, probeStalls = true } = {}) {
  const w0 = now();
  await step();
  let warm = now() - w0;
  let warmups = 1;
  while (warmups < maxWarmup && warm < 2000) {
    const t = now();
    await step();
    warm = now() - t;
    warmups++;
  }
  let n = Math.round(budgetMs / Math.max(warm, 0.01));
  n = Math.max(minSteps, Math.min(maxSteps, n));
  if (warm > 8000) n = Math.min(n, 2);
  const times = [];
  // the whole process's CPU time (every thread: a worker, helper threads, a peer's thread pool)
  // over the timed loop, gaps included: what a library keeps busy, beside how fast it answers
  const cpu0 = process.cpuUsage();
  const loop0 = now();
  for (let i = 0; i < n; i++) {
    await sleep(2);
    const t0 = now();
    await step();
    times.push(now() - t0);
  }
  const loopMs = now() - loop0;
  const cpu = process.cpuUsage(cpu0);
  const timed = { ...stats(times), times, warmups, cpuMs: (cpu.user + cpu.system) / 1000, loopMs };
  if (!probeStalls) return timed;

  const probeSteps = Math.min(n, Math.max(minSteps, Math.ceil(n / 4)));
  const spans = [];
  const gaps = []; // [start, end] of every interval between two timer ticks
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    gaps.push(last, t);
    last = t;
  }, 1);
  for (let i = 0; i < probeSteps; i++) {
    await sleep(2);
    const t0 = now();
    await step();
    spans.push([t0, now()]);
  }
  await sleep(5);
  clearInterval(timer);
  // per step: the longest tick interval that overlaps the step
  const perStep = spans.map(([s0, s1]) => {
    let m = 0;
    for (let k = 0; k < gaps.length; k += 2) if (gaps[k + 1] >= s0 && gaps[k] <= s1) m = Math.max(m, gaps[k + 1] - gaps[k]);
    return m;
  });
  const maxGap = Math.max(...perStep);
  const stallMedian = stats(perStep).median;
  return { ...timed, maxStallMs: maxGap, stallMedianMs: stallMedian, stalls: perStep, stallSteps: probeSteps };
}

/**
 * A `measure` result of calls that each run `k` steps, as times per step (ms per step = a call's
 * time / k; the stalls of the calling thread stay per call, and `n` counts calls).
 */
export function perStep(m, k) {
  const times = m.times.map((t) => t / k);
  return { ...m, ...stats(times), times, stepsPerCall: k };
}

export function memoryPeak(baselineRss) {
  const ru = process.resourceUsage();
  return { peakRssMB: ru.maxRSS / 1024, baselineRssMB: baselineRss / 1024 / 1024 };
}
