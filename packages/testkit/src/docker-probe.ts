import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where a Docker-compatible engine API can be reached. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

/**
 * Candidate engine endpoints: `DOCKER_HOST` (`unix://` or `tcp://`) if set, else the usual
 * sockets (`/var/run/docker.sock`, Docker Desktop's `~/.docker/run/docker.sock`, rootless
 * `$XDG_RUNTIME_DIR/docker.sock`) that exist.
 */
export function dockerEndpoints(env: NodeJS.ProcessEnv = process.env): DockerEndpoint[] {
  const dockerHost = env.DOCKER_HOST?.trim();
  if (dockerHost) {
    if (dockerHost.startsWith('unix://')) return [{ socketPath: dockerHost.slice('unix://'.length) }];
    const tcp = /^tcp:\/\/([^:/]+):(\d+)/.exec(dockerHost);
    if (tcp?.[1] && tcp[2]) return [{ host: tcp[1], port: Number(tcp[2]) }];
    return [];
  }
  const sockets = ['/var/run/docker.sock', join(homedir(), '.docker', 'run', 'docker.sock')];
  if (env.XDG_RUNTIME_DIR) sockets.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'));
  return sockets.filter((s) => existsSync(s)).map((socketPath) => ({ socketPath }));
}

/**
 * True when a Docker engine answers `GET /_ping` (a `docker` client binary alone is not enough:
 * the engine must run). Never throws; `false` within `timeoutMs` (default 1 500) otherwise.
 */
export async function dockerEngineAnswers(env: NodeJS.ProcessEnv = process.env, timeoutMs = 1_500): Promise<boolean> {
  for (const endpoint of dockerEndpoints(env)) {
    if (await ping(endpoint, timeoutMs)) return true;
  }
  return false;
}

function ping(endpoint: DockerEndpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
