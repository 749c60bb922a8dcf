/// <reference types="k6" />
// Submit burst: quiet baseline, a burst at several times the baseline (a district's morning upload), recovery.
// Run it with `capacity run submit-burst`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

import * as actions from './lib/actions.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, restore, restoreStorm, search, mixed } = actions;

export const options = buildOptions('submit-burst', runEnv());
