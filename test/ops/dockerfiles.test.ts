// Every service has an image recipe (not built here: no Docker engine on these machines):
// multi-stage on node:20-slim, a non-root user, the service's dist/main.js, the metrics port.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './lib/metric-catalog';

const services = readdirSync(join(REPO_ROOT, 'services')).filter((s) => existsSync(join(REPO_ROOT, 'services', s, 'package.json')));

describe('service Dockerfiles', () => {
  it('exist for the five services', () => {
    expect(services).toEqual(expect.arrayContaining(['ingest', 'hasher', 'grooming', 'reporter']));
    expect(services.filter((s) => !existsSync(join(REPO_ROOT, 'services', s, 'Dockerfile')))).toEqual([]);
  });

  it.each(services.filter((s) => existsSync(join(REPO_ROOT, 'services', s, 'Dockerfile'))))('%s: multi-stage node:20-slim, non-root, runs dist/main.js, exposes 9464', (service) => {
    const text = readFileSync(join(REPO_ROOT, 'services', service, 'Dockerfile'), 'utf8');
    const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));
    const froms = lines.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^FROM node:20-slim(\s|$)/);
    const users = lines.filter((l) => /^USER\s/i.test(l)).map((l) => l.split(/\s+/)[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0']).not.toContain(users[users.length - 1]);
    expect(text).toMatch(new RegExp(`CMD \\["node", "services/${service}/dist/main\\.js"\\]`));
    expect(text).toMatch(/EXPOSE [\d ]*9464/);
  });
});
