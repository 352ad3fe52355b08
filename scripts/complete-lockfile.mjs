#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional dependencies that the registry
// mirror used here does not serve (it answers 404 for other platforms' binaries, e.g.
// @rollup/rollup-darwin-arm64). npm then leaves them out of package-lock.json, and npm 11's
// `npm ci` refuses the lock ("Missing: @rollup/rollup-android-arm64@ from lock file").
// Each stub names the version its parent asks for plus the os/cpu/libc the package name
// states, so npm skips it as unsupported on this platform without fetching it.
// Run after every `npm install` that changes package-lock.json:  node scripts/complete-lockfile.mjs
import { readFileSync, writeFileSync } from 'node:fs';

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'win32',
  'openbsd',
  'netbsd',
  'sunos',
  'aix',
  'openharmony',
];
const CPU = ['arm64', 'x64', 'ia32', 'arm', 'loong64', 'ppc64', 'riscv64', 's390x', 'mips64el', 'wasm32'];

const path = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(path, 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [key, entry] of Object.entries(pkgs)) {
  for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
    const at = `node_modules/${name}`;
    if (pkgs[at] || pkgs[`${key}/${at}`]) continue;
    const parts = name.split('/').pop().split('-');
    const os = parts.find((p) => OS.includes(p));
    const cpu = parts.find((p) => CPU.includes(p));
    if (!os && !cpu) continue; // not a platform binary: leave it to npm
    const version = String(range).replace(/^[~^=]/, '');
    const stub = { version, ...(entry.dev ? { dev: true } : {}), optional: true };
    if (os) stub.os = [os];
    if (cpu) stub.cpu = [cpu];
    if (parts.includes('musl')) stub.libc = ['musl'];
    else if (parts.includes('gnu') || parts.includes('gnueabihf')) stub.libc = ['glibc'];
    pkgs[at] = stub;
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform stub(s)`);
