// The mock's inference engine: decode slots, a FIFO queue in front of them, the latency
// model, fault injection, and one shared timer wheel that drives every stream.
//
// A request takes a slot when one is free, else waits in the queue (so TTFT grows with
// load, like vLLM or any batching server). Holding a slot it waits TTFT = base + prefill
// per input token, then emits tokens with gaps drawn from the ITL distribution, stretched
// by up to (1 + degradation) as the slots fill. Token times are kept on an absolute
// schedule (due += gap), so a late tick never shifts the tokens after it.

import { Rng, sampler } from '../random.js';
import type { FaultRule, MockConfig } from './config.js';
import type { GenerationRequest } from './requests.js';
import { buildPlan, type PlanCursor, type ResponsePlan, wantsPlan } from './rich.js';
import type { MockStats } from './stats.js';
import { promptKey, textRng, VOCAB } from './text.js';
import { type Clock, monotonicClock, TimerWheel } from './wheel.js';
import type { StreamInfo, WireWriter } from './wire.js';

/** Where a generation's output goes: an HTTP response, streaming or not. */
export interface GenerationSink {
  /** Sends headers (and, streaming, the opening events). */
  open(head: string): void;
  write(text: string): void;
  end(text: string): void;
  /** Non-streaming: the final body, or an error to answer with. */
  complete(body: string): void;
  fail(status: number, errorType: string, message: string): void;
  /** A TCP reset: the connection is dropped with RST. */
  reset(): void;
}

/** A fault as it will strike this request, with ranges already drawn. */
export type ResolvedFault =
  | { kind: 'http_error'; status: number; retryAfterS: number | undefined }
  | { kind: 'inband_error'; afterTokens: number; errorType: string; message: string }
  | { kind: 'stall'; afterTokens: number; durationMs: number; pingIntervalMs: 0 }
  | { kind: 'ping_stall'; afterTokens: number; durationMs: number; pingIntervalMs: number }
  | { kind: 'reset'; afterTokens: number }
  | { kind: 'slow_headers'; delayMs: number }
  | { kind: 'truncate'; afterTokens: number };

enum State {
  SlowHeaders = 0,
  Queued = 1,
  Decoding = 2,
  Stalled = 3,
  Done = 4,
}

/** A wake-up on the wheel; only the generation's current one counts (`g.timer`). */
interface Timer {
  due: number;
  g: Generation;
}

class Generation {
  timer: Timer | null = null;
  state: State = State.Queued;
  tokenDue = 0;
  pingDue = Number.POSITIVE_INFINITY;
  stallUntil = 0;
  sent = 0;
  holdsSlot = false;
  /** Tokens sent when the fault strikes (capped at the output length), or -1. */
  strikeAt: number;
  text = '';
  arrivedAt: number;
  /** A planned (thinking, tool-use, structured) response, or null for plain text. */
  plan: ResponsePlan | null = null;
  readonly cursor: PlanCursor = { block: 0, piece: 0 };

  constructor(
    readonly req: GenerationRequest,
    readonly info: StreamInfo,
    readonly writer: WireWriter,
    readonly sink: GenerationSink,
    readonly outputTokens: number,
    readonly words: Rng,
    readonly timing: Rng,
    readonly fault: ResolvedFault | null,
    now: number,
  ) {
    this.arrivedAt = now;
    this.strikeAt = fault !== null && 'afterTokens' in fault ? Math.min(fault.afterTokens, outputTokens) : -1;
  }
}

function drawCount(v: number | readonly [number, number], rng: Rng): number {
  if (typeof v === 'number') return v;
  return v[0] + rng.int(v[1] - v[0] + 1);
}

export function resolveFault(rule: FaultRule, rng: Rng): ResolvedFault {
  switch (rule.kind) {
    case 'http_error':
      return { kind: 'http_error', status: rule.status, retryAfterS: rule.retry_after_s };
    case 'inband_error':
      return {
        kind: 'inband_error',
        afterTokens: drawCount(rule.after_tokens, rng),
        errorType: rule.error_type,
        message: rule.message,
      };
    case 'stall':
      return {
        kind: 'stall',
        afterTokens: drawCount(rule.after_tokens, rng),
        durationMs: rule.duration_ms,
        pingIntervalMs: 0,
      };
    case 'ping_stall':
      return {
        kind: 'ping_stall',
        afterTokens: drawCount(rule.after_tokens, rng),
        durationMs: rule.duration_ms,
        pingIntervalMs: rule.ping_interval_ms,
      };
    case 'reset':
      return { kind: 'reset', afterTokens: drawCount(rule.after_tokens, rng) };
    case 'slow_headers':
      return { kind: 'slow_headers', delayMs: rule.delay_ms };
    case 'truncate':
      return { kind: 'truncate', afterTokens: drawCount(rule.after_tokens, rng) };
  }
}

export class Engine {
  private readonly wheel: TimerWheel<Timer>;
  private readonly queue: Generation[] = [];
  private queueHead = 0;
  /** Generations waiting in the queue; ones aborted while queued stay in the array until reached. */
  private waiting = 0;
  private busy = 0;
  private readonly live = new Set<Generation>();
  private readonly faultRng: Rng;
  private readonly itl: (rng: Rng) => number;
  private readonly outputLength: ((rng: Rng) => number) | undefined;
  private readonly pingInterval: number;
  private readonly degradePerSlot: number;
  private idCounter = 0;

  constructor(
    readonly config: MockConfig,
    readonly stats: MockStats,
    private readonly clock: Clock = monotonicClock,
  ) {
    this.wheel = new TimerWheel<Timer>(this.onDue, clock);
    this.faultRng = new Rng(`faults:${config.seed}`);
    this.itl = sampler(config.latency.itl_ms);
    this.outputLength = config.output_tokens ? sampler(config.output_tokens) : undefined;
    this.pingInterval = config.latency.ping_interval_ms;
    this.degradePerSlot = config.capacity.degradation / config.capacity.slots;
  }

  /** Draws this request's fault from the profile, in arrival order (seeded). */
  drawFault(): ResolvedFault | null {
    const faults = this.config.faults;
    if (faults.length === 0) return null;
    const u = this.faultRng.next();
    let acc = 0;
    for (const f of faults) {
      acc += f.probability;
      if (u < acc) return resolveFault(f, this.faultRng);
    }
    return null;
  }

  nextId(prefix: string): string {
    this.idCounter++;
    return `${prefix}${this.config.seed.toString(36)}${this.idCounter.toString(36).padStart(8, '0')}`;
  }

  get queueLength(): number {
    return this.waiting;
  }

  /** True when the queue is full and a new request must be refused (529). */
  saturated(): boolean {
    return this.busy >= this.config.capacity.slots && this.queueLength >= this.config.capacity.max_queue;
  }

  /** Starts a generation. The fault (if any) has been drawn; http_error is the caller's. */
  start(
    req: GenerationRequest,
    writer: WireWriter,
    sink: GenerationSink,
    info: StreamInfo,
    fault: ResolvedFault | null,
  ) {
    const now = this.clock.now();
    const key = promptKey(req.prompt);
    let n = req.maxTokens;
    if (this.outputLength) {
      const drawn = Math.round(this.outputLength(new Rng(`len:${this.config.seed}:${key}`)));
      n = Math.min(req.maxTokens, Math.max(1, drawn));
    }
    const words = textRng(this.config.seed, key);
    let plan: ResponsePlan | null = null;
    if (wantsPlan(req.rich, this.config.responses)) {
      plan = buildPlan(this.config.seed, key, req.rich, this.config.responses, req.maxTokens, n, words);
      n = plan.total;
    }
    const g = new Generation(
      req,
      info,
      writer,
      sink,
      n,
      words,
      new Rng(`itl:${this.config.seed}:${key}:${this.idCounter}`),
      fault,
      now,
    );
    g.plan = plan;
    this.live.add(g);
    if (req.stream) this.stats.streamsStarted++;
    if (fault?.kind === 'slow_headers') {
      this.stats.faults.slow_headers++;
      g.state = State.SlowHeaders;
      this.reschedule(g, now + fault.delayMs);
      return g;
    }
    this.admit(g, now);
    return g;
  }

  /** The client went away: free what the generation holds. */
  abort(g: Generation): void {
    if (g.state === State.Done) return;
    this.stats.clientAborts++;
    this.finish(g);
  }

  /** Drops every live generation (server shutdown). */
  close(): void {
    for (const g of this.live) {
      g.state = State.Done;
      g.sink.reset();
    }
    this.live.clear();
    this.wheel.close();
  }

  private admit(g: Generation, now: number): void {
    if (g.req.stream) {
      g.sink.open(g.plan === null ? g.writer.start(g.info) : g.writer.richStart(g.info, g.plan));
      this.stats.events += 3;
    } else {
      g.sink.open('');
    }
    if (this.pingInterval > 0 && g.req.stream) g.pingDue = now + this.pingInterval;
    if (this.busy < this.config.capacity.slots) {
      this.takeSlot(g, now);
    } else {
      g.state = State.Queued;
      this.queue.push(g);
      this.waiting++;
      this.stats.queued++;
      this.reschedule(g);
    }
  }

  private takeSlot(g: Generation, now: number): void {
    this.busy++;
    this.stats.active++;
    g.holdsSlot = true;
    g.state = State.Decoding;
    this.stats.queueWait.recordValue(Math.round((now - g.arrivedAt) * 1000));
    const lat = this.config.latency;
    g.tokenDue = now + lat.ttft_base_ms + lat.prefill_ms_per_input_token * g.req.inputTokens;
    this.reschedule(g);
  }

  /** Puts the generation's next wake-up on the wheel, superseding any earlier one. */
  private reschedule(g: Generation, due = this.nextDue(g)): void {
    if (due === Number.POSITIVE_INFINITY) {
      g.timer = null;
      return;
    }
    const t: Timer = { due, g };
    g.timer = t;
    this.wheel.schedule(t);
  }

  private nextDue(g: Generation): number {
    let due = g.pingDue;
    if (g.state === State.Decoding && g.tokenDue < due) due = g.tokenDue;
    else if (g.state === State.Stalled && g.stallUntil < due) due = g.stallUntil;
    return due;
  }

  private finish(g: Generation): void {
    if (g.state === State.Queued) {
      // Aborted while waiting: its place in the queue is free at once (dequeue skips it).
      this.waiting--;
      this.stats.queued--;
    }
    g.state = State.Done;
    this.live.delete(g);
    if (g.holdsSlot) {
      g.holdsSlot = false;
      this.busy--;
      this.stats.active--;
      this.dequeue();
    }
  }

  private dequeue(): void {
    const now = this.clock.now();
    while (this.busy < this.config.capacity.slots && this.queueHead < this.queue.length) {
      const next = this.queue[this.queueHead]!;
      this.queue[this.queueHead] = undefined as unknown as Generation;
      this.queueHead++;
      if (next.state !== State.Queued) continue; // aborted while queued, already uncounted
      this.waiting--;
      this.stats.queued--;
      this.takeSlot(next, now);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private pingIntervalOf(g: Generation): number {
    if (!g.req.stream) return 0;
    if (g.state === State.Stalled) return g.fault?.kind === 'ping_stall' ? g.fault.pingIntervalMs : 0;
    return this.pingInterval;
  }

  private readonly onDue = (t: Timer, now: number): void => {
    const g = t.g;
    if (g.timer !== t || g.state === State.Done) return; // superseded or ended
    g.timer = null;
    if (g.state === State.SlowHeaders) {
      this.admit(g, now);
      return;
    }
    let out = '';
    if (g.pingDue <= now) {
      out += g.writer.ping();
      this.stats.events++;
      const interval = this.pingIntervalOf(g);
      g.pingDue = interval > 0 ? now + interval : Number.POSITIVE_INFINITY;
    }
    if (g.state === State.Stalled) {
      if (now < g.stallUntil) return this.flush(g, out);
      g.state = State.Decoding;
      g.tokenDue = g.stallUntil;
      g.pingDue = this.pingInterval > 0 && g.req.stream ? now + this.pingInterval : Number.POSITIVE_INFINITY;
    }
    if (g.state !== State.Decoding) return this.flush(g, out);
    const stream = g.req.stream;
    while (g.tokenDue <= now) {
      if (g.strikeAt === g.sent) {
        g.strikeAt = -1;
        if (this.strike(g, now, out)) return;
        out = '';
        if ((g.state as State) === State.Stalled) return this.flush(g, out);
      }
      if (g.sent === g.outputTokens) break;
      this.stats.lateness.recordValue(Math.round((now - g.tokenDue) * 1000));
      if (g.plan !== null) {
        // A planned response: its pieces were drawn up front; non-streaming bodies come from the plan.
        if (stream) out += g.writer.rich.piece(g.plan, g.cursor, g.info.wirePrefix ?? '');
      } else {
        const word = g.words.int(VOCAB.length);
        if (stream) out += g.writer.token(g.info, word);
        else g.text += VOCAB[word];
      }
      g.sent++;
      this.stats.tokens++;
      this.stats.events++;
      // After the last token the end events follow at once (or the pending fault strikes).
      if (g.sent < g.outputTokens) g.tokenDue += this.itl(g.timing) * (1 + this.degradePerSlot * this.busy);
    }
    if (g.sent === g.outputTokens && g.strikeAt === -1) {
      const stop = g.outputTokens >= g.req.maxTokens ? 'max_tokens' : 'end_turn';
      if (g.plan !== null) {
        if (stream) g.sink.end(out + g.writer.richFinish(g.info, g.plan, g.cursor, g.sent));
        else g.sink.complete(g.writer.richBody(g.info, g.plan, g.sent));
      } else if (stream) {
        g.sink.end(out + g.writer.finish(g.info, stop, g.sent));
      } else {
        g.sink.complete(g.writer.body(g.info, g.text, stop, g.sent));
      }
      if (stream) this.stats.events += 3;
      this.stats.completed++;
      this.finish(g);
      return;
    }
    this.flush(g, out);
  };

  private flush(g: Generation, out: string): void {
    if (out !== '') g.sink.write(out);
    this.reschedule(g);
  }

  /** Applies the fault; returns true when the generation ended. */
  private strike(g: Generation, now: number, out: string): boolean {
    const f = g.fault!;
    const stream = g.req.stream;
    switch (f.kind) {
      case 'inband_error':
        this.stats.faults.inband_error++;
        if (stream) {
          g.sink.end(out + g.writer.error(g.info, f.errorType, f.message));
          this.stats.events++;
        } else {
          g.sink.fail(529, f.errorType, f.message);
        }
        this.finish(g);
        return true;
      case 'truncate':
        this.stats.faults.truncate++;
        if (stream) g.sink.end(out);
        else g.sink.reset();
        this.finish(g);
        return true;
      case 'reset':
        this.stats.faults.reset++;
        if (out !== '') g.sink.write(out);
        g.sink.reset();
        this.finish(g);
        return true;
      case 'stall':
      case 'ping_stall':
        this.stats.faults[f.kind]++;
        if (out !== '') g.sink.write(out);
        g.state = State.Stalled;
        g.stallUntil = g.tokenDue + f.durationMs;
        // A silent stall sends nothing at all; a ping stall keeps the connection visibly alive.
        g.pingDue = f.kind === 'ping_stall' && stream ? now + f.pingIntervalMs : Number.POSITIVE_INFINITY;
        return false;
      default:
        return false;
    }
  }
}

export type { Generation };
