/// <reference types="k6" />
// Any scenario, run by capacity's k6 build (k6 with k6x/submit: the submission path in Go): `capacity run` runs
// this script with the scenario named in its environment. The scenario files (scenarios/<name>.ts) run on any k6;
// this one imports the extension first, so scenarios/lib/actions.ts submits through it.
import './lib/native.ts';
import * as actions from './lib/actions.ts';
import { buildOptions, runEnv } from './lib/params.ts';

// Local bindings, not a re-export: k6 looks the exec function up before every iteration, and a re-export makes
// that a module resolution each time.
export const { submit, restore, restoreStorm, search, mixed, exportBrowser, apiPage } = actions;

export const options = buildOptions(runEnv().scenario, runEnv());
