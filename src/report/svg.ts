// Hand-rolled SVG charts for the HTML report: static markup, no script, no fonts or files to
// fetch, so a report opens offline, in a CI artifact viewer, or attached to a ticket. Pure.
import { escapeXml } from './junit.js';

export interface Series {
  name: string;
  color: string;
  points: readonly (readonly [number, number])[];
  dashed?: boolean;
  /** Draw a dot at each point (sparse data such as sweep steps). */
  dots?: boolean;
}

export interface Marker {
  /** A vertical line at this x… */
  x?: number;
  /** …or a horizontal one at this y. */
  y?: number;
  label: string;
  color: string;
}

export interface LineChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  markers?: readonly Marker[];
  /** Step lines (a CDF); default straight segments. */
  step?: boolean;
  yMin?: number;
  yMax?: number;
  width?: number;
  height?: number;
}

const W = 640;
const H = 300;
const M = { top: 34, right: 16, bottom: 44, left: 64 };

/** Round numbers for axis ticks: 1, 2 or 5 × 10^k spaced, about `count` of them. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step)
    ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

export function fmtTick(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (a >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(4)));
}

interface Frame {
  x(v: number): number;
  y(v: number): number;
  parts: string[];
  w: number;
  h: number;
}

function frame(
  spec: { title: string; xLabel: string; yLabel: string; width?: number; height?: number },
  xr: [number, number],
  yr: [number, number],
): Frame {
  const w = spec.width ?? W;
  const h = spec.height ?? H;
  const pw = w - M.left - M.right;
  const ph = h - M.top - M.bottom;
  const xt = niceTicks(xr[0], xr[1]);
  const yt = niceTicks(yr[0], yr[1]);
  const x0 = Math.min(xr[0], xt[0]!);
  const x1 = Math.max(xr[1], xt.at(-1)!, x0 + 1e-9);
  const y0 = Math.min(yr[0], yt[0]!);
  const y1 = Math.max(yr[1], yt.at(-1)!, y0 + 1e-9);
  const x = (v: number) => M.left + ((v - x0) / (x1 - x0)) * pw;
  const y = (v: number) => M.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const r = (n: number) => n.toFixed(1);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<text class="title" x="${M.left}" y="20">${escapeXml(spec.title)}</text>`,
    `<rect class="plot" x="${M.left}" y="${M.top}" width="${pw}" height="${ph}"/>`,
  ];
  for (const t of yt)
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${M.left + pw}" y1="${r(y(t))}" y2="${r(y(t))}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${r(y(t) + 4)}" text-anchor="end">${fmtTick(t)}</text>`,
    );
  for (const t of xt)
    parts.push(
      `<line class="grid" x1="${r(x(t))}" x2="${r(x(t))}" y1="${M.top}" y2="${M.top + ph}"/>`,
      `<text class="tick" x="${r(x(t))}" y="${M.top + ph + 16}" text-anchor="middle">${fmtTick(t)}</text>`,
    );
  parts.push(
    `<text class="axis" x="${M.left + pw / 2}" y="${h - 6}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
    `<text class="axis" transform="translate(14 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
  );
  return { x, y, parts, w, h };
}

function legend(f: Frame, items: readonly { name: string; color: string }[]): void {
  let lx = f.w - M.right;
  for (const it of [...items].reverse()) {
    const tw = it.name.length * 6.5 + 22;
    lx -= tw;
    f.parts.push(
      `<rect x="${lx.toFixed(1)}" y="10" width="12" height="12" fill="${it.color}"/>`,
      `<text class="legend" x="${(lx + 16).toFixed(1)}" y="20">${escapeXml(it.name)}</text>`,
    );
  }
}

export function lineChart(spec: LineChartSpec): string {
  const all = spec.series.flatMap((s) => s.points);
  const marks = spec.markers ?? [];
  if (all.length === 0) return emptyChart(spec.title, 'no data recorded');
  const xs = [...all.map((p) => p[0]), ...marks.flatMap((m) => (m.x === undefined ? [] : [m.x]))];
  const ys = [...all.map((p) => p[1]), ...marks.flatMap((m) => (m.y === undefined ? [] : [m.y]))];
  const f = frame(
    spec,
    [Math.min(...xs), Math.max(...xs)],
    [spec.yMin ?? Math.min(0, ...ys), spec.yMax ?? Math.max(...ys) * 1.05],
  );
  for (const s of spec.series) {
    if (s.points.length === 0) continue;
    let d = '';
    s.points.forEach(([px, py], i) => {
      const X = f.x(px).toFixed(1);
      const Y = f.y(py).toFixed(1);
      if (i === 0) d += `M${X} ${Y}`;
      else d += spec.step ? `H${X}V${Y}` : `L${X} ${Y}`;
    });
    f.parts.push(
      `<path class="series" d="${d}" stroke="${s.color}"${s.dashed ? ' stroke-dasharray="6 4"' : ''}><title>${escapeXml(s.name)}</title></path>`,
    );
    if (s.dots)
      for (const [px, py] of s.points)
        f.parts.push(
          `<circle cx="${f.x(px).toFixed(1)}" cy="${f.y(py).toFixed(1)}" r="3.5" fill="${s.color}"><title>${escapeXml(`${s.name}: ${fmtTick(px)}, ${fmtTick(py)}`)}</title></circle>`,
        );
  }
  marks.forEach((m, i) => {
    if (m.x !== undefined) {
      const X = f.x(m.x).toFixed(1);
      // Labels stack downwards so markers at the same x stay readable.
      f.parts.push(
        `<line class="marker" x1="${X}" x2="${X}" y1="${M.top}" y2="${f.h - M.bottom}" stroke="${m.color}"/>`,
        `<text class="marker-label" x="${(f.x(m.x) + 4).toFixed(1)}" y="${M.top + 14 + 14 * i}" fill="${m.color}">${escapeXml(m.label)}</text>`,
      );
    } else if (m.y !== undefined) {
      const Y = f.y(m.y).toFixed(1);
      f.parts.push(
        `<line class="marker" x1="${M.left}" x2="${f.w - M.right}" y1="${Y}" y2="${Y}" stroke="${m.color}"/>`,
        `<text class="marker-label" x="${M.left + 4}" y="${(f.y(m.y) - 4).toFixed(1)}" fill="${m.color}">${escapeXml(m.label)}</text>`,
      );
    }
  });
  legend(f, spec.series);
  f.parts.push('</svg>');
  return f.parts.join('');
}

export interface Bar {
  label: string;
  value: number;
  color: string;
}

/** Horizontal bars with labels, for categories (outcomes). */
export function barChart(spec: {
  title: string;
  bars: readonly Bar[];
  unit: string;
  width?: number;
}): string {
  const w = spec.width ?? W;
  const rowH = 22;
  const left = 150;
  const h = 34 + spec.bars.length * rowH + 10;
  const max = Math.max(1, ...spec.bars.map((b) => b.value));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<text class="title" x="8" y="20">${escapeXml(spec.title)}</text>`,
  ];
  spec.bars.forEach((b, i) => {
    const y = 34 + i * rowH;
    const bw = ((w - left - 90) * b.value) / max;
    parts.push(
      `<text class="tick" x="${left - 8}" y="${y + 14}" text-anchor="end">${escapeXml(b.label)}</text>`,
      `<rect class="bar" x="${left}" y="${y + 2}" width="${Math.max(b.value > 0 ? 1 : 0, bw).toFixed(1)}" height="${rowH - 6}" fill="${b.color}"><title>${escapeXml(`${b.label}: ${b.value}`)}</title></rect>`,
      `<text class="tick" x="${(left + bw + 6).toFixed(1)}" y="${y + 14}">${escapeXml(`${fmtTick(b.value)} ${spec.unit}`)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

/** Vertical bars over a numeric axis: a histogram, bins as [from, to, count]. */
export function histogramChart(spec: {
  title: string;
  xLabel: string;
  bins: readonly (readonly [number, number, number])[];
  color: string;
  markers?: readonly Marker[];
}): string {
  if (spec.bins.length === 0) return emptyChart(spec.title, 'no data recorded');
  const f = frame(
    { title: spec.title, xLabel: spec.xLabel, yLabel: 'streams' },
    [spec.bins[0]![0], spec.bins.at(-1)![1]],
    [0, Math.max(...spec.bins.map((b) => b[2])) * 1.05],
  );
  for (const [a, b, n] of spec.bins) {
    if (n === 0) continue;
    const x = f.x(a);
    const wd = Math.max(1, f.x(b) - x - 1);
    f.parts.push(
      `<rect class="bar" x="${x.toFixed(1)}" y="${f.y(n).toFixed(1)}" width="${wd.toFixed(1)}" height="${(f.y(0) - f.y(n)).toFixed(1)}" fill="${spec.color}"><title>${escapeXml(`${fmtTick(a)}–${fmtTick(b)}: ${n}`)}</title></rect>`,
    );
  }
  for (const m of spec.markers ?? [])
    if (m.x !== undefined) {
      const X = f.x(m.x).toFixed(1);
      f.parts.push(
        `<line class="marker" x1="${X}" x2="${X}" y1="${M.top}" y2="${f.h - M.bottom}" stroke="${m.color}"/>`,
        `<text class="marker-label" x="${(f.x(m.x) + 4).toFixed(1)}" y="${M.top + 14}" fill="${m.color}">${escapeXml(m.label)}</text>`,
      );
    }
  f.parts.push('</svg>');
  return f.parts.join('');
}

export function emptyChart(title: string, note: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart empty" viewBox="0 0 ${W} 80" width="${W}" height="80" role="img" aria-label="${escapeXml(title)}"><text class="title" x="8" y="20">${escapeXml(title)}</text><text class="tick" x="8" y="50">${escapeXml(note)}</text></svg>`;
}
