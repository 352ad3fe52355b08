// How busy the whole machine was during a measurement, less the processes being measured: on a
// small machine another job's CPU shows up as the measured processes' latency, so benchmarks
// print it beside their figures. Linux /proc/stat.
import { readFileSync } from 'node:fs';

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds all CPUs have spent busy (user, nice, system, irq, softirq, steal) since boot. */
export function systemBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [user, nice, system, _idle, _iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}

/** CPU seconds this process has used (all threads). */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * System-wide TCP counters (Linux /proc/net/netstat): SYNs dropped because a listen queue was full,
 * and SYN retransmissions. A burst of new connections beyond the server's accept backlog shows up
 * here, and as whole seconds of connect time (the SYN is retried after 1 s, 2 s, …).
 */
export function tcpCounters(): { listenDrops: number; synRetrans: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[i]!.split(/\s+/);
    const values = lines[i + 1]!.split(/\s+/).map(Number);
    const get = (n: string) => values[names.indexOf(n)] ?? 0;
    return { listenDrops: get('ListenDrops'), synRetrans: get('TCPSynRetrans') };
  } catch {
    return { listenDrops: 0, synRetrans: 0 };
  }
}
