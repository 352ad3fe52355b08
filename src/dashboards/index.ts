// The committed dashboards: file name under dashboards/ → generator. `renderDashboard` is the
// exact text written (and compared by test/dashboards/generated.test.ts).
import { runnerDashboard } from './runner.js';
import { serverDashboard } from './server.js';

export const DASHBOARDS: Record<string, () => Record<string, unknown>> = {
  'tokenstorm-server.json': serverDashboard,
  'tokenstorm-runner.json': runnerDashboard,
};

export function renderDashboard(d: Record<string, unknown>): string {
  return `${JSON.stringify(d, null, 2)}\n`;
}
