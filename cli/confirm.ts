// One confirmation line before load or deletions go to a deployment that is not on this machine.
import readline from 'node:readline/promises';
import { UserError } from '../core/errors.ts';

/** Asks `question` on the terminal; without one, refuses unless `yes` (--yes) was given. */
export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UserError(`${question} No terminal to confirm on: pass --yes to go ahead.`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} Go ahead? [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new UserError('not confirmed: nothing was sent', 1);
  } finally {
    rl.close();
  }
}
