// A small line chart on a <canvas>: axes with ticks and labels, linear or log10 y, several
// series (solid or dashed). No chart library.

const FONT = '12px system-ui, -apple-system, "Segoe UI", sans-serif';
const AXIS = '#5b6270';
const GRID = '#e6e8ec';

/** Sizes the canvas to its CSS box times devicePixelRatio; returns the 2D context and CSS size. */
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function formatLinear(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(digits, 6));
}

/** `10^k` as text with a superscript exponent. */
function formatPow10(k) {
  const sup = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
  if (k === 0) return '1';
  if (k === 1) return '10';
  return `10${String(k).split('').map((c) => sup[c]).join('')}`;
}

/**
 * Draws a chart.
 * @param {HTMLCanvasElement} canvas
 * @param {{
 *   series: { color: string, points: [number, number][], dash?: number[], width?: number, dots?: boolean }[],
 *   xLabel: string, yLabel: string, yLog?: boolean, xRange?: [number, number], yRange?: [number, number],
 *   xFormat?: (v: number) => string, xTicks?: number[], floorLabel?: string, empty?: string,
 *   marker?: { x: number, label: string },
 * }} spec
 */
export function drawChart(canvas, spec) {
  const { ctx, width, height } = prepare(canvas);
  const pad = { left: 64, right: 14, top: 12, bottom: 44 };
  const pw = width - pad.left - pad.right;
  const ph = height - pad.top - pad.bottom;
  ctx.font = FONT;

  const all = spec.series.flatMap((s) => s.points);
  const tf = spec.yLog ? (v) => (v > 0 ? Math.log10(v) : -Infinity) : (v) => v;
  let [x0, x1] = spec.xRange ?? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = spec.yRange ?? (() => {
    const ys = all.map((p) => tf(p[1])).filter(Number.isFinite);
    return [Math.min(...ys), Math.max(...ys)];
  })();
  if (!Number.isFinite(x0) || !Number.isFinite(x1)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0) || !Number.isFinite(y1)) [y0, y1] = [0, 1];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) {
    y0 -= spec.yLog ? 1 : Math.abs(y0) * 0.1 + 1;
    y1 += spec.yLog ? 1 : Math.abs(y1) * 0.1 + 1;
  }
  if (spec.yLog) {
    y0 = Math.floor(y0);
    y1 = Math.ceil(y1);
  } else if (!spec.yRange) {
    const m = (y1 - y0) * 0.06;
    y0 -= m;
    y1 += m;
  }
  const px = (x) => pad.left + ((x - x0) / (x1 - x0)) * pw;
  const py = (y) => pad.top + (1 - (y - y0) / (y1 - y0)) * ph;

  // Grid and y ticks.
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  let yTicks;
  if (spec.yLog) {
    const span = y1 - y0;
    const every = span <= 6 ? 1 : span <= 12 ? 2 : span <= 30 ? 5 : 10;
    yTicks = [];
    for (let k = Math.ceil(y0 / every) * every; k <= y1; k += every) yTicks.push(k);
  } else {
    yTicks = niceTicks(y0, y1, 5);
  }
  const yStep = yTicks.length > 1 ? yTicks[1] - yTicks[0] : 1;
  for (const t of yTicks) {
    const y = py(t);
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(pad.left, y);
    ctx.lineTo(pad.left + pw, y);
    ctx.stroke();
    ctx.fillStyle = AXIS;
    ctx.fillText(spec.yLog ? formatPow10(t) : formatLinear(t, yStep), pad.left - 6, y);
  }

  // x ticks.
  const xTicks = spec.xTicks ?? niceTicks(x0, x1, Math.max(2, Math.floor(pw / 90)));
  const xStep = xTicks.length > 1 ? xTicks[1] - xTicks[0] : 1;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of xTicks) {
    if (t < x0 - 1e-9 || t > x1 + 1e-9) continue;
    const x = px(t);
    ctx.strokeStyle = GRID;
    ctx.beginPath();
    ctx.moveTo(x, pad.top);
    ctx.lineTo(x, pad.top + ph);
    ctx.stroke();
    ctx.fillStyle = AXIS;
    ctx.fillText(spec.xFormat ? spec.xFormat(t) : formatLinear(t, xStep), x, pad.top + ph + 6);
  }

  // Axes and labels.
  ctx.strokeStyle = AXIS;
  ctx.beginPath();
  ctx.moveTo(pad.left, pad.top);
  ctx.lineTo(pad.left, pad.top + ph);
  ctx.lineTo(pad.left + pw, pad.top + ph);
  ctx.stroke();
  ctx.fillStyle = '#2b2f36';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(spec.xLabel, pad.left + pw / 2, height - 4);
  ctx.save();
  ctx.translate(14, pad.top + ph / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(spec.yLabel, 0, 0);
  ctx.restore();

  if (spec.marker) {
    const x = px(spec.marker.x);
    ctx.strokeStyle = '#9aa1ad';
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    ctx.moveTo(x, pad.top);
    ctx.lineTo(x, pad.top + ph);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = AXIS;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(spec.marker.label, x + 4, pad.top + 2);
  }

  if (all.length === 0) {
    ctx.fillStyle = '#8a909b';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(spec.empty ?? 'no data yet', pad.left + pw / 2, pad.top + ph / 2);
    return;
  }

  // Series, clipped to the plot area; log-scale values ≤ 0 (or below the range) sit on the floor.
  ctx.save();
  ctx.beginPath();
  ctx.rect(pad.left, pad.top - 2, pw, ph + 4);
  ctx.clip();
  let floored = false;
  for (const s of spec.series) {
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.width ?? 2;
    ctx.setLineDash(s.dash ?? []);
    ctx.beginPath();
    let started = false;
    for (const [xv, yv] of s.points) {
      let ty = tf(yv);
      if (spec.yLog && !(ty >= y0)) {
        ty = y0;
        floored = true;
      }
      if (!Number.isFinite(ty)) {
        started = false;
        continue;
      }
      const X = px(xv);
      const Y = py(ty);
      if (started) ctx.lineTo(X, Y);
      else ctx.moveTo(X, Y);
      started = true;
    }
    ctx.stroke();
    if (s.dots) {
      for (const [xv, yv] of s.points) {
        const ty = tf(yv);
        if (!Number.isFinite(ty)) continue;
        ctx.beginPath();
        ctx.arc(px(xv), py(ty), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
  ctx.restore();
  ctx.setLineDash([]);
  if (floored && spec.floorLabel) {
    ctx.fillStyle = AXIS;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText(spec.floorLabel, pad.left + pw - 4, pad.top + ph - 4);
  }
}
