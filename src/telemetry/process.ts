// Process and Node.js runtime metrics for every tokenstorm program (mock, server, runner), so a
// dashboard can tell a saturated target from a saturated client. Names, units and attributes follow
// the OpenTelemetry semantic conventions (process.*, nodejs.*, v8js.*). Everything is observed at
// collection time (a scrape): nothing here runs per request.

import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Meter } from '@opentelemetry/api';
import { PROCESS } from './names.js';

/** Sampling interval of the event-loop delay monitor; the histogram records whole intervals. */
const LOOP_RESOLUTION_MS = 10;

/**
 * Registers the process metrics on `meter`. The event-loop delay and utilisation cover the time
 * since the previous collection (the previous scrape), so they show the current lag rather than
 * an average since start. Returns a function that stops the delay monitor.
 */
export function registerProcessMetrics(meter: Meter): () => void {
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loop.enable();
  let elu = performance.eventLoopUtilization();
  // The histogram holds interval lengths in ns; the delay is the excess over the interval.
  const delayS = (ns: number): number =>
    loop.count === 0 ? 0 : Math.max(0, ns / 1e9 - LOOP_RESOLUTION_MS / 1000);

  const cpu = meter.createObservableCounter(PROCESS.cpuTime, {
    description: 'CPU time used by the process, by mode (user, system)',
    unit: 's',
  });
  const memory = meter.createObservableUpDownCounter(PROCESS.memoryUsage, {
    description: 'Resident set size of the process',
    unit: 'By',
  });
  const heap = meter.createObservableUpDownCounter(PROCESS.heapUsed, {
    description: 'V8 heap in use, by heap space',
    unit: 'By',
  });
  const p50 = meter.createObservableGauge(PROCESS.loopDelayP50, {
    description: 'Event-loop delay, median since the previous collection',
    unit: 's',
  });
  const p99 = meter.createObservableGauge(PROCESS.loopDelayP99, {
    description: 'Event-loop delay, 99th percentile since the previous collection',
    unit: 's',
  });
  const max = meter.createObservableGauge(PROCESS.loopDelayMax, {
    description: 'Event-loop delay, maximum since the previous collection',
    unit: 's',
  });
  const utilization = meter.createObservableGauge(PROCESS.loopUtilization, {
    description: 'Share of the time since the previous collection the event loop was busy',
    unit: '1',
  });
  const user = Object.freeze({ 'cpu.mode': 'user' });
  const system = Object.freeze({ 'cpu.mode': 'system' });
  const observe: Parameters<Meter['addBatchObservableCallback']>[0] = (r) => {
    const usage = process.cpuUsage();
    r.observe(cpu, usage.user / 1e6, user);
    r.observe(cpu, usage.system / 1e6, system);
    const mem = process.memoryUsage();
    r.observe(memory, mem.rss);
    for (const space of getHeapSpaceStatistics())
      r.observe(heap, space.space_used_size, { 'v8js.heap.space.name': space.space_name });
    r.observe(p50, delayS(loop.percentile(50)));
    r.observe(p99, delayS(loop.percentile(99)));
    r.observe(max, delayS(loop.max));
    loop.reset();
    const now = performance.eventLoopUtilization();
    r.observe(utilization, performance.eventLoopUtilization(now, elu).utilization);
    elu = now;
  };
  const instruments = [cpu, memory, heap, p50, p99, max, utilization];
  meter.addBatchObservableCallback(observe, instruments);
  return () => {
    meter.removeBatchObservableCallback(observe, instruments);
    loop.disable();
  };
}
