// The run so far, once a second: for the progress line, abortOnFail thresholds and live gauges.
// Cheap on purpose (building a full result every second encoded and summarised nine histograms
// and doubled the runner's event-loop delay p99): counts, plus only the histograms something
// reads live — ttft_ms for progress and those named by abortOnFail thresholds. In this thread
// they are the recorder's own (no copy); from a worker they travel encoded and are added up here.
import { decodeHistogram, encodeHistogram, type Histogram } from '../stats/histogram.js';
import { HISTOGRAMS, type HistogramName, OUTCOMES, type Outcome } from '../stats/metrics.js';
import { histogramView, type ThresholdSource, thresholdSource } from '../stats/thresholds.js';
import type { Recorder } from './recorder.js';

export interface LiveCounts {
  elapsedMs: number;
  measuredS: number;
  active: number;
  started: number;
  measured: number;
  by_outcome: Record<Outcome, number>;
  dropped_arrivals: number;
  arrivals: number;
  good: number;
  outputTotal: number;
  /** The runner's event-loop delay p99 so far (the worst thread), ms. */
  loopDelayP99Ms: number;
}

export interface LiveSnapshot extends LiveCounts {
  histograms: Partial<Record<HistogramName, Histogram>>;
}

/** A worker's snapshot as posted to the main thread. */
export interface LiveWire extends LiveCounts {
  hdr: Partial<Record<HistogramName, string>>;
}

export function liveFromRecorder(
  r: Recorder,
  names: readonly HistogramName[],
  elapsedMs: number,
  warmupMs: number,
  active: number,
  loopDelayP99Ms: number,
): LiveSnapshot {
  const histograms: Partial<Record<HistogramName, Histogram>> = {};
  for (const n of names) histograms[n] = r.histograms[n];
  return {
    elapsedMs,
    measuredS: Math.max(0, elapsedMs - warmupMs) / 1000,
    active,
    started: r.started,
    measured: r.measured,
    by_outcome: { ...r.byOutcome },
    dropped_arrivals: r.dropped,
    arrivals: r.arrivals,
    good: r.good,
    outputTotal: r.outputTotal,
    loopDelayP99Ms,
    histograms,
  };
}

export function encodeLive(s: LiveSnapshot): LiveWire {
  const { histograms, ...counts } = s;
  const hdr: Partial<Record<HistogramName, string>> = {};
  for (const [n, h] of Object.entries(histograms) as [HistogramName, Histogram][])
    hdr[n] = encodeHistogram(h);
  return { ...counts, hdr };
}

/** Adds up workers' snapshots (exactly: histograms decoded and added). */
export function mergeLive(parts: readonly LiveWire[]): LiveSnapshot {
  const by_outcome = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const histograms: Partial<Record<HistogramName, Histogram>> = {};
  const out: LiveSnapshot = {
    elapsedMs: 0,
    measuredS: 0,
    active: 0,
    started: 0,
    measured: 0,
    by_outcome,
    dropped_arrivals: 0,
    arrivals: 0,
    good: 0,
    outputTotal: 0,
    loopDelayP99Ms: 0,
    histograms,
  };
  for (const p of parts) {
    out.elapsedMs = Math.max(out.elapsedMs, p.elapsedMs);
    out.measuredS = Math.max(out.measuredS, p.measuredS);
    out.loopDelayP99Ms = Math.max(out.loopDelayP99Ms, p.loopDelayP99Ms);
    out.active += p.active;
    out.started += p.started;
    out.measured += p.measured;
    out.dropped_arrivals += p.dropped_arrivals;
    out.arrivals += p.arrivals;
    out.good += p.good;
    out.outputTotal += p.outputTotal;
    for (const o of OUTCOMES) by_outcome[o] += p.by_outcome[o];
    for (const [n, enc] of Object.entries(p.hdr) as [HistogramName, string][]) {
      const d = decodeHistogram(enc);
      const h = histograms[n];
      if (h === undefined) histograms[n] = d;
      else h.add(d);
    }
  }
  return out;
}

/** Thresholds over the run so far; a histogram not carried live reads as no data. */
export function liveThresholdSource(s: LiveSnapshot): ThresholdSource {
  return thresholdSource({
    streams: s,
    outputTotal: s.outputTotal,
    measuredSeconds: s.measuredS,
    histogram: (name) => {
      const h = s.histograms[name];
      return h === undefined ? undefined : histogramView(h, HISTOGRAMS[name].scale);
    },
  });
}

/** Errors as the progress line counts them: ended streams that neither completed nor were cut on purpose. */
export function liveErrors(s: LiveCounts): number {
  const o = s.by_outcome;
  return s.measured - o.completed - o.interrupted - o.client_aborted - o.cancelled;
}
