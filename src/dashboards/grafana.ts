// A small builder for Grafana dashboard JSON (schemaVersion 39, Grafana 10.4 / 11): the few panel
// kinds tokenstorm's dashboards use, each with a description, a unit and the templated Prometheus
// datasource. Plain objects, no dependency: the committed JSON under dashboards/ is this module's
// output (`npx tsx src/dashboards/write.ts`), and test/dashboards keeps the two equal.

export const SCHEMA_VERSION = 39;

/** Every panel and query variable reads from the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a Grafana variable reference, not a JS template
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

export interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  /** 'heatmap' for bucket queries shown as a heatmap. */
  format?: 'time_series' | 'heatmap';
  /** Instant query (stat panels over the whole range). */
  instant?: boolean;
}

export interface GridPos {
  h: number;
  w: number;
  x: number;
  y: number;
}

export interface Panel {
  id: number;
  type: 'timeseries' | 'heatmap' | 'stat';
  title: string;
  description: string;
  datasource: typeof DATASOURCE;
  gridPos: GridPos;
  fieldConfig: { defaults: Record<string, unknown> & { unit: string }; overrides: unknown[] };
  options: Record<string, unknown>;
  targets: (Target & { datasource: typeof DATASOURCE; editorMode: 'code'; range: boolean })[];
}

export interface PanelSpec {
  title: string;
  description: string;
  unit: string;
  /** PromQL and legend; `format`/`instant` as for Target. */
  queries: { expr: string; legend: string; format?: 'heatmap'; instant?: boolean }[];
  /** Width in grid columns (of 24); height defaults to 8. */
  w?: number;
  h?: number;
  min?: number;
  max?: number;
  decimals?: number;
  /** Stack the series (normal) or as percent of the total. */
  stack?: 'normal' | 'percent';
  /** Static threshold steps drawn as dashed lines: [value, color]. */
  thresholds?: [number, string][];
  /** Series whose legend equals this is drawn as a dashed red line (a target, e.g. the SLO). */
  targetLine?: string;
  /** Bars instead of lines (counts per interval). */
  bars?: boolean;
}

/** Lays out panels left to right, wrapping at 24 columns, and numbers them from 1. */
export class Layout {
  private x = 0;
  private y = 0;
  private rowH = 0;
  private nextId = 1;
  readonly panels: Panel[] = [];

  private place(w: number, h: number): GridPos {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
    const pos = { h, w, x: this.x, y: this.y };
    this.x += w;
    this.rowH = Math.max(this.rowH, h);
    return pos;
  }

  /** Starts a new line of panels. */
  newLine(): void {
    if (this.x > 0) {
      this.x = 0;
      this.y += this.rowH;
      this.rowH = 0;
    }
  }

  private targets(spec: PanelSpec): Panel['targets'] {
    return spec.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      editorMode: 'code' as const,
      expr: q.expr,
      legendFormat: q.legend,
      range: q.instant !== true,
      ...(q.instant === true ? { instant: true } : {}),
      ...(q.format === 'heatmap' ? { format: 'heatmap' as const } : {}),
    }));
  }

  private base(
    type: Panel['type'],
    spec: PanelSpec,
    defaults: Record<string, unknown>,
    w: number,
    h: number,
  ) {
    const d: Record<string, unknown> & { unit: string } = { unit: spec.unit, ...defaults };
    if (spec.min !== undefined) d.min = spec.min;
    if (spec.max !== undefined) d.max = spec.max;
    if (spec.decimals !== undefined) d.decimals = spec.decimals;
    return {
      id: this.nextId++,
      type,
      title: spec.title,
      description: spec.description,
      datasource: DATASOURCE,
      gridPos: this.place(spec.w ?? w, spec.h ?? h),
      fieldConfig: { defaults: d, overrides: [] as unknown[] },
      options: {} as Record<string, unknown>,
      targets: this.targets(spec),
    };
  }

  timeseries(spec: PanelSpec): void {
    const steps = spec.thresholds ?? [];
    const p = this.base(
      'timeseries',
      spec,
      {
        color: { mode: 'palette-classic' },
        custom: {
          drawStyle: spec.bars === true ? 'bars' : 'line',
          lineWidth: 1,
          fillOpacity: spec.stack !== undefined || spec.bars === true ? 60 : 10,
          gradientMode: 'none',
          showPoints: 'never',
          spanNulls: false,
          axisSoftMin: 0,
          stacking: { mode: spec.stack ?? 'none', group: 'A' },
          thresholdsStyle: { mode: steps.length > 0 ? 'dashed' : 'off' },
        },
        thresholds: {
          mode: 'absolute',
          steps: [{ color: 'green', value: null }, ...steps.map(([value, color]) => ({ color, value }))],
        },
      },
      12,
      8,
    );
    if (spec.targetLine !== undefined)
      p.fieldConfig.overrides.push({
        matcher: { id: 'byName', options: spec.targetLine },
        properties: [
          { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
          { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
          { id: 'custom.lineWidth', value: 2 },
          { id: 'custom.fillOpacity', value: 0 },
          { id: 'custom.stacking', value: { mode: 'none', group: 'A' } },
        ],
      });
    p.options = {
      legend: {
        displayMode: 'table',
        placement: 'bottom',
        showLegend: true,
        calcs: ['mean', 'max', 'lastNotNull'],
      },
      tooltip: { mode: 'multi', sort: 'desc' },
    };
    this.panels.push(p);
  }

  heatmap(spec: PanelSpec): void {
    const p = this.base(
      'heatmap',
      spec,
      {
        custom: {
          hideFrom: { legend: false, tooltip: false, viz: false },
          scaleDistribution: { type: 'linear' },
        },
      },
      12,
      8,
    );
    p.options = {
      calculate: false,
      cellGap: 1,
      color: {
        mode: 'scheme',
        scheme: 'Oranges',
        scale: 'exponential',
        exponent: 0.5,
        steps: 64,
        reverse: false,
      },
      exemplars: { color: 'rgba(255,0,255,0.7)' },
      filterValues: { le: 1e-9 },
      legend: { show: true },
      rowsFrame: { layout: 'auto' },
      tooltip: { mode: 'single', yHistogram: true, showColorScale: false },
      yAxis: { axisPlacement: 'left', reverse: false, unit: spec.unit },
    };
    this.panels.push(p);
  }

  stat(spec: PanelSpec): void {
    const steps = spec.thresholds ?? [];
    const p = this.base(
      'stat',
      spec,
      {
        color: { mode: 'thresholds' },
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: steps.length > 0 ? 'red' : 'green', value: null },
            ...steps.map(([value, color]) => ({ color, value })),
          ],
        },
      },
      6,
      4,
    );
    p.options = {
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      textMode: 'auto',
      wideLayout: true,
      showPercentChange: false,
    };
    this.panels.push(p);
  }
}

export interface Variable {
  name: string;
  label: string;
  description: string;
  [key: string]: unknown;
}

export function datasourceVariable(): Variable {
  return {
    name: 'datasource',
    label: 'Data source',
    description: 'The Prometheus that scrapes tokenstorm (provisioned as "Prometheus" by docker-compose)',
    type: 'datasource',
    query: 'prometheus',
    current: {},
    hide: 0,
    includeAll: false,
    multi: false,
    options: [],
    refresh: 1,
    regex: '',
    skipUrlSync: false,
  };
}

/** A multi-value query variable from `label_values(selector, label)`, "All" meaning `.*`. */
export function labelVariable(name: string, label: string, description: string, query: string): Variable {
  return {
    name,
    label,
    description,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
    current: { selected: true, text: ['All'], value: ['$__all'] },
    hide: 0,
    includeAll: true,
    allValue: '.*',
    multi: true,
    options: [],
    refresh: 2,
    regex: '',
    skipUrlSync: false,
    sort: 1,
  };
}

/** A custom variable whose values are a fixed list (e.g. histogram bucket boundaries). */
export function customVariable(
  name: string,
  label: string,
  description: string,
  values: readonly string[],
  current: string,
): Variable {
  return {
    name,
    label,
    description,
    type: 'custom',
    query: values.join(','),
    current: { selected: true, text: current, value: current },
    hide: 0,
    includeAll: false,
    multi: false,
    options: values.map((v) => ({ selected: v === current, text: v, value: v })),
    skipUrlSync: false,
  };
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Variable[];
  panels: Panel[];
  /** uid and title of dashboards linked from the top bar. */
  links: { title: string; uid: string }[];
}

export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description: spec.description,
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: spec.links.map((l) => ({
      title: l.title,
      type: 'link',
      url: `/d/${l.uid}`,
      icon: 'dashboard',
      keepTime: true,
      includeVars: false,
      asDropdown: false,
      tags: [],
      targetBlank: false,
      tooltip: '',
    })),
    liveNow: false,
    panels: spec.panels,
    refresh: '5s',
    schemaVersion: SCHEMA_VERSION,
    tags: ['tokenstorm'],
    templating: { list: spec.variables },
    time: { from: 'now-15m', to: 'now' },
    timepicker: { refresh_intervals: ['5s', '10s', '30s', '1m', '5m'] },
    timezone: 'browser',
    title: spec.title,
    uid: spec.uid,
    version: 1,
    weekStart: '',
  };
}

/** Histogram quantiles of a `_bucket` series, one query per quantile. */
export function quantiles(
  bucket: string,
  selector: string,
  qs: readonly number[] = [0.5, 0.95, 0.99],
): PanelSpec['queries'] {
  return qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(${bucket}${selector}[$__rate_interval])))`,
    legend: `p${Math.round(q * 100)}`,
  }));
}

/** A heatmap query over a `_bucket` series: the streams that landed in each bucket per interval. */
export function heatmapQuery(bucket: string, selector: string): PanelSpec['queries'] {
  return [
    {
      expr: `sum by (le) (increase(${bucket}${selector}[$__rate_interval]))`,
      legend: '{{le}}',
      format: 'heatmap',
    },
  ];
}

/**
 * Share of observations at or under the `slo_ttft` bucket boundary. The variable's values are
 * bucket boundaries; the regex also matches Prometheus 3's normalised `le` ("1.0" for "1").
 */
export function sloAttainment(name: string, selector: string, window: string): string {
  const inner = selector.slice(1, -1);
  return (
    `sum(increase(${name}_bucket{${inner},le=~"\${slo_ttft}(\\\\.0)?"}[${window}]))` +
    ` / sum(increase(${name}_count${selector}[${window}]))`
  );
}
