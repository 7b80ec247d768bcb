// BatchQueue on BullMQ (Redis). BullMQ keeps a lock on each active job that its
// worker renews; when a worker process dies the lock lapses, another worker's
// stalled-job check moves the job back to waiting, and it is worked again.
import { Queue, Worker } from 'bullmq';
import { QueueError, type Batch, type BatchQueue } from './queue.js';
import { redactUrl } from './store.js';

const NAME = 'radseal-archive';

export async function openBullQueue(url: string): Promise<BatchQueue> {
  // Workers must wait for Redis rather than fail a command: BullMQ requires maxRetriesPerRequest null.
  const connection = { url, maxRetriesPerRequest: null };
  const queue = new Queue<Batch>(NAME, {
    connection,
    defaultJobOptions: {
      // A batch fails only when the results database or the worker's setup fails (objects that
      // cannot be read are results): try again, then keep it for the producer to report.
      attempts: 8,
      backoff: { type: 'exponential', delay: 2000 },
      removeOnComplete: true,
      removeOnFail: false,
    },
  });
  queue.on('error', () => {}); // connection errors surface on the next call
  try {
    await queue.waitUntilReady();
    await queue.getJobCounts('waiting');
  } catch (err) {
    await queue.close().catch(() => {});
    throw new QueueError(`cannot reach the queue at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return {
    async add(id, batch) {
      await queue.add('batch', batch, { jobId: id });
    },
    async pending() {
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).reduce((a, b) => a + b, 0);
    },
    async failed(auditId) {
      const jobs = await queue.getFailed(0, 1000);
      return jobs.filter((j) => j.data?.auditId === auditId).map((j) => ({ id: String(j.id), reason: j.failedReason }));
    },
    async work(handler, opts) {
      const worker = new Worker<Batch>(NAME, (job) => handler(job.data, String(job.id)), {
        connection,
        concurrency: 1,
        lockDuration: opts.stallMs,
        stalledInterval: opts.stallMs,
        // A batch whose worker keeps dying is retried this often before it fails for good.
        maxStalledCount: 5,
      });
      worker.on('error', (err) => opts.log(`queue: ${err.message}`));
      worker.on('failed', (job, err) => opts.log(`batch ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${err.message}`));
      await worker.waitUntilReady();
      return { close: () => worker.close() };
    },
    close: () => queue.close(),
  };
}
