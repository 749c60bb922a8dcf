/// <reference types="k6" />
// Hands k6/x/capacity (k6x/submit: the submission path in Go) to the scenarios. Imported first by the scripts
// capacity's k6 build runs, so that scenarios/lib/actions.ts finds it when it is evaluated.
import * as capacity from 'k6/x/capacity';
import { native } from './native-hook.ts';

native.capacity = capacity;
