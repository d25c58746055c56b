import { describe, expect, it } from 'vitest';
import { runCommand } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';

// Bad arguments to the client commands are refused before any connection is tried.

async function run(argv: string[]): Promise<{ status: number; err: string[] }> {
  const err: string[] = [];
  const io: CliIo = { out: () => {}, err: (line) => err.push(line), progress: () => {}, wallMs: () => 0 };
  const status = await runCommand(argv, io);
  return { status, err };
}

describe('chorus sub arguments', () => {
  it.each([
    [['sub', 'orders.*', '--ordered'], '--ordered needs one of --from, --first and --durable'],
    [['sub', 'orders.*', '--first', '--reorder-bound', '50'], '--reorder-bound goes with --ordered'],
    [['sub', 'orders.*', '--first', '--ordered', '--reorder-bound', '60001'], '--reorder-bound must be'],
    [['sub', 'orders.*', '--first', '--from', '2'], 'choose one of --from, --first and --durable'],
  ])('%j is refused: %s', async (argv, message) => {
    const result = await run(argv);
    expect(result.status).toBe(2);
    expect(result.err[0]).toContain(message);
  });
});
