import { createLogger } from '@safeguard/observability';
import { waitFor } from '@safeguard/testkit';
import { PeriodicTask } from './periodic-task';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('PeriodicTask', () => {
  it('never overlaps itself, runs again when kicked during a run, and stops after the run in flight', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    let sawAbort = false;
    const task = new PeriodicTask({
      name: 't',
      intervalMs: 60_000,
      logger,
      run: async (signal) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        runs++;
        if (runs === 1) await new Promise<void>((r) => (release = r));
        sawAbort ||= signal.aborted;
        running--;
      },
    });
    task.start();
    await waitFor(() => runs === 1, { description: 'first run' });
    task.kick();
    task.kick();
    release();
    await waitFor(() => runs === 2, { description: 'one more run for the kicks' });
    await task.runNow();
    expect(runs).toBe(3);
    expect(maxRunning).toBe(1);
    await task.stop();
    task.kick();
    await task.runNow();
    expect(runs).toBe(3);
    expect(sawAbort).toBe(false);
  });

  it('keeps going after a failed run and reports it', async () => {
    const failures: string[] = [];
    let runs = 0;
    const task = new PeriodicTask({
      name: 'flaky',
      intervalMs: 5,
      logger,
      onError: (n) => failures.push(n),
      run: async () => {
        runs++;
        if (runs === 1) throw new Error('boom');
      },
    });
    task.start();
    await waitFor(() => runs >= 3, { description: 'runs after the failure' });
    await task.stop();
    expect(failures).toEqual(['flaky']);
  });

  it('aborts the run in flight on stop and waits for it', async () => {
    let aborted = false;
    let started = false;
    const task = new PeriodicTask({
      name: 'long',
      intervalMs: 60_000,
      logger,
      run: (signal) =>
        new Promise<void>((resolve) => {
          started = true;
          signal.addEventListener('abort', () => {
            aborted = true;
            resolve();
          });
        }),
    });
    task.start();
    await waitFor(() => started, { description: 'run started' });
    await task.stop();
    expect(aborted).toBe(true);
  });
});
