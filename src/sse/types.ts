// The shape of one dispatched Server-Sent Event, shared by the decoder (src/sse) and the
// protocol accumulators (src/protocols). Field meanings follow the WHATWG HTML spec,
// section 9.2 "Server-sent events" (https://html.spec.whatwg.org/multipage/server-sent-events.html).

export interface SseEvent {
  /** The `event:` field; 'message' when the event had none. */
  readonly type: string;
  /** The `data:` lines joined with '\n' (the trailing newline removed, as the spec says). */
  readonly data: string;
  /** The last event ID in force when this event was dispatched ('' when none was ever set). */
  readonly lastEventId: string;
}
