// A hand-written SVG chart of the same numbers as RESULTS.md: ms per training step and per
// forward pass (log scale), grouped by configuration, one bar per library; missing cells are
// marked "n/a".
const COLORS = {
  'recur-lstm': '#d62728',
  'tfjs-cpu': '#7f7f7f',
  'tfjs-wasm': '#1f77b4',
  brainjs: '#ff7f0e',
  'ort-1t': '#2ca02c',
  'ort-2t': '#98df8a',
  'recur-bind-lstm': '#f7b6b2',
  'recur-lstm-2t': '#8c2d04',
};

const SHORT = { 'recur-lstm': 'recur LSTM (SDK, worker)', 'recur-lstm-2t': 'recur LSTM (SDK, 2 threads)', 'recur-bind-lstm': 'recur LSTM (bindings)' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function panel(title, cells, libs, LABEL, x0, y0, w, h) {
  const out = [];
  const cfgs = Object.keys(cells ?? {});
  const vals = [];
  for (const c of cfgs) for (const l of libs) if (cells[c][l]?.ok) vals.push(cells[c][l].median);
  out.push(`<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`);
  if (vals.length === 0) {
    out.push(`<text x="${x0 + w / 2}" y="${y0 + h / 2}" text-anchor="middle">no data</text>`);
    return out;
  }
  const lo = Math.floor(Math.log10(Math.min(...vals)));
  const hi = Math.ceil(Math.log10(Math.max(...vals)) + 1e-9);
  const span = Math.max(1, hi - lo);
  const y = (v) => y0 + h - ((Math.log10(v) - lo) / span) * h;
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (let e = lo; e <= lo + span; e++) {
    const yy = y(10 ** e);
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    const v = 10 ** e;
    out.push(`<text x="${x0 - 6}" y="${yy + 4}" text-anchor="end" font-size="11">${v >= 1 ? v : v.toPrecision(1)} ms</text>`);
  }
  const gw = w / cfgs.length;
  const bw = Math.min(28, (gw - 20) / libs.length);
  cfgs.forEach((cfg, gi) => {
    const gx = x0 + gi * gw + (gw - bw * libs.length) / 2;
    libs.forEach((lib, li) => {
      const r = cells[cfg][lib];
      const bx = gx + li * bw;
      if (r?.ok) {
        const top = y(r.median);
        out.push(`<rect x="${bx + 1}" y="${top}" width="${bw - 2}" height="${y0 + h - top}" fill="${COLORS[lib] ?? '#333'}"><title>${esc(`${LABEL[lib]}, ${cfg}: ${r.median.toFixed(3)} ms (${r.min.toFixed(3)}–${r.max.toFixed(3)})`)}</title></rect>`);
        // the range
        out.push(`<line x1="${bx + bw / 2}" x2="${bx + bw / 2}" y1="${y(r.max)}" y2="${y(r.min)}" stroke="#000" stroke-width="1"/>`);
      } else {
        out.push(`<text x="${bx + bw / 2}" y="${y0 + h - 4}" text-anchor="middle" font-size="9" transform="rotate(-90 ${bx + bw / 2} ${y0 + h - 4})" dx="30">n/a</text>`);
      }
    });
    out.push(`<text x="${x0 + gi * gw + gw / 2}" y="${y0 + h + 16}" text-anchor="middle" font-size="12">${esc(cfg)}</text>`);
  });
  return out;
}

export function renderSvg(R, { LABEL }) {
  const W = 1000;
  const H = 520;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="16">recur benchmark — ${esc(R.machine.cpu)}, Node ${esc(R.machine.node)}, ${esc(R.machine.date.slice(0, 10))}${R.quick ? ' (--quick)' : ''} — lower is better, log scale</text>`,
  ];
  const trainLibs = ['recur-lstm', 'recur-lstm-2t', 'recur-bind-lstm', 'tfjs-cpu', 'tfjs-wasm', 'brainjs'];
  const inferLibs = ['recur-lstm', 'recur-lstm-2t', 'recur-bind-lstm', 'tfjs-wasm', 'ort-1t', 'ort-2t'];
  parts.push(...panel('LSTM training step, ms (median; line: min–max)', R.train, trainLibs, LABEL, 80, 70, 390, 360));
  parts.push(...panel('LSTM forward pass, ms (median; line: min–max)', R.infer, inferLibs, LABEL, 580, 70, 390, 360));
  const libs = [...new Set([...trainLibs, ...inferLibs])];
  libs.forEach((lib, i) => {
    const x = 20 + (i % 4) * 245;
    const y = 466 + Math.floor(i / 4) * 17;
    parts.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[lib]}"/>`);
    parts.push(`<text x="${x + 16}" y="${y}" font-size="12">${esc(SHORT[lib] ?? LABEL[lib])}</text>`);
  });
  const naRecur = !Object.values(R.train ?? {}).some((c) => c['recur-lstm']?.ok || c['recur-bind-lstm']?.ok);
  if (naRecur) parts.push(`<text x="${W / 2}" y="${H - 6}" text-anchor="middle" font-size="12" fill="#d62728">recur: n/a (API not available at the time of this run)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
