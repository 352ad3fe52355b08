// Protocol adapters: one accumulator per stream turns dispatched SSE events into normalised
// StreamEvents and exactly one outcome (see types.ts). Pick one with createAccumulator().

import { AnthropicAccumulator } from './anthropic.js';
import { OpenAIAccumulator } from './openai.js';
import { ReferenceAccumulator } from './reference.js';
import type { Protocol, ProtocolAccumulator, StreamEventListener } from './types.js';

export { AnthropicAccumulator } from './anthropic.js';
export { OpenAIAccumulator } from './openai.js';
export { ReferenceAccumulator } from './reference.js';
export * from './types.js';

/** A fresh accumulator for one stream; `onEvent` receives every normalised event synchronously. */
export function createAccumulator(protocol: Protocol, onEvent?: StreamEventListener): ProtocolAccumulator {
  switch (protocol) {
    case 'anthropic':
      return new AnthropicAccumulator(onEvent);
    case 'openai':
      return new OpenAIAccumulator(onEvent);
    case 'reference':
      return new ReferenceAccumulator(onEvent);
    default: {
      // Reached only when an unchecked value slips past the scenario validator: fail fast at setup.
      const unknown: never = protocol;
      throw new TypeError(`unknown protocol: ${String(unknown)}`);
    }
  }
}
