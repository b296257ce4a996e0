/** @safeguard/cli: the `safeguard` command. */
export { buildProgram } from './program';
export type { CliIo } from './program';
export { main } from './main';
