/// <reference types="k6" />
// Ramp to break: the submission rate steps up until a threshold breaks (k6 aborts); capacity reports the highest rate sustained.
// Run it with `capacity run ramp-to-break`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

import * as actions from './lib/actions.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, restore, restoreStorm, search, mixed } = actions;

export const options = buildOptions('ramp-to-break', runEnv());
