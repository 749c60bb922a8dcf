/// <reference types="k6" />
// submit-all.ts on capacity's k6 build: the submissions go through k6/x/capacity, as scenarios/native-run.ts runs them.
import '../../../scenarios/lib/native.ts';
import * as js from './submit-all.ts';

export const options = js.options;
export const submitAll = js.submitAll;
