/// <reference types="k6" />
// bench/k6/harness-max.ts run by capacity's k6 build: the submissions go through k6/x/capacity, as in `capacity run`.
import '../../scenarios/lib/native.ts';
import * as max from './harness-max.ts';

export const options = max.options;
export const submit = max.submit;
