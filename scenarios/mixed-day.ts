/// <reference types="k6" />
// Mixed day: submissions, restores and case search together in a day's proportions.
// Run it with `capacity run mixed-day`; every figure is an option of that command.
import { buildOptions, runEnv } from './lib/params.ts';

export { submit, restore, restoreStorm, search, mixed } from './lib/actions.ts';

export const options = buildOptions('mixed-day', runEnv());
