import chalk from 'chalk';
import { formatViolation, SAFETY_PROPERTIES } from './checker.js';
import { formatHistoryViolation, HISTORY_PROPERTIES } from './history-checker.js';
import { describeFault, type FaultKind } from './faults.js';
import { WORKLOAD_PATHS } from './coverage.js';
import { runPassed, type SimRunResult } from './run.js';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
const megabytes = (bytes: number): string => `${(bytes / 1_000_000).toFixed(2)} MB`;

/** The readable report of one run; the last line is always `trace hash: <hex>`. */
export function formatSummary(result: SimRunResult, replayCommand: string): string {
  const { options } = result;
  const lines: string[] = [];
  const label = (name: string): string => chalk.bold(name.padEnd(11));
  lines.push(chalk.bold(`chorus sim run: seed ${options.seed}, ${options.nodes} nodes, ${seconds(options.durationMs)} simulated`));
  lines.push(`${label('faults')}${faultLine(result)}`);
  lines.push(`${label('leaders')}${electionLine(result)}`);
  if (result.broker === undefined) {
    lines.push(
      `${label('proposals')}${result.proposalAttempts} made, ${result.proposalsAccepted} accepted by a leader, ` +
        `commit index ${result.committedIndex}`,
    );
  } else {
    const stats = result.broker.stats;
    lines.push(
      `${label('clients')}${stats.published} publishes acknowledged (${stats.duplicates} as duplicates of a retried id), ` +
        `${stats.gaveUp} given up after retries; ${stats.delivered} deliveries; ${stats.reads} history reads; commit index ${result.committedIndex}`,
    );
  }
  const applied = result.appliedIndexByNode.map((index, i) => `n${i + 1}=${index}`).join(' ');
  lines.push(`${label('applied')}${applied}`);
  lines.push(`${label('liveness')}${livenessLine(result)}`);
  lines.push(`${label('network')}${networkLine(result)}`);
  if (result.exception !== undefined) lines.push(`${label('exception')}${chalk.red(`the run stopped: ${result.exception}`)}`);
  lines.push(`${label('safety')}${safetyLine(result)}`);
  lines.push(`${label('coverage')}${coverageLine(result)}`);
  for (const violation of result.violations.slice(0, 10)) lines.push(chalk.red(`  ${formatViolation(violation)}`));
  if (result.broker !== undefined) {
    const violations = result.broker.violations;
    const events = result.broker.history.events.length;
    lines.push(
      `${label('history')}${
        violations.length === 0
          ? chalk.green(`no violations; ${events} client events checked (nothing acknowledged lost, nothing stored twice, one order, subscriptions without gaps or repeats, reads of the committed prefix, timestamps in order and causal, ordered subscriptions merged by time, live subscriptions from now, only what limits and purges allow removed)`)
          : chalk.red(`${violations.length} violation(s) of the client history checks`)
      }`,
    );
    for (const violation of violations.slice(0, 10)) lines.push(chalk.red(`  ${formatHistoryViolation(violation)}`));
  }
  const speed = result.wallMs > 0 ? ` (${(result.simulatedMs / result.wallMs).toFixed(0)}x real time)` : '';
  lines.push(`${label('wall time')}${seconds(result.wallMs)} for ${result.events} events${speed}`);
  lines.push(`${label('result')}${runPassed(result) ? chalk.green('PASS') : chalk.red('FAIL')}`);
  lines.push(`${label('replay')}${replayCommand}`);
  lines.push(`trace hash: ${result.traceHash}`);
  return lines.join('\n');
}

/** The schedule by kind, each kind with how many of its faults fired (one that found nothing to act on did not). */
function faultLine(result: SimRunResult): string {
  if (result.faults.length === 0) return 'none';
  const counts = new Map<FaultKind, number>();
  for (const fault of result.faults) counts.set(fault.action.kind, (counts.get(fault.action.kind) ?? 0) + 1);
  const byKind = [...counts].map(([kind, count]) => `${kind} ${count}${(result.faultsFired[kind] ?? 0) === count ? '' : ` (${result.faultsFired[kind] ?? 0} fired)`}`).join(', ');
  const first = result.faults.slice(0, 3).map((fault, i) => `${seconds(fault.atMs)} ${describeFault(fault.action, result.faultTargets[i])}`);
  // Faults aimed at a role strike whichever node has it then: name those beyond the first three too.
  const struck = result.faults
    .map((fault, i) => ({ fault, target: result.faultTargets[i] }))
    .slice(3)
    .filter(({ target }) => target !== undefined)
    .map(({ fault, target }) => `${seconds(fault.atMs)} ${describeFault(fault.action, target)}`);
  const roles = struck.length === 0 ? '' : `; later: ${struck.slice(0, 5).join('; ')}${struck.length > 5 ? ` and ${struck.length - 5} more` : ''}`;
  return `${result.faults.length} until ${seconds(result.healAtMs)}, then healed (${byKind}); first: ${first.join('; ')}${roles}`;
}

function electionLine(result: SimRunResult): string {
  const elections = result.elections;
  if (elections.length === 0) return chalk.red('no leader was ever elected');
  const shown = elections.slice(-4).map((e) => `term ${e.term} n${e.node} at ${seconds(e.timeUs / 1000)}`);
  const more = elections.length > 4 ? `${elections.length - 4} earlier, then ` : '';
  const noun = elections.length === 1 ? 'election' : 'elections';
  return `${elections.length} ${noun}: ${more}${shown.join(', ')}`;
}

/**
 * Which safety and history properties this run gave something to judge, and how often
 * the broker workload took its rarer paths: a clean run proves nothing about
 * what it never exercised.
 */
function coverageLine(result: SimRunResult): string {
  const never = SAFETY_PROPERTIES.filter((property) => result.judged[property] === 0);
  const judged = SAFETY_PROPERTIES.length - never.length;
  const all = `${judged} of ${SAFETY_PROPERTIES.length} safety properties had something to judge`;
  const properties = never.length === 0 ? all : `${all}; never: ${never.join(', ')}`;
  const broker = result.broker;
  if (broker === undefined) return properties;
  const historyNever = HISTORY_PROPERTIES.filter((property) => broker.judged[property] === 0);
  const historyAll = `${HISTORY_PROPERTIES.length - historyNever.length} of ${HISTORY_PROPERTIES.length} history properties had something to judge`;
  const history = historyNever.length === 0 ? historyAll : `${historyAll}; never: ${historyNever.join(', ')}`;
  const { stats } = broker;
  const counts = { 'late deliveries': stats.lateDeliveries, 'slow-consumer cuts': stats.slowConsumerCuts, 'paced history reads': stats.pacedReads };
  const indent = ' '.repeat(11);
  return `${properties}\n${indent}${history}\n${indent}${WORKLOAD_PATHS.map((path) => `${path} ${counts[path]}`).join(', ')}`;
}

function livenessLine(result: SimRunResult): string {
  const { leaderAfterHealMs, convergedAfterEndMs, problems } = result.liveness;
  if (problems.length > 0) return chalk.red(problems.join('; '));
  return (
    `leader ${seconds(leaderAfterHealMs ?? 0)} after healing; a fresh command committed and applied ` +
    `on every live node ${seconds(convergedAfterEndMs ?? 0)} after the end`
  );
}

function networkLine(result: SimRunResult): string {
  let count = 0;
  let bytes = 0;
  const parts: string[] = [];
  for (const [type, counter] of result.traffic) {
    count += counter.count;
    bytes += counter.bytes;
    if (counter.count > 0) parts.push(`${type} ${counter.count}`);
  }
  const broker = [...result.brokerTraffic].filter(([, counter]) => counter.count > 0).map(([type, counter]) => `${type} ${counter.count}`);
  const brokerLine = broker.length === 0 ? '' : `\n${' '.repeat(11)}broker: ${broker.join(', ')}`;
  return (
    `${count} Raft messages, ${megabytes(bytes)}; ${result.messagesDropped} messages dropped, ` +
    `${result.messagesDuplicated} duplicated\n${' '.repeat(11)}${parts.join(', ')}${brokerLine}`
  );
}

function safetyLine(result: SimRunResult): string {
  if (result.violations.length === 0) {
    return chalk.green(`no violations; every safety property checked after each of ${result.events} events`);
  }
  return chalk.red(`${result.violations.length} violation(s)`);
}
