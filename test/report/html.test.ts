// The HTML reports open in headless Chromium with no console errors and no network requests,
// and their charts are drawn (SVG shapes with a size). Screenshots go to test-output/ for a person
// to look at.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveChecks } from '../../src/compare/checks.js';
import { compareResults } from '../../src/compare/compare.js';
import { compareHtml, runHtml, sweepHtml } from '../../src/report/html.js';
import type { RunResult } from '../../src/stats/result.js';
import type { SweepResult } from '../../src/sweep/sweep.js';
import { launchChromium } from '../helpers/browser.js';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const OUT = resolve('test-output');
const load = <T>(path: string): T => JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as T;

let browser: Browser;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ browser, close } = await launchChromium());
  mkdirSync(OUT, { recursive: true });
});
afterAll(async () => {
  await close?.();
});

interface Opened {
  errors: string[];
  requests: string[];
  charts: { label: string; shapes: number; width: number; height: number }[];
}

async function open(name: string, html: string): Promise<Opened> {
  const file = join(OUT, `${name}.html`);
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('request', (r) => {
    if (r.url() !== pathToFileURL(file).href) requests.push(r.url());
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const charts = await page.$$eval('svg.chart', (svgs) =>
    svgs.map((s) => {
      const box = s.getBoundingClientRect();
      const shapes = [...s.querySelectorAll('path.series, rect.bar, circle')].filter((el) => {
        const b = (el as unknown as { getBBox(): { width: number; height: number } }).getBBox();
        return b.width > 0 || b.height > 0;
      }).length;
      return { label: s.getAttribute('aria-label') ?? '', shapes, width: box.width, height: box.height };
    }),
  );
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
  await page.close();
  return { errors, requests, charts };
}

describe('HTML reports in headless Chromium', () => {
  it('run: no console errors, no requests, every chart drawn; screenshot in test-output/report-run.png', async () => {
    const r = await open('report-run', runHtml(load<RunResult>('results/errors.json')));
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    const labels = r.charts.map((c) => c.label);
    expect(labels).toEqual(
      expect.arrayContaining([
        'TTFT histogram (ms, min to p99.9)',
        'TTFT CDF',
        'Active streams and output tokens/s over time',
        'Outcomes',
      ]),
    );
    for (const c of r.charts) {
      expect(c.shapes, c.label).toBeGreaterThan(0);
      expect(c.width, c.label).toBeGreaterThan(300);
    }
  });

  it('sweep: the load curve with the knee marked; screenshot in test-output/report-sweep.png', async () => {
    const sweep = load<SweepResult>('sweep/knee.json');
    const html = sweepHtml(sweep);
    expect(html).toContain('knee ≈');
    const r = await open('report-sweep', html);
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.charts.map((c) => c.label)).toEqual(['Load curve: achieved throughput', 'TTFT by load']);
    for (const c of r.charts) expect(c.shapes, c.label).toBeGreaterThanOrEqual(sweep.steps.length);
  });

  it('compare: both CDFs and the checks; screenshot in test-output/report-compare.png', async () => {
    const a = load<RunResult>('results/clean.json');
    const b = load<RunResult>('results/errors.json');
    const c = compareResults(a, b, resolveChecks([]));
    const r = await open('report-compare', compareHtml(c, a, b));
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.charts).toHaveLength(1);
    expect(r.charts[0]!.shapes).toBe(2);
  });
});
