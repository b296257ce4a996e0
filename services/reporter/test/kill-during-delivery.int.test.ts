// The reporter runs in a child process (the built service, `dist/main.js`), the authority
// simulators in this test process. A delivery is frozen mid-flow with the simulator's `hang`
// fault, the child is SIGKILLed there and restarted on the same store: the simulator must hold
// exactly one finished report, and a submit cut off by the kill must be counted as ambiguous.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SqliteReportingStore, verifyAuditChain, verifyAuditEventRecords, type AuditEventRecord } from '@safeguard/reporting';
import type { Fault } from '@safeguard/reporting/sim';
import { topics } from '@safeguard/schemas';
import { waitFor } from '@safeguard/testkit';
import { brokerScope, matchFound, reporterEnv, startAuthorities, stopAuthorities, type Authorities, type BrokerScope, type Workspace } from './helpers';

jest.setTimeout(240_000);

const MAIN = resolve(__dirname, '../dist/main.js');

interface Child {
  proc: ChildProcess;
  /** Log lines (JSON) the child wrote. */
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startChild(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  const collect = (d: Buffer): void => {
    pending += d.toString('utf8');
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  };
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => proc.on('exit', (code, signal) => done({ code, signal })));
  return { proc, lines, exited };
}

const logged = (child: Child, msg: string): boolean => child.lines.some((l) => l.includes(`"msg":"${msg}"`));

describe('kill during delivery (reporter in a child process, real broker)', () => {
  let authorities: Authorities;
  let ws: Workspace;
  let ncmec: Authorities['ncmec'];
  let eu: Authorities['eu'];
  let broker: BrokerScope;
  const children: Child[] = [];

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build the service first (npx turbo run build --filter=@safeguard/reporter...)`);
  });

  beforeEach(async () => {
    authorities = await startAuthorities();
    ({ ws, ncmec, eu } = authorities);
    broker = brokerScope('reporter-kill');
  });

  afterEach(async () => {
    for (const c of children.splice(0)) {
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await c.exited;
    }
    await broker.cleanUp();
    await stopAuthorities(authorities);
  });

  function childEnv(): Record<string, string> {
    return {
      ...broker.env,
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '20000',
      ...reporterEnv(authorities),
      REPORTER_DELIVERY_INTERVAL_MS: '200',
      REPORTER_RELAY_INTERVAL_MS: '200',
      REPORTER_DELIVERY_BACKOFF_BASE_MS: '200',
      REPORTER_KAFKA_SESSION_TIMEOUT_MS: '6000',
    };
  }

  function start(): Child {
    const c = startChild(childEnv());
    children.push(c);
    return c;
  }

  async function ready(c: Child): Promise<void> {
    await waitFor(() => logged(c, 'reporter ready') || c.proc.exitCode !== null, { description: 'the reporter to be ready', timeoutMs: 90_000, intervalMs: 100 });
    if (!logged(c, 'reporter ready')) throw new Error(`the reporter exited early:\n${c.lines.join('\n')}`);
  }

  async function killAt(fault: Fault, path: string, frozen: () => boolean): Promise<void> {
    ncmec.faults.add({ path, fault });
    const first = start();
    await ready(first);
    await broker.platform.producer().send(broker.prefixed(topics.contentMatched), [{ value: matchFound({ mediaUri: ws.mediaUri }) }]);
    await waitFor(frozen, { description: `the delivery frozen at ${path}`, timeoutMs: 60_000, intervalMs: 50 });
    first.proc.kill('SIGKILL');
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
  }

  /** Restarts, waits for both reports, stops gracefully; returns the store's outbox and the audit topic. */
  async function restartAndFinish() {
    const second = start();
    await waitFor(() => [...ncmec.reports.values()].some((r) => r.state === 'finished') && eu.accepted.size === 1, { description: 'delivery after the restart', timeoutMs: 90_000, intervalMs: 100 });
    await ready(second);
    // The relay publishes the rest; then a graceful stop (SIGTERM) must exit 0.
    const auditTopic = broker.prefixed(topics.auditRecorded);
    const reportTopic = broker.prefixed(topics.caseReported);
    const read = async <V>(binding: typeof auditTopic | typeof reportTopic): Promise<V[]> => {
      const out: V[] = [];
      const reader = await broker.platform.reader({ binding: binding as never, handle: (m) => void out.push(m.value as V) });
      await reader.caughtUp();
      await reader.stop();
      return out;
    };
    await waitFor(async () => new Set((await read<{ reportId: string }>(reportTopic)).map((r) => r.reportId)).size === 2, { description: 'two ReportEmitted events', timeoutMs: 30_000 });
    second.proc.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(logged(second, 'shutdown complete')).toBe(true);

    const store = new SqliteReportingStore(ws.storePath, { readonly: true });
    const outbox = await store.listOutbox();
    const chain = await store.audit.list();
    await store.close();
    const onTopic = await read<AuditEventRecord>(auditTopic);
    const emitted = await read<{ reportId: string; destination: string; status: string }>(reportTopic);
    return { outbox, chain, onTopic, emitted };
  }

  it('killed while NCMEC holds /fileinfo: the restarted reporter resumes at that step; NCMEC has one report, finished once', async () => {
    const hang: Fault = { kind: 'hang' };
    await killAt(hang, '/fileinfo', () => ncmec.callsTo('/fileinfo').length === 1);
    expect(ncmec.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo']);
    expect([...ncmec.reports.values()].map((r) => r.state)).toEqual(['open']);

    const { outbox, chain, onTopic, emitted } = await restartAndFinish();
    expect([...ncmec.reports.values()].map((r) => r.state)).toEqual(['finished']);
    expect(ncmec.callsTo('/submit')).toHaveLength(1);
    expect(ncmec.callsTo('/upload')).toHaveLength(1);
    expect(ncmec.callsTo('/finish')).toHaveLength(1);
    expect(ncmec.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo', '/fileinfo', '/finish']);
    expect(eu.accepted.size).toBe(1);
    expect(outbox.map((o) => [o.destination, o.state, o.ambiguousSubmits]).sort()).toEqual([
      ['eu_centre', 'delivered', 0],
      ['ncmec', 'delivered', 0],
    ]);
    // One DELIVERED event per report (a re-publication after the kill would carry the same id).
    expect(new Set(emitted.map((e) => `${e.reportId}|${e.destination}|${e.status}`)).size).toBe(2);
    // The audit topic holds exactly the store's chain, published once per sequence number.
    expect(verifyAuditChain(chain).ok).toBe(true);
    expect(onTopic.map((e) => e.sequence)).toEqual(chain.map((r) => r.seq));
    expect(verifyAuditEventRecords(onTopic, { expectedHead: { seq: chain.at(-1)!.seq, hash: chain.at(-1)!.hash } })).toMatchObject({ ok: true });
    // Reported on a recorded policy outcome.
    const types = chain.map((r) => r.type);
    expect(types.indexOf('policy_outcome')).toBeLessThan(types.indexOf('report_queued'));
    process.stdout.write(`[kill at /fileinfo] NCMEC calls: ${ncmec.calls.map((c) => c.path).join(' ')}; reports at NCMEC: ${ncmec.reports.size} (finished 1); ReportEmitted events: ${emitted.length}; audit records: ${chain.length}\n`);
  });

  it('killed after NCMEC processed /finish but before the answer: the retried /finish gets "already finished" (5102), the record ends delivered, one ReportEmitted', async () => {
    await killAt({ kind: 'hang', process: true }, '/finish', () => [...ncmec.reports.values()].some((r) => r.state === 'finished'));
    expect(ncmec.calls.map((c) => c.path)).toEqual(['/submit', '/upload', '/fileinfo', '/finish']);

    const { outbox, chain, onTopic, emitted } = await restartAndFinish();
    expect(ncmec.reports.size).toBe(1);
    expect([...ncmec.reports.values()].map((r) => r.state)).toEqual(['finished']);
    expect(ncmec.callsTo('/submit')).toHaveLength(1);
    expect(ncmec.callsTo('/finish').map((c) => c.responseCode)).toEqual([0, 5102]);
    expect(ncmec.callsTo('/retract')).toHaveLength(0);
    const n = outbox.find((o) => o.destination === 'ncmec')!;
    expect(n).toMatchObject({ state: 'delivered', ambiguousSubmits: 0 });
    // Exactly one ReportEmitted for the NCMEC report, DELIVERED; no failure anywhere.
    expect(emitted.filter((e) => e.destination === 'NCMEC').map((e) => [e.reportId, e.status])).toEqual([[n.key, 'DELIVERED']]);
    expect(chain.filter((r) => r.type === 'report_failed')).toEqual([]);
    expect(chain.filter((r) => r.type === 'report_sent' && r.data.destination === 'ncmec').map((r) => r.data)).toEqual([
      { reportKey: n.key, destination: 'ncmec', authorityReportId: n.ncmec!.reportId!, alreadyFinished: true },
    ]);
    expect(onTopic.map((e) => e.sequence)).toEqual(chain.map((r) => r.seq));
    process.stdout.write(`[kill at /finish] NCMEC /finish answers: ${ncmec.callsTo('/finish').map((c) => c.responseCode).join(', ')}; outbox: ${n.state}; NCMEC ReportEmitted events: ${emitted.filter((e) => e.destination === 'NCMEC').length}\n`);
  });

  it('killed after NCMEC processed /submit but before the answer: counted as ambiguous, submitted again, one finished report', async () => {
    await killAt({ kind: 'hang', process: true }, '/submit', () => ncmec.reports.size === 1);

    const { outbox, chain, onTopic, emitted } = await restartAndFinish();
    const states = [...ncmec.reports.values()].map((r) => r.state).sort();
    // The cut-off submit left an unfinished report at NCMEC; the library counts it for an operator.
    expect(states).toEqual(['finished', 'open']);
    expect(ncmec.callsTo('/finish')).toHaveLength(1);
    const n = outbox.find((o) => o.destination === 'ncmec')!;
    expect(n).toMatchObject({ state: 'delivered', ambiguousSubmits: 1 });
    expect(chain.filter((r) => r.type === 'delivery_ambiguous').map((r) => r.data)).toEqual([{ reportKey: n.key, destination: 'ncmec', step: 'submit', ambiguousSubmits: 1 }]);
    expect(eu.accepted.size).toBe(1);
    expect(new Set(emitted.map((e) => e.reportId)).size).toBe(2);
    expect(onTopic.map((e) => e.sequence)).toEqual(chain.map((r) => r.seq));
    process.stdout.write(`[kill at /submit] NCMEC reports: ${states.join(', ')}; ambiguousSubmits: ${n.ambiguousSubmits}; audit records: ${chain.length}\n`);
  });
});
