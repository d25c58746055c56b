import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import { passwdCommand } from '../../src/cli/passwd-command.js';
import bcrypt from 'bcryptjs';

// Bad arguments to the client commands are refused before any connection is tried.

async function run(argv: string[]): Promise<{ status: number; err: string[] }> {
  const err: string[] = [];
  const io: CliIo = { out: () => {}, err: (line) => err.push(line), progress: () => {}, wallMs: () => 0 };
  const status = await runCommand(argv, io);
  return { status, err };
}

/** A command line refused as a usage mistake (status 2), with `message` in its one line. */
async function refusedAsUsage(argv: string[], message: string): Promise<void> {
  const result = await run(argv);
  expect(result.status).toBe(2);
  expect(result.err[0]).toContain(message);
}

describe('chorus sub arguments', () => {
  it.each([
    [['sub', 'orders.*', '--ordered'], '--ordered needs one of --from, --first and --durable'],
    [['sub', 'orders.*', '--first', '--reorder-bound', '50'], '--reorder-bound goes with --ordered'],
    [['sub', 'orders.*', '--first', '--ordered', '--reorder-bound', '60001'], '--reorder-bound must be'],
    [['sub', 'orders.*', '--first', '--from', '2'], 'choose one of --from, --first and --durable'],
  ])('%j is refused: %s', refusedAsUsage);
});

describe('client credentials on the command line', () => {
  it.each([
    [['pub', 'orders', 'x', '--user', 'a', '--token', 't'], 'give --user (with --password) or --token, not both'],
    [['history', 'orders', '--password', 'p'], '--password goes with --user'],
    [['status', '--server', '127.0.0.1:1', '--tls-ca', 'no-such-ca.pem'], '--tls-ca: cannot read no-such-ca.pem: ENOENT'],
  ])('%j is refused: %s', refusedAsUsage);
});

describe('chorus passwd', () => {
  async function passwd(argv: string[], input: string[]): Promise<{ status: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (line) => out.push(line), err: (line) => err.push(line), progress: () => {}, wallMs: () => 0 };
    const status = await passwdCommand(argv, io, input);
    return { status, out, err };
  }

  it('prints a bcrypt hash of the first line of its input, at the cost asked for, that the password verifies against', async () => {
    const result = await passwd(['--cost', '4'], ['s3cret\nignored second line\n']);
    expect(result.status).toBe(0);
    expect(result.out[0]).toMatch(/^\$2b\$04\$/);
    expect(bcrypt.compareSync('s3cret', result.out[0]!)).toBe(true);
    expect(bcrypt.compareSync('s3cret\n', result.out[0]!)).toBe(false);
  });

  it('refuses a password as an argument, an empty input, a password bcrypt would cut, and a cost out of range', async () => {
    await expect(passwd(['s3cret'], [])).rejects.toThrow('passwd reads the password from standard input, not from its arguments');
    expect(await passwd([], [''])).toMatchObject({ status: 1, err: ['chorus passwd: no password on standard input (its first line is the password)'] });
    expect((await passwd(['--cost', '4'], ['x'.repeat(73)])).err[0]).toContain('bcrypt uses only the first 72');
    await expect(passwd(['--cost', '3'], ['x'])).rejects.toThrow('--cost');
  });
});
