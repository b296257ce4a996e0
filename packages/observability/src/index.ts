/**
 * @safeguard/observability: the logger, the Prometheus registry, the management HTTP server
 * (`/metrics`, `/healthz`, `/readyz`) and the shutdown coordinator every service uses.
 */
export * from './logger';
export * from './metrics';
export * from './health-server';
export * from './shutdown';
