/// <reference types="k6" />
// Mixed day: submissions, restores and case search together in a day's proportions.
// Run it with `capacity run mixed-day`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

import * as actions from './lib/actions.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, restore, restoreStorm, search, mixed, exportBrowser, apiPage } = actions;

export const options = buildOptions('mixed-day', runEnv());
