// `npm run bench [-- NAME ...]`: runs the named benchmarks (all when none is named).
// Every benchmark measures a reference in the same run and prints ratios against it,
// so the figures mean something on any machine.
const benches: Record<string, () => Promise<{ default: () => Promise<void> }>> = {
  sse: () => import('./sse.bench.js'),
  mock: () => import('./mock.bench.js'),
  server: () => import('./server.bench.js'),
  runner: () => import('./runner.bench.js'),
};

const names = process.argv.slice(2).filter((a) => a !== '--');
const unknown = names.filter((n) => !(n in benches));
if (unknown.length > 0) {
  process.stderr.write(
    `tokenstorm bench: unknown benchmark(s) ${unknown.join(', ')}; choose from: ${Object.keys(benches).join(', ')}\n`,
  );
  process.exit(2);
}
for (const name of names.length > 0 ? names : Object.keys(benches)) {
  process.stdout.write(`\n== bench: ${name} ==\n`);
  const mod = await benches[name]!();
  await mod.default();
}
