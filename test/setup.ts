import fc from 'fast-check';

// Every property test in the suite draws from one fixed seed, so `npm test` is
// reproducible like every other run of chorus. CHORUS_FC_SEED=random explores
// new inputs; CHORUS_FC_SEED=<n> reruns a seed that a failure reported.
const requested = process.env['CHORUS_FC_SEED'];
if (requested !== 'random') {
  const seed = requested === undefined ? 20261126 : Number(requested);
  if (!Number.isSafeInteger(seed)) throw new Error(`CHORUS_FC_SEED must be an integer or 'random', got '${requested}'`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
