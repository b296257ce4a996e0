import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeConformance } from '../__fixtures__/store-conformance';
import { match, T0 } from '../__fixtures__/fixtures';
import { openCase } from '../case';
import { MemoryReportingStore } from './memory';
import { SqliteReportingStore } from './sqlite';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), 'sg-reporting-'));
  dirs.push(d);
  return join(d, 'store.db');
}

storeConformance('memory', async () => new MemoryReportingStore());
storeConformance('sqlite', async () => new SqliteReportingStore(tempDb()));

describe('SqliteReportingStore durability', () => {
  it('keeps data across close and reopen, and opens read-only', async () => {
    const path = tempDb();
    const a = new SqliteReportingStore(path);
    const c = await a.saveCase(openCase({ type: 'match', event: match() }, T0), 0);
    await a.close();
    const ro = new SqliteReportingStore(path, { readonly: true });
    expect((await ro.getCase(c.caseId))?.caseId).toBe(c.caseId);
    await expect(ro.saveCase({ ...c, state: 'dropped' }, 1)).rejects.toThrow();
    await ro.close();
    expect(() => new SqliteReportingStore(join(tmpdir(), 'no-such-dir-sg', 'x.db'), { readonly: true })).toThrow(/cannot open store/);
  });

  it('admits one exclusive writer at a time; readers are not blocked; closing releases the lock', async () => {
    const path = tempDb();
    const writer = new SqliteReportingStore(path, { exclusive: true });
    await writer.saveCase(openCase({ type: 'match', event: match() }, T0), 0);
    expect(() => new SqliteReportingStore(path, { exclusive: true })).toThrow(expect.objectContaining({ code: 'store_locked' }));
    const reader = new SqliteReportingStore(path, { readonly: true });
    expect(await reader.listCases()).toHaveLength(1);
    await reader.close();
    await writer.close();
    const next = new SqliteReportingStore(path, { exclusive: true });
    expect(await next.listCases()).toHaveLength(1);
    await next.close();
  });
});
