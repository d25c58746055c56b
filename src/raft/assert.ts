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

/**
 * Throws an InvariantError. Hot paths write `if (!condition) fail(\`...\`)` rather
 * than assert(condition, \`...\`): the arguments of a call are evaluated before
 * it, so a template message would be built, numbers formatted and all, on every
 * check that passes.
 */
export function fail(message: string): never {
  throw new InvariantError(message);
}

export function unreachable(value: never): never {
  throw new InvariantError(`unreachable: ${JSON.stringify(value)}`);
}
