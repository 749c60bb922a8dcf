/// <reference types="k6" />
// Soak: hours at a modest rate of submissions and restores.
// Run it with `capacity run soak`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

import * as actions from './lib/actions.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, restore, restoreStorm, search, mixed, exportBrowser, apiPage } = actions;

export const options = buildOptions('soak', runEnv());
