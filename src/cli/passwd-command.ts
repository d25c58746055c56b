// chorus passwd: a bcrypt hash of a password, for cluster.yaml's
// authorization section, so that the file never holds the password itself.

import { parseArgs } from 'node:util';
import bcrypt from 'bcryptjs';
import { UsageError, parseInteger } from './args.js';
import type { CliIo } from './io.js';

export const PASSWD_HELP = `Usage: chorus passwd [--cost N] < password-file

Reads a password from the first line of standard input and prints its bcrypt
hash, for a user's password (or the token) in cluster.yaml's authorization
section (docs/security.md). --cost is bcrypt's work factor, from 4 to 16
(default 11, as nats-server's passwd tool): each step doubles the time a
node spends checking a CONNECT, and an attacker a guess.

  printf '%s\\n' 's3cret' | chorus passwd`;

const DEFAULT_COST = 11;

export async function passwdCommand(argv: readonly string[], io: CliIo, input: AsyncIterable<Buffer | string> | Iterable<Buffer | string> = process.stdin): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: { cost: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
  if (values.help === true) {
    io.out(PASSWD_HELP);
    return 0;
  }
  // A password as an argument would stay in the shell's history and in `ps` output.
  if (positionals.length > 0) throw new UsageError('passwd reads the password from standard input, not from its arguments');
  const cost = values.cost === undefined ? DEFAULT_COST : parseInteger(values.cost, '--cost', 4, 16);
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') {
    io.err('chorus passwd: no password on standard input (its first line is the password)');
    return 1;
  }
  // bcrypt uses the first 72 bytes only: a longer password would be cut without a word.
  if (Buffer.byteLength(password) > 72) {
    io.err(`chorus passwd: the password is ${Buffer.byteLength(password)} bytes; bcrypt uses only the first 72, so choose one of at most 72`);
    return 1;
  }
  io.out(await bcrypt.hash(password, cost));
  return 0;
}
