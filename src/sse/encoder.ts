// Server-Sent Events encoder for the server side (mock upstream, reference server).
//
// Writes the event stream format of the WHATWG HTML spec, 9.2.5 "Parsing an event stream", so that
// SseDecoder (and any conforming client, 9.2.6) reads back exactly what was given:
//  - Each field is written as `name: value`. The space after the colon is the one a decoder strips,
//    so a value that itself starts with a space survives.
//  - `data` is split on CRLF, lone CR and lone LF into one `data:` line each; a decoder joins them
//    with LF, so line breaks come back normalised to '\n'.
//  - `event` and `id` cannot hold a line break (it would end the field), and an `id` holding U+0000
//    NULL is ignored by decoders (9.2.6), so those are rejected with a TypeError. Invalid events are a
//    programming error in the server, caught the first time the code runs.

/** One event to write. `data` may contain line breaks; `event` and `id` may not. */
export interface SseEncodeInput {
  /** The event type; omitted (decoders report 'message') when undefined. */
  event?: string;
  data: string;
  /** Sets the client's last event ID; '' resets it. */
  id?: string;
  /** Reconnection time in milliseconds: a non-negative integer. */
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;

/** Encodes one event, ending with the blank line that dispatches it. */
export function encodeEvent(ev: SseEncodeInput): string {
  let out = '';
  if (ev.id !== undefined) {
    checkSingleLine('id', ev.id);
    if (ev.id.includes('\u0000')) {
      throw new TypeError(
        `SSE id must not contain U+0000 NULL (clients ignore such an id): ${JSON.stringify(ev.id)}`,
      );
    }
    out += field('id', ev.id);
  }
  if (ev.event !== undefined) {
    checkSingleLine('event', ev.event);
    out += field('event', ev.event);
  }
  if (ev.retry !== undefined) out += field('retry', retryValue(ev.retry));
  const data = ev.data;
  if (typeof data !== 'string') throw new TypeError(`SSE data must be a string, got ${typeof data}`);
  if (!data.includes('\n') && !data.includes('\r')) {
    out += field('data', data);
  } else {
    for (const line of data.split(LINE_BREAK)) out += field('data', line);
  }
  return out + '\n';
}

/**
 * Encodes a comment (a heartbeat, say): one `:` line per line of text, then a blank line. Decoders
 * ignore comments; the blank line dispatches nothing because no data precedes it.
 */
export function encodeComment(text: string): string {
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += line === '' ? ':\n' : `: ${line}\n`;
  return out + '\n';
}

/** Encodes a standalone `retry` field (the client's reconnection time), then a blank line. */
export function encodeRetry(ms: number): string {
  return field('retry', retryValue(ms)) + '\n';
}

function field(name: string, value: string): string {
  return value === '' ? `${name}:\n` : `${name}: ${value}\n`;
}

function checkSingleLine(name: 'event' | 'id', value: string): void {
  if (typeof value !== 'string') throw new TypeError(`SSE ${name} must be a string, got ${typeof value}`);
  if (value.includes('\n') || value.includes('\r')) {
    throw new TypeError(
      `SSE ${name} must not contain CR or LF (it would end the field): ${JSON.stringify(value)}`,
    );
  }
}

function retryValue(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new TypeError(`SSE retry must be a non-negative integer number of milliseconds, got ${String(ms)}`);
  }
  return String(ms);
}
