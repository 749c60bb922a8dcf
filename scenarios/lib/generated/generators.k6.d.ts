// Types for the esbuild bundle of generators/k6.ts that `capacity run` writes beside this file.
export * from '../../../generators/k6.ts';
