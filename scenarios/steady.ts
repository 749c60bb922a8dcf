/// <reference types="k6" />
// Steady: a constant arrival rate of submissions.
// Run it with `capacity run steady`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('steady', runEnv());
