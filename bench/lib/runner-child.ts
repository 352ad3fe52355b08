// The scenario runner in its own process, for bench/runner.bench.ts: parses a scenario object,
// runs it with runScenario (one thread) from the compiled dist/ (a consistent snapshot made by
// `npm run bench`), and prints one JSON line: the RunResult, the process CPU (all threads, GC
// included) over the run, peak RSS, and the event-loop delay over a steady window [from, to] ms
// after the start (the run's own figure covers the ramp as well), and the TCP connections opened.
// Usage: node --import tsx bench/lib/runner-child.ts '{"scenario":{…},"steadyFromMs":3000,"steadyToMs":12000}'
import { subscribe } from 'node:diagnostics_channel';
import { monitorEventLoopDelay } from 'node:perf_hooks';

type LoadMod = typeof import('../../src/scenario/load.js');
type RunMod = typeof import('../../src/runner/run.js');

const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url).href;
const { parseScenario } = (await import(dist('scenario/load.js'))) as LoadMod;
const { runScenario } = (await import(dist('runner/run.js'))) as RunMod;

const arg = JSON.parse(process.argv[2]!) as { scenario: unknown; steadyFromMs?: number; steadyToMs?: number };
const scenario = parseScenario(arg.scenario, 'bench scenario');

const RESOLUTION_MS = 10;
const steady = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
const timers: NodeJS.Timeout[] = [];
if (arg.steadyFromMs !== undefined) {
  timers.push(setTimeout(() => steady.enable(), arg.steadyFromMs));
  if (arg.steadyToMs !== undefined) timers.push(setTimeout(() => steady.disable(), arg.steadyToMs));
}

// TCP connections the runner opens (one per stream would mean keep-alive is not working).
let connections = 0;
subscribe('net.client.socket', () => {
  connections++;
});

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const result = await runScenario({ scenario });
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
steady.disable();
for (const t of timers) clearTimeout(t);
// The histogram records whole sampling intervals (ns); the delay is the excess over the resolution.
const excess = (ns: number) => (steady.count === 0 ? 0 : Math.max(0, ns / 1e6 - RESOLUTION_MS));
// The encoded histograms are not needed by the bench and make the line long.
for (const m of Object.values(result.metrics)) m.hdr = '';
process.stdout.write(
  `${JSON.stringify({
    result,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    lifetimeCpuMs: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1000,
    wallMs,
    connections,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    steadyEld: {
      p50: excess(steady.percentile(50)),
      p99: excess(steady.percentile(99)),
      samples: steady.count,
    },
  })}\n`,
);
