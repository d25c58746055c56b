// A worker thread of `chorus sim sweep` and `chorus sim fuzz`: takes one job at
// a time from the main thread and posts its result back. One worker serves
// many jobs, so its start-up and warm-up are paid once.

import { parentPort } from 'node:worker_threads';
import type { CampaignJob, CampaignJobResult } from './campaign-runner.js';
import { fuzzJob } from './sim-fuzz.js';
import { sweepJob } from './sim-sweep.js';

function runJob(job: CampaignJob): CampaignJobResult {
  switch (job.kind) {
    case 'sweep':
      return { kind: 'sweep', result: sweepJob(job) };
    case 'fuzz':
      return { kind: 'fuzz', result: fuzzJob(job.seed, job.shrink) };
    default: {
      const unknown: never = job;
      throw new Error(`unknown campaign job ${JSON.stringify(unknown)}`);
    }
  }
}

parentPort!.on('message', (job: CampaignJob) => parentPort!.postMessage(runJob(job)));
