// The committed dashboards are what src/dashboards generates, import-ready for current Grafana,
// and every panel is complete: a unique id, a title, a description, the templated datasource, a
// unit, and queries. (Whether those queries return data is prometheus.test.ts.)
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATASOURCE } from '../../src/dashboards/grafana.js';
import { DASHBOARDS, renderDashboard } from '../../src/dashboards/index.js';
import { committedDashboards, DASHBOARD_DIR, variableQuery } from './load.js';

const dashboards = committedDashboards();

/** Grafana unit ids the dashboards may use (a typo would render raw numbers). */
const UNIT = /^(s|ms|short|percentunit|ops|reqps|bytes|suffix: [a-z/]+)$/;
/** Every query reads a metric one of the programs exports, or is the SLO line. */
const METRIC = /\b(gen_ai|tokenstorm|process|nodejs|v8js)_[a-z_]+|\btarget_info\b|^vector\(\$slo_ttft\)$/;

describe('dashboards/*.json', () => {
  it('are exactly what src/dashboards generates (regenerate: npx tsx src/dashboards/write.ts)', () => {
    expect(
      readdirSync(DASHBOARD_DIR)
        .filter((f) => f.endsWith('.json'))
        .sort(),
    ).toEqual(Object.keys(DASHBOARDS).sort());
    for (const { file, text } of dashboards) expect(text, file).toBe(renderDashboard(DASHBOARDS[file]!()));
  });

  it.each(dashboards)('$file: schemaVersion ≥ 39, unique uid, the variables', ({ json }) => {
    expect(json.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(json.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const vars = Object.fromEntries(json.templating.list.map((v) => [v.name, v]));
    expect(vars.datasource).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const name of ['job', 'instance', 'model', 'scenario']) {
      expect(vars[name]?.type, name).toBe('query');
      expect(variableQuery(vars[name]!), name).toMatch(/^label_values\(.+, \w+\)$/);
      expect(vars[name]?.allValue, name).toBe('.*');
    }
    expect(vars.slo_ttft).toMatchObject({ type: 'custom' });
    expect(new Set(json.templating.list.map((v) => v.name)).size).toBe(json.templating.list.length);
  });

  it.each(dashboards)(
    '$file: every panel has a unique id, title, description, datasource, unit and queries',
    ({ json }) => {
      expect(DATASOURCE.uid).toMatch(/^\$\{datasource\}$/);
      const ids = json.panels.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of json.panels) {
        const where = `panel ${p.id} "${p.title}"`;
        expect(Number.isInteger(p.id) && p.id > 0, where).toBe(true);
        expect(p.title, where).toMatch(/^\S.{2,}$/);
        // A description says what the panel shows and how: at least a sentence.
        expect(p.description, where).toMatch(/^\S.{19,}$/s);
        expect(p.datasource, where).toEqual({ type: 'prometheus', uid: DATASOURCE.uid });
        expect(p.fieldConfig?.defaults?.unit, where).toMatch(UNIT);
        expect(p.targets?.length, where).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.expr, `${where} ${t.refId}`).toMatch(METRIC);
          expect(t.datasource?.uid, `${where} ${t.refId}`).toBe(DATASOURCE.uid);
        }
      }
    },
  );

  it.each(dashboards)('$file: the TTFT panel draws the SLO threshold variable as a line', ({ json }) => {
    const ttft = json.panels.find((p) => /^TTFT p50/.test(p.title ?? ''));
    expect(ttft?.targets?.map((t) => t.expr)).toContain('vector($slo_ttft)');
  });
});
