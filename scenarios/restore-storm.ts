/// <reference types="k6" />
// Restore storm: a short prefill of submissions, then every worker syncs inside a window (first + incremental).
// Run it with `capacity run restore-storm`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('restore-storm', runEnv());
