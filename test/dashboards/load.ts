// Reads the committed dashboards and lists their panels, targets and variables.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS } from '../../src/dashboards/index.js';
import { ROOT } from '../helpers/cli.js';

export interface PanelJson {
  id: number;
  type: string;
  title?: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  fieldConfig?: { defaults?: { unit?: string } };
  targets?: { refId: string; expr: string; datasource?: { uid?: string } }[];
}

export interface VariableJson {
  name: string;
  type: string;
  query?: string | { query: string };
  definition?: string;
  allValue?: string;
  current?: { value?: string | string[] };
}

export interface DashboardJson {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: PanelJson[];
  templating: { list: VariableJson[] };
}

export const DASHBOARD_DIR = join(ROOT, 'dashboards');

export function committedDashboards(): { file: string; text: string; json: DashboardJson }[] {
  return Object.keys(DASHBOARDS).map((file) => {
    const text = readFileSync(join(DASHBOARD_DIR, file), 'utf8');
    return { file, text, json: JSON.parse(text) as DashboardJson };
  });
}

/** The query string of a query variable (`label_values(...)`). */
export function variableQuery(v: VariableJson): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
}
