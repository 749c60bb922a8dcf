// loadTopology: one entry point for every topology source, choosing the reader by extension, by content, or
// by an explicit format.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../core/errors.ts';
import { readInventory } from './inventory.ts';
import type { Topology } from './model.ts';
import { readVmTable, sniffTableFormat, type TableFormat } from './vm-table.ts';
import { YamlSource, isRecord } from '../core/yaml-source.ts';
import { looksLikeTopologyYaml, topologyFromYaml } from './yaml-topology.ts';

export const INPUT_FORMATS = ['auto', 'grid', 'seed', 'markdown', 'csv', 'yaml', 'inventory'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];

export interface LoadOptions {
  format?: InputFormat;
  /** For inventories: app-processes.yml to read (default: the one beside the inventory, if present). */
  appProcesses?: string;
  /** For inventories: give every host a node_exporter endpoint on this port. */
  nodeExporterPort?: number;
}

function readText(file: string, what = 'file'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${file}: no such ${what}`);
    if (code === 'EISDIR') throw new UserError(`${file}: is a directory, expected a ${what}`);
    throw new UserError(`${file}: cannot read ${what} (${code ?? (err as Error).message})`);
  }
  if (text.includes('\u0000')) throw new UserError(`${file}: is a binary file, not a topology`);
  return text;
}

/** Guesses the format from the extension, then from the content. */
export function detectFormat(file: string, text: string): Exclude<InputFormat, 'auto' | 'seed'> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.yml' || ext === '.yaml') return 'yaml';
  if (ext === '.ini' || ext === '.inventory' || path.basename(file) === 'inventory') return 'inventory';
  if (ext === '.csv') return 'csv';
  if (ext === '.md' || ext === '.markdown') return 'markdown';
  const table = sniffTableFormat(text);
  if (table === 'grid' || table === 'markdown') return table;
  const firstLine =
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l))
      ?.trim() ?? '';
  if (/^\[[^\]]+\]\s*$/.test(firstLine)) return 'inventory';
  if (/^[A-Za-z_][\w-]*\s*:(\s|$)/.test(firstLine) || firstLine === '---') return 'yaml';
  if (table === 'csv') return 'csv';
  throw new UserError(
    `${file}: cannot tell what kind of topology this is; pass --format (one of ${INPUT_FORMATS.filter((f) => f !== 'auto').join(', ')})`,
  );
}

/**
 * Reads a topology from a VM summary (grid / Markdown / CSV), a YAML topology, or a commcare-cloud inventory
 * (a file, or an environment directory holding inventory.ini and app-processes.yml). Throws UserError with the
 * file (and line where known) for anything unreadable.
 */
export function loadTopology(file: string, options: LoadOptions = {}): Topology {
  let target = file;
  if (existsSync(file) && statSync(file).isDirectory()) {
    const inv = path.join(file, 'inventory.ini');
    if (!existsSync(inv)) throw new UserError(`${file}: is a directory without inventory.ini`);
    target = inv;
  }
  const text = readText(target);
  let format = options.format ?? 'auto';
  if (format === 'seed') format = 'grid';
  const chosen = format === 'auto' ? detectFormat(target, text) : format;

  switch (chosen) {
    case 'grid':
    case 'markdown':
    case 'csv': {
      const { rows, title } = readVmTable(text, chosen as TableFormat, target);
      const t: Topology = { source: { path: target, format: chosen }, rows, hosts: [], warnings: [] };
      if (title) t.name = title;
      return t;
    }
    case 'yaml': {
      const src = new YamlSource(text, target);
      if (!looksLikeTopologyYaml(src.data)) {
        if (isRecord(src.data) && 'usage' in src.data && 'services' in src.data) {
          throw new UserError(`${target}: this is a sizing config (usage + services); run "capacity plan ${target}" for its VM summary`);
        }
        if (isRecord(src.data) && ('celery_processes' in src.data || 'pillows' in src.data)) {
          throw new UserError(`${target}: this is an app-processes.yml; pass the inventory.ini beside it (or its directory)`);
        }
      }
      return topologyFromYaml(src);
    }
    case 'inventory': {
      let appProcesses: { text: string; file: string } | undefined;
      const ap = options.appProcesses ?? path.join(path.dirname(target), 'app-processes.yml');
      if (options.appProcesses || existsSync(ap)) appProcesses = { text: readText(ap), file: ap };
      return readInventory(text, target, { appProcesses, nodeExporterPort: options.nodeExporterPort });
    }
  }
}
