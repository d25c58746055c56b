/**
 * Assertions stay on in production: a broken invariant is a programmer error and
 * must stop the node loudly rather than let it corrupt replicated state.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export function unreachable(value: never): never {
  throw new InvariantError(`unreachable: ${JSON.stringify(value)}`);
}
