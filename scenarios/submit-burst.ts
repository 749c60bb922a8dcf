/// <reference types="k6" />
// Submit burst: quiet baseline, a burst at several times the baseline (a district's morning upload), recovery.
// Run it with `capacity run submit-burst`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('submit-burst', runEnv());
