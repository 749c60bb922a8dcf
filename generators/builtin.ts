/**
 * Built-in apps. Their YAML lives in generators/apps/<name>.yaml; Node reads the files (node/apps.ts),
 * the k6 bundle carries the texts inline (the build defines __CAPACITY_BUILTIN_APPS__).
 */
import { parseAppText, type AppDefinition } from './app.ts';

export const BUILTIN_APPS = ['household', 'supply'] as const;
export type BuiltinAppName = (typeof BUILTIN_APPS)[number];

declare const __CAPACITY_BUILTIN_APPS__: Record<string, string> | undefined;

export function isBuiltinApp(name: string): name is BuiltinAppName {
  return (BUILTIN_APPS as readonly string[]).includes(name);
}

/** The YAML of a built-in app when it is embedded (k6 bundle), else undefined. */
export function embeddedAppText(name: string): string | undefined {
  return typeof __CAPACITY_BUILTIN_APPS__ !== 'undefined' ? __CAPACITY_BUILTIN_APPS__[name] : undefined;
}

/** Parses an embedded built-in app (k6 bundle only; in Node use loadApp from node/apps.ts). */
export function embeddedApp(name: string): AppDefinition {
  const text = embeddedAppText(name);
  if (text === undefined) {
    throw new Error(`built-in app "${name}" is not embedded here (known: ${BUILTIN_APPS.join(', ')}; in Node use loadApp())`);
  }
  return parseAppText(text, `${name}.yaml`);
}
