import { describe, expect, it } from 'vitest';
import { SimRandom } from '../../sim/random.js';
import { DEFAULT_DISK_OPTIONS, SimFileSystem, type DiskOptions } from '../../sim/sim-file-system.js';

// The simulated disk keeps what was synced apart from what was only written:
// the storage engine's crash tests are only as good as this model.

const encoder = new TextEncoder();

/** A disk whose syncs complete when `flush()` runs them, in order. */
function disk(options: Partial<DiskOptions> = {}): { fs: SimFileSystem; flush: () => void } {
  const queued: (() => void)[] = [];
  const fs = new SimFileSystem({ ...DEFAULT_DISK_OPTIONS, ...options }, SimRandom.stream(1, 'disk-test'), (_delay, action) => queued.push(action));
  return { fs, flush: () => queued.splice(0).forEach((action) => action()) };
}

function text(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

describe('SimFileSystem', () => {
  it('loses in a crash what was written but not synced, and keeps what was', () => {
    const { fs, flush } = disk();
    fs.makeDirectory('/d');
    const file = fs.open('/d/f', 'create');
    file.write(encoder.encode('durable'), 0);
    let synced = 0;
    file.sync(() => synced++);
    fs.syncDirectory('/d', () => synced++);
    fs.syncDirectory('/', () => synced++);
    flush();
    expect(synced).toBe(3);
    file.write(encoder.encode(' and not'), 7);
    expect(text(fs.fileBytes('/d/f'))).toBe('durable and not');
    fs.crash();
    expect(text(fs.fileBytes('/d/f'))).toBe('durable');
  });

  it('loses a file whose name was never synced, even if its data was', () => {
    const { fs, flush } = disk();
    fs.makeDirectory('/d');
    fs.syncDirectory('/', () => undefined);
    flush();
    const file = fs.open('/d/new', 'create');
    file.write(encoder.encode('data'), 0);
    file.sync(() => undefined);
    flush();
    fs.crash();
    expect(fs.exists('/d/new')).toBe(false);
    expect(fs.exists('/d')).toBe(true);
  });

  it('undoes an unsynced rename and an unsynced remove', () => {
    const { fs, flush } = disk();
    fs.makeDirectory('/d');
    const a = fs.open('/d/a', 'create');
    a.write(encoder.encode('A'), 0);
    const b = fs.open('/d/b', 'create');
    b.write(encoder.encode('B'), 0);
    a.sync(() => undefined);
    b.sync(() => undefined);
    fs.syncDirectory('/d', () => undefined);
    fs.syncDirectory('/', () => undefined);
    flush();
    fs.rename('/d/a', '/d/b');
    expect(text(fs.fileBytes('/d/b'))).toBe('A');
    expect(fs.exists('/d/a')).toBe(false);
    fs.crash();
    expect(text(fs.fileBytes('/d/a'))).toBe('A');
    expect(text(fs.fileBytes('/d/b'))).toBe('B');
    fs.remove('/d/a');
    fs.crash();
    expect(fs.exists('/d/a')).toBe(true);
  });

  it('never runs a sync callback of a process that crashed', () => {
    const { fs, flush } = disk();
    const file = fs.open('/f', 'create');
    file.write(encoder.encode('x'), 0);
    let called = false;
    file.sync(() => (called = true));
    fs.crash();
    flush();
    expect(called).toBe(false);
    expect(() => file.write(encoder.encode('y'), 0)).toThrow(/from before a crash/);
  });

  it('keeps a prefix of the unsynced writes in a torn crash, tearing the first one it does not keep whole', () => {
    const kept = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const { fs, flush } = disk();
      const file = fs.open('/f', 'create');
      fs.syncDirectory('/', () => undefined);
      flush();
      file.write(encoder.encode('aaaa'), 0);
      file.write(encoder.encode('bbbb'), 4);
      file.write(encoder.encode('cccc'), 8);
      fs.tornCrash(SimRandom.stream(seed, 'tear'));
      const after = text(fs.fileBytes('/f'))!;
      // Whatever survives is a prefix of the writes in order, the last of them possibly cut short or followed by junk.
      const whole = 'aaaabbbbcccc';
      let agree = 0;
      while (agree < after.length && after[agree] === whole[agree]) agree++;
      expect(agree === after.length || after.length - agree <= 4, JSON.stringify(after)).toBe(true);
      kept.add(agree === after.length ? `prefix ${after.length}` : 'junk');
    }
    expect(kept.has('prefix 0')).toBe(true);
    expect(kept.has('prefix 12')).toBe(true);
    expect(kept.has('junk')).toBe(true);
    expect([...kept].some((kind) => /prefix (1|2|3|5|6|7|9|10|11)$/.test(kind))).toBe(true);
  });

  it('refuses a write past its space with ENOSPC and changes nothing', () => {
    const { fs } = disk({ spaceBytes: 10 });
    const file = fs.open('/f', 'create');
    file.write(encoder.encode('12345678'), 0);
    expect(() => file.write(encoder.encode('abc'), 8)).toThrow(/ENOSPC/);
    expect(text(fs.fileBytes('/f'))).toBe('12345678');
    expect(fs.spaceRefusals).toBe(1);
    // Overwriting within the file needs no space.
    file.write(encoder.encode('ab'), 0);
    expect(text(fs.fileBytes('/f'))).toBe('ab345678');
  });

  it('flips a bit now and then on read, never in the data itself', () => {
    const { fs } = disk({ readFlipChance: 0.5 });
    const file = fs.open('/f', 'create');
    const data = new Uint8Array(64).fill(7);
    file.write(data, 0);
    let flipped = 0;
    for (let i = 0; i < 100; i++) {
      const target = new Uint8Array(64);
      file.read(target, 0);
      if (target.some((byte) => byte !== 7)) flipped++;
    }
    expect(flipped).toBeGreaterThan(20);
    expect(flipped).toBeLessThan(80);
    expect(fs.fileBytes('/f')).toEqual(data);
  });
});
