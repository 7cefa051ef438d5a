import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingLog } from '../testing/log-recorder.js';
import { startPeriodicWorker } from './periodic.js';

/** A pass that stays in flight until the test lets it finish. */
function gatedRun() {
  const calls: { finish(error?: Error): void }[] = [];
  const run = () =>
    new Promise<void>((resolve, reject) => {
      calls.push({ finish: (error) => (error ? reject(error) : resolve()) });
    });
  return { run, calls };
}

describe('startPeriodicWorker', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs a pass every interval, and skips a tick while the last pass is still running', async () => {
    const { run, calls } = gatedRun();
    const worker = startPeriodicWorker({ name: 'probe', intervalMs: 1_000, run, log: recordingLog() });
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    await worker.stop();
  });

  it('runs its first pass after firstPassAfterMs instead of a whole interval', async () => {
    const { run, calls } = gatedRun();
    const worker = startPeriodicWorker({ name: 'probe', intervalMs: 60_000, run, log: recordingLog(), firstPassAfterMs: 2_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(calls).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await vi.advanceTimersByTimeAsync(57_000);
    expect(calls).toHaveLength(1);
    await worker.stop();
  });

  it('logs a failed pass with the worker name and keeps going', async () => {
    const { run, calls } = gatedRun();
    const log = recordingLog();
    const worker = startPeriodicWorker({ name: 'probe', intervalMs: 1_000, run, log });
    await vi.advanceTimersByTimeAsync(1_000);
    calls[0]!.finish(new Error('store down'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(log.lines).toEqual([{ level: 'warn', obj: { err: new Error('store down'), worker: 'probe' }, msg: 'probe pass failed; the next interval retries' }]);
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    await worker.stop();
  });

  it('stop() waits for the pass in flight, then runs afterStop, and no pass starts after it', async () => {
    const { run, calls } = gatedRun();
    const order: string[] = [];
    const worker = startPeriodicWorker({ name: 'probe', intervalMs: 1_000, run, log: recordingLog(), firstPassAfterMs: 0, afterStop: async () => void order.push('afterStop') });
    await vi.advanceTimersByTimeAsync(0);
    let stopped = false;
    const stopping = worker.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false);
    order.push('pass finished');
    calls[0]!.finish();
    await stopping;
    expect(order).toEqual(['pass finished', 'afterStop']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
  });
});
