// Regenerates dashboards/*.json from src/dashboards: `npx tsx src/dashboards/write.ts`.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, renderDashboard } from './index.js';

const dir = fileURLToPath(new URL('../../dashboards/', import.meta.url));
for (const [file, make] of Object.entries(DASHBOARDS)) {
  writeFileSync(`${dir}${file}`, renderDashboard(make()));
  process.stdout.write(`wrote dashboards/${file}\n`);
}
