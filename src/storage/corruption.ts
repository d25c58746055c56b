/**
 * Data on disk that is not what was written and acknowledged: the engine
 * refuses to go on rather than drop it, naming the file and the byte offset so
 * that an operator can look (and restore the node from its peers by wiping its
 * data directory, if they choose).
 */
export class StorageCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    problem: string,
  ) {
    super(`${file}: byte ${offset}: ${problem}; refusing to start rather than drop acknowledged data`);
    this.name = 'StorageCorruptionError';
  }
}
