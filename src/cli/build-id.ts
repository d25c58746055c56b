// The build a campaign ran on. Parts of one campaign are only comparable when
// every machine ran the same code: a change anywhere in the simulator or the
// cores can change any seed's trace. So the build is named by a hash of the
// code itself (the compiled files under dist/, or the TypeScript sources when
// run from them, as the tests do), not by a version number that edits leave
// unchanged.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folders, beside this file's own src/, whose code decides what a seed does. */
const CODE_FOLDERS = ['src', 'sim'];

let cached: string | undefined;

/** 16 hex digits of a SHA-256 over every code file's path and contents. */
export function buildId(): string {
  if (cached !== undefined) return cached;
  // This file is <root>/src/cli/build-id.{ts,js}; root is dist/ when built.
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const hash = createHash('sha256');
  for (const folder of CODE_FOLDERS) {
    for (const file of codeFiles(join(root, folder))) {
      hash.update(relative(root, file).split('\\').join('/'));
      hash.update('\0');
      hash.update(readFileSync(file));
      hash.update('\0');
    }
  }
  cached = hash.digest('hex').slice(0, 16);
  return cached;
}

function codeFiles(folder: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...codeFiles(path));
    else if (/\.(js|ts)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}
