// Long-running commands (mock, serve) run until SIGINT or SIGTERM, then stop gracefully.

/** Resolves once `stop` has finished after the first SIGINT or SIGTERM. */
export function runUntilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      stop().then(resolve, reject);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
