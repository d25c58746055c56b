import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NODES_MAX } from '../../sim/cluster.js';
import { describeEvent, type SimEvent } from '../../sim/events.js';
import { ALL_FAULT_KINDS, EVERY_FAULT_KIND, type FaultKind } from '../../sim/faults.js';
import { DEFAULT_SIM_RUN_OPTIONS, runPassed, runSimulation } from '../../sim/run.js';
import { formatSummary } from '../../sim/summary.js';
import { historyToJSON } from '../../sim/history.js';
import { UsageError, parseDuration, parseInteger } from './args.js';
import type { CliIo } from './io.js';

export const SIM_RUN_HELP = `Usage: chorus sim run [options]

Runs a whole simulated cluster from one seed through a random mix of faults
(crashes, restarts, partitions including one-way, loss, duplication, delays,
slow disks, clock drift), heals everything, and checks that a leader is
elected and every live node applies the committed log. Every Raft safety
property is checked after every event. With the broker workload (the
default), simulated publishers, subscribers and readers use the broker over
its wire protocol, and their history is checked at the end: nothing
acknowledged lost, nothing stored twice, one order everywhere, subscriptions
without gaps or repeats. The same seed gives the same trace hash.

Options:
  --seed N          the run's seed, 0 to 4294967295 (default 1)
  --nodes K         cluster size, 1 to ${NODES_MAX} (default 5)
  --duration D      simulated time, e.g. 30s, 2m, 500ms (default 60s)
  --workload W      broker (default): clients of the broker; raft: opaque
                    commands proposed to the Raft cores
  --rate R          publishes (broker, default 60) or proposals (raft, default
                    100) per simulated second
  --history FILE    write the clients' history as JSON (docs/history-format.md);
                    broker workload only
  --faults LIST     which fault kinds to draw: all (default), every, none, or a
                    comma-separated list of kinds. all is the default mix:
${wrapped(`${ALL_FAULT_KINDS.join(', ')}; every adds ${EVERY_FAULT_KIND.filter((kind) => !ALL_FAULT_KINDS.includes(kind)).join(', ')}`, 20, 80)}
  --trace FILE      write every event of the run to FILE, one line each
  --quiet           no progress line on the terminal
  -h, --help        this help

Exit status: 0 when the run passes, 1 on a safety violation, a failed
liveness check or a client-history violation, 2 on a usage error.

For a scripted scenario instead: chorus sim run <scenario> --help.`;

interface SimRunArguments {
  seed: number;
  nodes: number;
  durationMs: number;
  rate: number | undefined;
  workload: 'broker' | 'raft';
  historyPath: string | undefined;
  faultKinds: readonly FaultKind[];
  tracePath: string | undefined;
  quiet: boolean;
}

function parseSimRunArguments(argv: readonly string[]): SimRunArguments | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      seed: { type: 'string' },
      nodes: { type: 'string' },
      duration: { type: 'string' },
      rate: { type: 'string' },
      workload: { type: 'string' },
      history: { type: 'string' },
      faults: { type: 'string' },
      trace: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: false,
    strict: true,
  });
  if (values.help === true) return 'help';
  const defaults = DEFAULT_SIM_RUN_OPTIONS;
  if (values.trace !== undefined && values.trace.trim() === '') throw new UsageError('--trace needs a file name');
  const workload = values.workload ?? 'broker';
  if (workload !== 'broker' && workload !== 'raft') throw new UsageError(`--workload must be broker or raft; got '${workload}'`);
  if (values.history !== undefined && values.history.trim() === '') throw new UsageError('--history needs a file name');
  if (values.history !== undefined && workload !== 'broker') throw new UsageError('--history needs the broker workload: only it has clients');
  return {
    seed: values.seed === undefined ? defaults.seed : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1),
    nodes: values.nodes === undefined ? defaults.nodes : parseInteger(values.nodes, '--nodes', 1, NODES_MAX),
    durationMs: values.duration === undefined ? defaults.durationMs : parseDuration(values.duration, '--duration'),
    rate: values.rate === undefined ? undefined : parseInteger(values.rate, '--rate', 1, 100_000),
    workload,
    historyPath: values.history,
    faultKinds: values.faults === undefined ? defaults.faultKinds : parseFaultKinds(values.faults),
    tracePath: values.trace,
    quiet: values.quiet === true,
  };
}

export function simRun(argv: readonly string[], io: CliIo): number {
  const parsed = parseSimRunArguments(argv);
  if (parsed === 'help') {
    io.out(SIM_RUN_HELP);
    return 0;
  }
  const trace = parsed.tracePath === undefined ? undefined : openTrace(parsed.tracePath);
  const totalSeconds = (parsed.durationMs / 1000).toFixed(0);
  try {
    const result = runSimulation(
      {
        seed: parsed.seed,
        nodes: parsed.nodes,
        durationMs: parsed.durationMs,
        workload: parsed.workload,
        ...(parsed.rate === undefined
          ? {}
          : parsed.workload === 'raft'
            ? { proposalsPerSecond: parsed.rate }
            : { broker: { ...DEFAULT_SIM_RUN_OPTIONS.broker, publishesPerSecond: parsed.rate } }),
        faultKinds: parsed.faultKinds,
        cluster: { onEvent: trace?.write },
        onProgress: parsed.quiet ? undefined : (ms) => io.progress(`  simulated ${(ms / 1000).toFixed(0)}s of ${totalSeconds}s`),
      },
      () => io.wallMs(),
    );
    io.progress('');
    if (parsed.historyPath !== undefined && result.broker !== undefined) writeHistory(parsed.historyPath, historyToJSON(result.broker.history));
    io.out(formatSummary(result, replayCommand(parsed)));
    return runPassed(result) ? 0 : 1;
  } finally {
    trace?.close();
  }
}

function replayCommand(parsed: SimRunArguments): string {
  const duration = parsed.durationMs % 1000 === 0 ? `${parsed.durationMs / 1000}s` : `${parsed.durationMs}ms`;
  const rate = parsed.rate === undefined ? '' : ` --rate ${parsed.rate}`;
  const workload = parsed.workload === 'broker' ? '' : ` --workload ${parsed.workload}`;
  const faults = parsed.faultKinds === DEFAULT_SIM_RUN_OPTIONS.faultKinds ? '' : ` --faults ${parsed.faultKinds.join(',') || 'none'}`;
  return `npx chorus sim run --seed ${parsed.seed} --nodes ${parsed.nodes} --duration ${duration}${workload}${rate}${faults}`;
}

/** Writes a run's client history (docs/history-format.md) to `path`. */
export function writeHistory(path: string, json: string): void {
  try {
    writeFileSync(path, `${json}\n`);
  } catch (error) {
    throw new UsageError(`cannot write the history to '${path}': ${(error as Error).message}`);
  }
}

/** Words of `text` on lines of at most `width` columns, each indented by `indent` spaces. */
function wrapped(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.map((text) => `${' '.repeat(indent)}${text}`).join('\n');
}

/** `all`, `every`, `none`, or a comma-separated list of fault kinds, each named exactly. */
function parseFaultKinds(text: string): readonly FaultKind[] {
  const trimmed = text.trim();
  if (trimmed === 'all') return ALL_FAULT_KINDS;
  if (trimmed === 'every') return EVERY_FAULT_KIND;
  if (trimmed === 'none') return [];
  const kinds = trimmed.split(',').map((kind) => kind.trim());
  const unknown = kinds.filter((kind) => !(EVERY_FAULT_KIND as readonly string[]).includes(kind));
  if (unknown.length > 0 || kinds.length === 0) {
    throw new UsageError(`--faults: unknown fault kind '${unknown[0] ?? ''}'; use all, every, none or some of ${EVERY_FAULT_KIND.join(', ')}`);
  }
  return [...new Set(kinds)] as FaultKind[];
}

/** A trace file written in large chunks: a run can have millions of events. */
export function openTrace(path: string): { write: (event: SimEvent) => void; close: () => void } {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    throw new UsageError(`cannot write the trace to '${path}': ${(error as Error).message}`);
  }
  let buffer: string[] = [];
  const flush = (): void => {
    if (buffer.length > 0) writeSync(fd, `${buffer.join('\n')}\n`);
    buffer = [];
  };
  return {
    write: (event) => {
      buffer.push(describeEvent(event));
      if (buffer.length >= 10_000) flush();
    },
    close: () => {
      flush();
      closeSync(fd);
    },
  };
}
