'use strict';
// One matcher replica for the benchmarks: the real service (services/matcher/dist) on the real
// broker, in its own process. Reports over IPC: `ready` (load time, CPU seconds used since the
// process started, records, memory), and `seen`
// when a watched query starts (or stops) matching.
const { performance } = require('node:perf_hooks');
const { ServiceRuntime } = require('@safeguard/service-runtime');
const { matcherConfigSchema, startMatcher } = require('../../services/matcher/dist');

async function main() {
  const config = matcherConfigSchema.parse(process.env);
  const runtime = await ServiceRuntime.start({ service: 'matcher', common: config.common });
  const service = await startMatcher(config, runtime);
  const readyAtMs = Date.now();
  const text = await runtime.registry.metrics();
  const loadSeconds = Number(/safeguard_matcher_index_load_seconds\{[^}]*\} ([0-9.e+-]+)/.exec(text)?.[1]);
  const entries = service.index.banks.stats().reduce((n, s) => n + s.entries.pdq + s.entries.md5 + s.entries.sha1 + s.entries.sha256, 0);
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.send({ type: 'ready', readyAtMs, sinceProcessStartMs: performance.now(), cpuSeconds: (cpu.user + cpu.system) / 1e6, loadSeconds, entries, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, httpPort: service.httpPort });

  // Watches: { id, hash, expect } → poll every 2 ms until the query's match state is `expect`.
  process.on('message', (m) => {
    if (m.type === 'watch') {
      const query = [{ algorithm: 'pdq', value: m.hash, quality: 100, variant: null, frameTimestampMs: null }];
      const timer = setInterval(() => {
        const matched = service.index.banks.match(query.map((q) => ({ algorithm: 'pdq', value: q.value, quality: 100 }))).matches.length > 0;
        if (matched === m.expect) {
          clearInterval(timer);
          process.send({ type: 'seen', id: m.id, atMs: Date.now() });
        }
      }, 2);
    } else if (m.type === 'stop') {
      runtime.stop().then(() => process.exit(0));
    }
  });
}

main().catch((err) => {
  process.stderr.write(`replica failed: ${err && err.stack}\n`);
  process.exit(1);
});
