'use strict';
/**
 * A long-lived benchmark worker process that answers one JSON line per request line, in order.
 * Keeping workers alive lets the hashing benchmarks alternate implementations image by image.
 * Shared by run.js and decode-profile.js.
 *
 * @param {string} command executable (e.g. `taskset`, to pin the worker to one core)
 * @param {string[]} args its arguments
 * @param {NodeJS.ProcessEnv} env the worker's environment
 * @returns {{ ready: Promise<unknown>, request(line: string): Promise<any>, stop(): void }}
 *   `ready` resolves with the worker's first line (its "ready" answer); `request` writes one line
 *   and resolves with the parsed answer; `stop` closes the worker's stdin.
 */
function startLineWorker(command, args, env) {
  const { spawn } = require('node:child_process');
  const readline = require('node:readline');
  const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  const next = () => new Promise((resolve) => waiting.push(resolve));
  const ready = next();
  return {
    ready,
    request(line) {
      const answer = next();
      child.stdin.write(line + '\n');
      return answer;
    },
    stop: () => child.stdin.end(),
  };
}

module.exports = { startLineWorker };
