/// <reference types="k6" />
// Soak: hours at a modest rate of submissions and restores.
// Run it with `capacity run soak`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('soak', runEnv());
