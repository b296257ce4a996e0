/**
 * @safeguard/service-runtime: what every Safeguard service shares at runtime: the common
 * environment variables, config parsing, API key hashing, parsing and lookup, the runtime (logger,
 * metrics, transport, management server, shutdown order) and the body of `main.ts`.
 */
export * from './api-keys';
export * from './config';
export * from './cpu-limit';
export * from './runtime';
export * from './run-main';
