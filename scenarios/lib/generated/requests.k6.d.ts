// Types for the esbuild bundle of ../k6-deps.ts that `capacity run` writes beside this file.
export * from '../k6-deps.ts';
