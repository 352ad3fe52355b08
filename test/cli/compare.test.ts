// `tokenstorm compare`, `report`, `sweep` (usage) and `run --junit/--summary-md/--html` as a user
// runs them: the built CLI in a child process. Exit codes: 0, 2 invalid input, 99 regression or
// failed threshold.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, useCli } from '../helpers/cli.js';
import { junitCases } from '../helpers/junit.js';
import { within } from '../helpers/server.js';

const cli = useCli();
let dir: string;
const FIX = (name: string) => new URL(`../fixtures/${name}`, import.meta.url).pathname;

beforeAll(() => {
  assertBuilt();
  dir = mkdtempSync(join(tmpdir(), 'tokenstorm-compare-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tokenstorm compare / report / sweep (built CLI)', () => {
  it('the same result twice: exit 0, every metric side by side, no regression', async () => {
    const out = join(dir, 'same.json');
    const r = await within(
      'compare',
      cli([
        'compare',
        FIX('results/clean.json'),
        FIX('results/clean.json'),
        '--out',
        out,
        '--junit',
        join(dir, 'same.xml'),
      ]).exited,
      20_000,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^ttft_ms\s+p95\s+[\d.,]+\s+[\d.,]+\s+\+?0/m);
    expect(r.stdout).toMatch(/verdict\s+no regression \(6 checks\)/);
    const c = JSON.parse(readFileSync(out, 'utf8'));
    expect(c).toMatchObject({ kind: 'compare', regressed: false });
    expect(junitCases(readFileSync(join(dir, 'same.xml'), 'utf8')).some((x) => x.failed)).toBe(false);
  });

  it('a worse result: exit 99, the regression in the summary, JUnit, Markdown and $GITHUB_STEP_SUMMARY', async () => {
    const step = join(dir, 'step-summary.md');
    writeFileSync(step, '# earlier step\n');
    const r = await within(
      'compare',
      cli(
        [
          'compare',
          FIX('results/clean.json'),
          FIX('results/errors.json'),
          '--max-regression',
          'ttft_ms.p95=10%',
          '--junit',
          join(dir, 'worse.xml'),
          '--summary-md',
          join(dir, 'worse.md'),
          '--html',
          join(dir, 'worse.html'),
        ],
        { GITHUB_STEP_SUMMARY: step },
      ).exited,
      20_000,
    );
    expect(r.code, r.stderr).toBe(99);
    expect(r.stdout).toMatch(/verdict\s+REGRESSION: \d+ of 6 checks \(.*ttft_ms\.p95/);
    expect(
      junitCases(readFileSync(join(dir, 'worse.xml'), 'utf8')).find(
        (x) => x.name === 'ttft_ms.p95 no regression',
      )!.failed,
    ).toBe(true);
    expect(readFileSync(join(dir, 'worse.md'), 'utf8')).toContain('❌ REGRESSION');
    const appended = readFileSync(step, 'utf8');
    expect(appended.startsWith('# earlier step\n')).toBe(true);
    expect(appended).toContain('### tokenstorm compare');
    expect(readFileSync(join(dir, 'worse.html'), 'utf8')).toContain('<svg');
  });

  it('bad arguments and unreadable files: exit 2 with every problem', async () => {
    const bad = await within(
      'compare',
      cli([
        'compare',
        FIX('results/clean.json'),
        FIX('results/clean.json'),
        '--max-regression',
        'ttft.p95=10%',
        '--max-regression',
        'ttft_ms.p95=ten',
      ]).exited,
      20_000,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('[E_USAGE] 2 invalid arguments');
    expect(bad.stderr).toMatch(/- --max-regression unknown metric "ttft"/);
    expect(bad.stderr).toMatch(/- --max-regression "ten" in "ttft_ms.p95=ten" is not a tolerance/);
    const missing = await within(
      'compare',
      cli(['compare', join(dir, 'nope.json'), FIX('results/clean.json')]).exited,
      20_000,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('[E_RESULT_INVALID]');
    const slo = await within(
      'sweep',
      cli(['sweep', FIX('scenarios/minimal.yaml'), '--slo', 'ttft_ms<5', '--factor', '1']).exited,
      20_000,
    );
    expect(slo.code).toBe(2);
    expect(slo.stderr).toMatch(/ttft_ms is a histogram; name the aggregation/);
    expect(slo.stderr).toMatch(/--factor must be above 1/);
  });

  it('report: HTML, JUnit and Markdown from run and sweep files; nothing asked is exit 2', async () => {
    for (const [input, name] of [
      ['results/errors.json', 'run'],
      ['sweep/knee.json', 'sweep'],
    ] as const) {
      const html = join(dir, `${name}.html`);
      const r = await within(
        'report',
        cli(['report', FIX(input), '--html', html, '--junit', join(dir, `${name}.xml`)]).exited,
        20_000,
      );
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg[\s\S]*<\/html>\n$/);
      expect(existsSync(join(dir, `${name}.xml`))).toBe(true);
    }
    const none = await within('report', cli(['report', FIX('results/clean.json')]).exited, 20_000);
    expect(none.code).toBe(2);
  });

  it('run --junit: a failed threshold is a failure in the JUnit file, exit 99', async () => {
    const file = join(dir, 'fail.yaml');
    writeFileSync(
      file,
      `name: junit-fail
target:
  embedded: true
  mock:
    latency: { ttft_base_ms: 5, itl_ms: { type: fixed, mean: 1 } }
request: { max_tokens: 4 }
load: { type: closed, concurrency: 2, streams: 4, duration: 30s }
thresholds:
  ttft_ms: ["p(95)<1"]
  completion_rate: ["rate==1"]
`,
    );
    const xml = join(dir, 'run.xml');
    const r = await within(
      'run',
      cli([
        'run',
        file,
        '--quiet',
        '--junit',
        xml,
        '--summary-md',
        join(dir, 'run.md'),
        '--html',
        join(dir, 'run.html'),
      ]).exited,
      30_000,
    );
    expect(r.code, r.stderr).toBe(99);
    expect(r.stdout).toContain(`JUnit XML written to ${xml}`);
    const cases = junitCases(readFileSync(xml, 'utf8'));
    expect(cases).toEqual([
      {
        name: 'ttft_ms p(95)<1',
        failed: true,
        skipped: false,
        message: expect.stringMatching(/^ttft_ms p\(95\)<1 failed: actual \d/),
      },
      { name: 'completion_rate rate==1', failed: false, skipped: false },
    ]);
    expect(readFileSync(join(dir, 'run.md'), 'utf8')).toContain('❌ 1 of 2 thresholds failed');
  });
});
