/// <reference types="k6" />
// Ramp to break: the submission rate steps up until a threshold breaks (k6 aborts); capacity reports the highest rate sustained.
// Run it with `capacity run ramp-to-break`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('ramp-to-break', runEnv());
