// Number and table formatting shared by the terminal summary and progress line. Pure and
// locale-free (no Intl, no toLocaleString) so output is byte-identical on every machine and the
// golden tests hold.

/** 1234567 → "1,234,567" (integers; rounds). */
export function fmtInt(n: number): string {
  const s = Math.round(Math.abs(n)).toString();
  const grouped = s.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return n < 0 && Math.round(n) !== 0 ? `-${grouped}` : grouped;
}

/** Fixed decimals with thousands separators: fmtFixed(12345.678, 1) → "12,345.7". */
export function fmtFixed(n: number, decimals: number): string {
  const [int, frac] = Math.abs(n).toFixed(decimals).split('.');
  const sign = n < 0 && Number(Math.abs(n).toFixed(decimals)) !== 0 ? '-' : '';
  const grouped = int!.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return frac === undefined ? sign + grouped : `${sign}${grouped}.${frac}`;
}

/** A latency in ms with precision that fits its size: 0.42, 12.34, 123.4, 1,234. */
export function fmtMs(ms: number): string {
  const a = Math.abs(ms);
  return fmtFixed(ms, a < 100 ? 2 : a < 1000 ? 1 : 0);
}

/** A value in a metric's display unit. */
export function fmtValue(v: number, unit: string): string {
  if (unit === 'tokens') return fmtFixed(v, Number.isInteger(v) ? 0 : 1);
  if (unit === 'tokens/s') return fmtFixed(v, 1);
  return fmtMs(v);
}

/** 0.98765 → "98.77%". */
export function fmtPercent(ratio: number): string {
  return `${(ratio * 100).toFixed(2)}%`;
}

/** A duration given in ms, k6 style: 500ms, 30s, 1m30s, 1h2m. */
export function fmtDurationMs(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 100) / 10; // 0.1 s resolution
  if (s < 60) return `${s}s`;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s = Math.round((s - m * 60) * 10) / 10;
  return `${h > 0 ? `${h}h` : ''}${m > 0 ? `${m}m` : ''}${s > 0 ? `${s}s` : ''}`;
}

/** Elapsed seconds as a clock: 62.4 → "1:02", 3725 → "1:02:05". */
export function fmtClock(seconds: number): string {
  const t = Math.max(0, Math.floor(seconds));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const ss = s.toString().padStart(2, '0');
  return h > 0 ? `${h}:${m.toString().padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export type Align = 'left' | 'right';

/**
 * Pads each column to its widest cell. `style(text, row, col)` wraps the cell's text, padding stays
 * outside, so ANSI codes never count toward widths. Trailing spaces are trimmed.
 */
export function table(
  rows: readonly (readonly string[])[],
  align: readonly Align[],
  style: (text: string, row: number, col: number) => string = (t) => t,
  gap = '  ',
): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, width(c));
    });
  return rows.map((r, ri) =>
    r
      .map((c, ci) => {
        const pad = ' '.repeat(widths[ci]! - width(c));
        const styled = style(c, ri, ci);
        return align[ci] === 'right' ? pad + styled : styled + pad;
      })
      .join(gap)
      .trimEnd(),
  );
}

/** Display width: code points (✓, ✗, → and · are one column each). */
export function width(s: string): number {
  return [...s].length;
}

/** ANSI styling that is a no-op when colour is off. */
export interface Paint {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

export function paint(color: boolean): Paint {
  const wrap =
    (open: number, close: number) =>
    (s: string): string =>
      color && s !== '' ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
  };
}
