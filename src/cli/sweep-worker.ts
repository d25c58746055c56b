// A worker thread of `chorus sim sweep`: takes jobs (a scenario and its seeds)
// one at a time from the main thread, posts each run's result, then asks for
// the next job. One worker serves many jobs, so its start-up and warm-up are
// paid once.

import { parentPort } from 'node:worker_threads';
import { sweepJob, type SweepJob } from './sim-sweep.js';

parentPort!.on('message', (job: SweepJob) => {
  sweepJob(job, (result) => parentPort!.postMessage({ result }));
  parentPort!.postMessage({ done: true });
});
