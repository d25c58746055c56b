// Runs the nodes of a cluster as child processes of this one: `chorus cluster
// start` uses it, and so do the real-mode tests, which also kill -9 and
// restart nodes through it. Each child is `chorus node --id N [-c FILE]`,
// started with the same Node.js binary; its output lines come back tagged
// with the node id.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface SupervisorOptions {
  /** The cluster file, or undefined for the built-in cluster. */
  readonly configFile: string | undefined;
  readonly ids: readonly number[];
  /** Called with each line a node prints, and whether it came on its standard error (where a node says why it stops). */
  readonly onLine: (id: number, line: string, stderr: boolean) => void;
  /** Called when a node exits on its own (not by stop or kill). */
  readonly onExit?: (id: number, code: number | null, signal: NodeJS.Signals | null) => void;
  /** The chorus CLI script to run; by default the one beside this module (in dist/). */
  readonly entry?: string;
}

const CLI_ENTRY = fileURLToPath(new URL('../cli/main.js', import.meta.url));

export class Supervisor {
  private readonly children = new Map<number, ChildProcess>();
  private readonly expectedExits = new Set<ChildProcess>();

  constructor(private readonly options: SupervisorOptions) {}

  startAll(): void {
    for (const id of this.options.ids) this.start(id);
  }

  start(id: number): void {
    if (this.children.has(id)) throw new Error(`node ${id} is already running`);
    const args = [this.options.entry ?? CLI_ENTRY, 'node', '--id', String(id)];
    if (this.options.configFile !== undefined) args.push('-c', this.options.configFile);
    // Extra flags for each node's Node.js, e.g. CHORUS_NODE_ARGS=--cpu-prof for a CPU profile of every node (written where it runs, as it exits).
    const nodeArgs = (process.env['CHORUS_NODE_ARGS'] ?? '').split(/\s+/).filter((arg) => arg.length > 0);
    const child = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.set(id, child);
    for (const stream of [child.stdout, child.stderr]) {
      const isStderr = stream === child.stderr;
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          this.options.onLine(id, pending.slice(0, newline), isStderr);
          pending = pending.slice(newline + 1);
        }
      });
    }
    child.on('exit', (code, signal) => {
      if (this.children.get(id) === child) this.children.delete(id);
      if (this.expectedExits.delete(child)) return;
      this.options.onExit?.(id, code, signal);
    });
  }

  pid(id: number): number | undefined {
    return this.children.get(id)?.pid;
  }

  running(): number[] {
    return [...this.children.keys()];
  }

  /** Sends a signal (SIGKILL by default: a crash) to one node and waits for it to end. */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) return;
    this.expectedExits.add(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  async restart(id: number): Promise<void> {
    await this.kill(id);
    this.start(id);
  }

  /** Asks every node to stop (SIGTERM), and kills any still running after `graceMs`. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(
      [...this.children.keys()].map(async (id) => {
        const child = this.children.get(id)!;
        this.expectedExits.add(child);
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
}
