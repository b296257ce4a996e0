import type { Command } from 'commander';
import type { CliIo } from '../program';
import { registerHash } from './hash';
import { registerGrooming } from './grooming';
import { registerReport } from './report';
import { registerAudit } from './audit';
import { registerTransparency } from './transparency';
import { registerMatch } from './match';
import { registerDemo } from './demo';
import { registerScan } from './scan';
import { registerDlq } from './dlq';
import { registerBank } from './bank';

/** A subcommand module: adds itself to the program. Set `exit.code` for a non-zero exit status. */
export type RegisterCommand = (program: Command, io: CliIo, exit: { code: number }) => void;

/** Every subcommand, in help order. Add one import and one entry per command file. */
const commands: RegisterCommand[] = [registerDemo, registerScan, registerHash, registerGrooming, registerReport, registerAudit, registerTransparency, registerMatch, registerBank, registerDlq];

/** Adds every subcommand to `program`. */
export function registerCommands(program: Command, io: CliIo, exit: { code: number }): void {
  for (const register of commands) register(program, io, exit);
}
