/// <reference types="k6" />
// Export storm: web users ask for case and form exports and poll them as browsers do, while API clients page the
// form and case lists and submissions go on. Run it with `capacity run export-storm`; every figure is an option.
import { buildOptions, runEnv } from './lib/params.ts';

import * as actions from './lib/actions.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, exportBrowser, apiPage } = actions;

export const options = buildOptions('export-storm', runEnv());
