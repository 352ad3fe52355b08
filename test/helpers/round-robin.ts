// A tiny TCP load balancer for loopback tests: each new connection goes to the next upstream in
// turn (round robin), as a plain L4 balancer without session affinity would send it.
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';

export interface RoundRobin {
  readonly url: string;
  /** Connections sent to each upstream so far. */
  readonly counts: readonly number[];
  close(): Promise<void>;
}

export async function startRoundRobin(ports: readonly number[]): Promise<RoundRobin> {
  const sockets = new Set<Socket>();
  const counts = ports.map(() => 0);
  let next = 0;
  const server = createServer((client) => {
    const i = next++ % ports.length;
    counts[i]!++;
    const upstream = connect(ports[i]!, '127.0.0.1');
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
