#!/usr/bin/env node
// The `capacity` CLI: commander wiring only. Each command lives in cli/commands/<name>.ts and exports
// `register(program)`; the work itself is done by functions in the modules the command calls.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { UserError, describeError } from '../core/errors.ts';
import { register as registerStack } from './commands/stack.ts';
import { register as registerDoctor } from './commands/doctor.ts';
import { register as registerAudit } from './commands/audit.ts';
import { register as registerRun } from './commands/run.ts';
import { register as registerTopology } from './commands/topology.ts';
import { register as registerPlan } from './commands/plan.ts';
import { register as registerCalibrate } from './commands/calibrate.ts';
import { register as registerGenerate } from './commands/generate.ts';
import { register as registerCollect } from './commands/collect.ts';
import { register as registerReport } from './commands/report.ts';
import { register as registerGate } from './commands/gate.ts';
import { register as registerBaseline } from './commands/baseline.ts';
import { register as registerMerge } from './commands/merge.ts';
import { register as registerK8s } from './commands/k8s.ts';
import { register as registerWorkers } from './commands/workers.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('capacity')
    .description('Load-testing and capacity planning for self-hosted CommCare HQ')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerStack(program);
  registerDoctor(program);
  registerAudit(program);
  registerRun(program);
  registerTopology(program);
  registerPlan(program);
  registerCalibrate(program);
  registerGenerate(program);
  registerCollect(program);
  registerReport(program);
  registerGate(program);
  registerBaseline(program);
  registerMerge(program);
  registerK8s(program);
  registerWorkers(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // built inside the try: a command's help may read the environment (the stack's component counts)
    await buildProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has already printed its message. Help and version exit 0; a usage error (unknown command or
      // option, missing argument, no command at all) is bad input: 2, as the help promises.
      return err.exitCode === 0 ? 0 : 2;
    }
    process.stderr.write(`capacity: ${describeError(err)}\n`);
    if (process.env.CAPACITY_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof UserError ? err.exitCode : 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv).then((code) => process.exit(code));
}
