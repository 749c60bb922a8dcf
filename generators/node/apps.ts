/** Loads an app in Node: a built-in name, a YAML/JSON app file, an XForm definition, or a folder of XForms. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, parseAppText, type AppDefinition } from '../app.ts';
import { BUILTIN_APPS, isBuiltinApp } from '../builtin.ts';
import { appFromXForms, type XFormImportOptions } from '../xform.ts';

export const APPS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'apps');

export interface LoadedApp {
  app: AppDefinition;
  /** Where it came from: `builtin:household`, a file path, or a folder. */
  source: string;
  warnings: string[];
  /** The app as an app-file document (YAML/JSON shape): what `--dump-app` prints, e.g. to edit an import. */
  doc: unknown;
}

export function builtinAppPath(name: string): string {
  return path.join(APPS_DIR, `${name}.yaml`);
}

/** Texts of the built-in apps, by name (embedded into the k6 bundle). */
export function builtinAppTexts(): Record<string, string> {
  return Object.fromEntries(BUILTIN_APPS.map((n) => [n, readFileSync(builtinAppPath(n), 'utf8')]));
}

export function loadApp(spec: string, opts: XFormImportOptions = {}): LoadedApp {
  if (isBuiltinApp(spec)) {
    const text = readFileSync(builtinAppPath(spec), 'utf8');
    return { app: parseAppText(text, `${spec}.yaml`), source: `builtin:${spec}`, warnings: [], doc: parseYaml(text) };
  }
  if (!existsSync(spec)) {
    throw new AppError(`app "${spec}" is neither a built-in app (${BUILTIN_APPS.join(', ')}) nor an existing file or folder`);
  }
  if (statSync(spec).isDirectory()) {
    const xmls = readdirSync(spec)
      .filter((f) => /\.xml$/i.test(f))
      .sort();
    if (xmls.length === 0) throw new AppError(`${spec}: folder has no .xml XForm definitions`);
    const r = appFromXForms(
      xmls.map((f) => ({ xml: readFileSync(path.join(spec, f), 'utf8'), source: path.join(spec, f) })),
      opts,
    );
    return { app: r.app, source: spec, warnings: r.warnings, doc: r.doc };
  }
  const text = readFileSync(spec, 'utf8');
  if (/\.xml$/i.test(spec) || /^\s*(<\?xml[^>]*>\s*)?<([\w-]+:)?html[\s>]/.test(text)) {
    const r = appFromXForms([{ xml: text, source: spec }], opts);
    return { app: r.app, source: spec, warnings: r.warnings, doc: r.doc };
  }
  const app = parseAppText(text, spec);
  return { app, source: spec, warnings: [], doc: parseYaml(text) };
}
