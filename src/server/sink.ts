// Writes a streaming response's body to its socket with the HTTP/1.1 chunked framing done
// here: one socket.write() of one string per flush. node:http's res.write() costs a cork,
// three writes (size, data, CRLF), an uncork and a writev per call plus its bookkeeping;
// profiling the server at 1,000 streams showed that path as the largest cost per token.
// The first write (which carries the headers) and the end still go through the response,
// so node:http keeps its own state (keep-alive, 'finish', the last chunk) right. When
// node:http has output of its own queued for the response (a pipelined request whose
// socket is not yet assigned, say), every write goes through res.write() instead.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The node:http internals this relies on (stable since Node 0.x, public in practice). */
interface HttpResponseInternals {
  outputData: unknown[];
  chunkedEncoding: boolean;
}

export class ClientSink {
  /** The socket written directly; null before the first write or when falling back to res. */
  private socket: Socket | null = null;
  private chunked = false;
  private started = false;

  constructor(readonly res: ServerResponse) {}

  /** Writes body bytes; false when they were buffered and the caller should wait for onDrain. */
  write(data: string): boolean {
    const sock = this.socket;
    if (sock !== null) {
      if (!this.chunked) return sock.write(data);
      return sock.write(`${Buffer.byteLength(data).toString(16)}\r\n${data}\r\n`);
    }
    if (this.started) return this.res.write(data);
    return this.first(data);
  }

  private first(data: string): boolean {
    this.started = true;
    const res = this.res;
    const ok = res.write(data); // the headers and the first chunk go out in one write
    const sock = res.socket;
    const internals = res as unknown as HttpResponseInternals;
    if (
      sock !== null &&
      (sock as unknown as { _httpMessage: unknown })._httpMessage === res &&
      sock.writable &&
      Array.isArray(internals.outputData) &&
      internals.outputData.length === 0 &&
      typeof internals.chunkedEncoding === 'boolean'
    ) {
      this.socket = sock;
      this.chunked = internals.chunkedEncoding;
    }
    return ok;
  }

  /** Calls `fn` once the bytes buffered by the last write that returned false are sent. */
  onDrain(fn: () => void): void {
    if (this.socket !== null) this.socket.once('drain', fn);
    else this.res.once('drain', fn);
  }

  /** Unsent bytes queued in user space for this client. */
  get queued(): number {
    return this.res.writableLength;
  }

  get ended(): boolean {
    return this.res.writableEnded;
  }

  end(): void {
    this.res.end();
  }
}
