// Public API of the SSE codec: a pure, I/O-free incremental decoder and an encoder.
export {
  DEFAULT_MAX_EVENT_BYTES,
  type SseDecodeError,
  SseDecoder,
  type SseDecoderOptions,
  type SseFlushResult,
} from './decoder.js';
export { encodeComment, encodeEvent, encodeRetry, type SseEncodeInput } from './encoder.js';
export type { SseEvent } from './types.js';
