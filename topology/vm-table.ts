// VM summary tables: read them from the seed's ASCII grid, a Markdown pipe table or CSV, and print them back.
//
// The columns are commcare_resource_model's "VM Summary" sheet: a name column, then Cores Per VM, RAM Per VM,
// Data Storage Per VM (GB) and VMs Total. Extra columns (Data Storage Total, Storage Group, OS Storage...) are
// allowed; Storage Group is kept, the rest ignored. A "Total" row is skipped. An empty figure means 0, as in
// the resource model's sheet, which leaves zeros blank.
import { parse as parseCsv } from 'csv-parse/sync';
import { lexer, type Tokens } from 'marked';
import { UserError } from '../core/errors.ts';
import type { VmRow } from './model.ts';

export type TableFormat = 'grid' | 'markdown' | 'csv';

/** A table as cells, before the VM columns are picked out. `line` is 1-based in the source file. */
export interface RawTable {
  title?: string;
  header: string[];
  rows: Array<{ cells: string[]; line: number }>;
  headerLine: number;
}

type Field = 'cores' | 'ram' | 'storage' | 'vms' | 'group';
const COLUMN_LABELS: Record<Exclude<Field, 'group'>, string> = {
  cores: 'Cores Per VM',
  ram: 'RAM Per VM',
  storage: 'Data Storage Per VM (GB)',
  vms: 'VMs Total',
};

/** Which VM field a header names, by the resource model's labels and a few plain synonyms. */
function fieldForHeader(header: string): Field | undefined {
  const h = header
    .toLowerCase()
    .replace(/[^a-z0-9()]+/g, ' ')
    .trim();
  if (/^(cores?|cpus?|vcpus?)( per vm)?$/.test(h)) return 'cores';
  if (/^(ram|memory|mem)( per vm)?( \(?gb\)?)?$/.test(h)) return 'ram';
  if (/^(data )?(storage|disk)( per vm)?( \(?gb\)?)?$/.test(h)) return 'storage';
  if (/^(vms?|vms? total|total vms?|vm count|count|nodes?)$/.test(h)) return 'vms';
  if (/^storage group$/.test(h)) return 'group';
  return undefined;
}

function isVmHeader(header: string[]): boolean {
  const fields = new Set(header.map(fieldForHeader));
  return fields.has('cores') && fields.has('ram') && fields.has('vms');
}

const NUMBER_RE = /^[+]?(\d+(\.\d*)?|\.\d+)$/;
const THOUSANDS_RE = /^\d{1,3}(,\d{3})+(\.\d+)?$/;

function parseFigure(cell: string): number | undefined {
  const c = cell.trim();
  if (c === '') return 0;
  if (NUMBER_RE.test(c)) return Number(c);
  if (THOUSANDS_RE.test(c)) return Number(c.replace(/,/g, ''));
  return undefined;
}

/** Picks the VM columns out of a table; errors name the file, line and row. */
export function vmRowsFromTable(table: RawTable, file: string): VmRow[] {
  const index: Partial<Record<Field, number>> = {};
  table.header.forEach((h, i) => {
    const f = fieldForHeader(h);
    if (f && index[f] === undefined) index[f] = i;
  });
  for (const f of ['cores', 'ram', 'storage', 'vms'] as const) {
    if (index[f] === undefined) {
      throw new UserError(
        `${file}:${table.headerLine}: VM summary has no "${COLUMN_LABELS[f]}" column (columns: ${table.header.map((h) => JSON.stringify(h)).join(', ')})`,
      );
    }
  }
  // The name column: the first column that is not a figure (the seed leaves its header empty).
  const used = new Set(Object.values(index));
  const nameIndex = table.header.findIndex((_, i) => !used.has(i));
  if (nameIndex < 0) throw new UserError(`${file}:${table.headerLine}: VM summary has no name column`);

  const rows: VmRow[] = [];
  const seen = new Map<string, number>();
  for (const { cells, line } of table.rows) {
    const name = (cells[nameIndex] ?? '').trim();
    if (cells.every((c) => c.trim() === '')) continue;
    if (/^total$/i.test(name)) continue;
    if (name === '') throw new UserError(`${file}:${line}: VM summary row has no name`);
    if (seen.has(name)) throw new UserError(`${file}:${line}: VM summary row "${name}" appears twice (first on line ${seen.get(name)})`);
    seen.set(name, line);
    const figure = (f: Exclude<Field, 'group'>): number => {
      const cell = cells[index[f]!] ?? '';
      const value = parseFigure(cell);
      if (value === undefined) {
        throw new UserError(`${file}:${line}: row "${name}": ${COLUMN_LABELS[f]} is ${JSON.stringify(cell.trim())}, not a number`);
      }
      return value;
    };
    const row: VmRow = {
      name,
      coresPerVm: figure('cores'),
      ramGbPerVm: figure('ram'),
      storageGbPerVm: figure('storage'),
      vmCount: figure('vms'),
      source: `${file}:${line}`,
    };
    if (!Number.isInteger(row.vmCount)) {
      throw new UserError(`${file}:${line}: row "${name}": VMs Total is ${row.vmCount}, not a whole number`);
    }
    if (index.group !== undefined) {
      const group = (cells[index.group] ?? '').trim();
      if (group) row.storageGroup = group;
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new UserError(`${file}:${table.headerLine}: VM summary has a header but no rows`);
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// ASCII grid tables ("+----+----+" borders, "| a | b |" rows), as in the seed. The seed's copy went through a
// Markdown converter: blank lines sit between all lines and cells are not padded to the borders, so cells are
// split on "|" rather than on the border's "+" positions. A one-cell row before the header is the title.

const BORDER_RE = /^\s*\+[-=:+]+\+\s*$/;
const ROW_RE = /^\s*\|.*\|\s*$/;

function splitPipes(line: string): string[] {
  const inner = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split('|').map((c) => c.trim());
}

/** Every grid table in a text, in order. */
export function findGridTables(text: string): RawTable[] {
  const lines = text.split(/\r?\n/);
  const tables: RawTable[] = [];
  let i = 0;
  while (i < lines.length) {
    if (!BORDER_RE.test(lines[i]!)) {
      i++;
      continue;
    }
    // A table: borders and rows, blank lines allowed between them, until some other line.
    const body: Array<{ text: string; line: number }> = [];
    let j = i;
    let lastTableLine = i;
    while (j < lines.length) {
      const l = lines[j]!;
      if (BORDER_RE.test(l) || ROW_RE.test(l)) {
        if (ROW_RE.test(l)) body.push({ text: l, line: j + 1 });
        lastTableLine = j;
      } else if (l.trim() !== '') break;
      j++;
    }
    i = lastTableLine + 1;
    const cellsRows = body.map((b) => ({ cells: splitPipes(b.text), line: b.line }));
    let title: string | undefined;
    while (cellsRows.length && cellsRows[0]!.cells.length === 1) {
      title = title ?? cellsRows[0]!.cells[0];
      cellsRows.shift();
    }
    const header = cellsRows.shift();
    if (!header) continue;
    tables.push({ title, header: header.cells, headerLine: header.line, rows: cellsRows });
  }
  return tables;
}

// ---------------------------------------------------------------------------------------------------------
// Markdown pipe tables, via marked's lexer (which finds tables anywhere in a document, nested in lists too).

export function findMarkdownTables(text: string): RawTable[] {
  const tables: RawTable[] = [];
  const tokens = lexer(text);
  // marked does not give line numbers: count them from each token's raw text, which covers the source in order.
  let offset = 0;
  let lastHeading: string | undefined;
  const visit = (list: readonly unknown[]): void => {
    for (const t of list as Array<{ type: string; raw: string; tokens?: unknown[]; items?: unknown[] }>) {
      if (t.type === 'table') {
        const table = t as unknown as Tokens.Table;
        const at = text.indexOf(table.raw, offset);
        const startLine = at >= 0 ? text.slice(0, at).split('\n').length : 1;
        if (at >= 0) offset = at + table.raw.length;
        tables.push({
          title: lastHeading,
          header: table.header.map((c) => c.text.trim()),
          headerLine: startLine,
          rows: table.rows.map((r, k) => ({ cells: r.map((c) => c.text.trim()), line: startLine + 2 + k })),
        });
      } else if (t.type === 'heading') {
        lastHeading = (t as unknown as Tokens.Heading).text;
      }
      if (t.type !== 'table' && Array.isArray(t.items)) visit(t.items);
    }
  };
  visit(tokens);
  return tables;
}

// ---------------------------------------------------------------------------------------------------------
// CSV (first non-empty record is the header). Lines starting with "#" are comments.

export function readCsvTable(text: string, file: string): RawTable {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parseCsv(text, {
      bom: true,
      comment: '#',
      skip_empty_lines: true,
      relax_column_count: true,
      trim: true,
      info: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new UserError(`${file}${e.lines ? `:${e.lines}` : ''}: not readable as CSV: ${e.message}`);
  }
  const [head, ...rest] = records;
  if (!head) throw new UserError(`${file}: CSV file is empty`);
  return {
    header: head.record,
    headerLine: head.info.lines,
    rows: rest.map((r) => ({ cells: r.record, line: r.info.lines })),
  };
}

/** Chooses the VM summary among a document's tables: the first whose header has the VM columns. */
function pickVmTable(tables: RawTable[], file: string, kind: string): RawTable {
  const withVmColumns = tables.filter((t) => isVmHeader(t.header));
  const titled = withVmColumns.find((t) => /vm summary/i.test(t.title ?? ''));
  const chosen = titled ?? withVmColumns[0];
  if (!chosen) {
    if (tables.length === 0) throw new UserError(`${file}: no ${kind} table found`);
    const first = tables[0]!;
    throw new UserError(
      `${file}:${first.headerLine}: no VM summary table found (need columns ${Object.values(COLUMN_LABELS).join(', ')}; first table has ${first.header.map((h) => JSON.stringify(h)).join(', ')})`,
    );
  }
  return chosen;
}

/** Reads a VM summary from text in the given format. Errors name `file`. */
export function readVmTable(text: string, format: TableFormat, file: string): { rows: VmRow[]; title?: string } {
  let table: RawTable;
  if (format === 'grid') table = pickVmTable(findGridTables(text), file, 'grid (+---+)');
  else if (format === 'markdown') table = pickVmTable(findMarkdownTables(text), file, 'Markdown pipe');
  else table = readCsvTable(text, file);
  return { rows: vmRowsFromTable(table, file), title: table.title };
}

/** Guesses the table format of a text: grid borders, a Markdown separator row, else CSV. */
export function sniffTableFormat(text: string): TableFormat | undefined {
  const lines = text.split(/\r?\n/);
  if (lines.some((l) => BORDER_RE.test(l))) return 'grid';
  if (lines.some((l) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$/.test(l))) return 'markdown';
  const firstData = lines.find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (firstData && firstData.includes(',')) return 'csv';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Printing.

export type PrintStyle = 'seed' | 'grid' | 'markdown' | 'csv';

/** A figure as the resource model's sheet shows it: integers plain, fractions without float noise. */
export function formatFigure(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(12)));
}

const HEADER = ['', COLUMN_LABELS.cores, COLUMN_LABELS.ram, COLUMN_LABELS.storage, COLUMN_LABELS.vms];

function cellsOf(rows: readonly VmRow[]): string[][] {
  return rows.map((r) => [
    r.name,
    formatFigure(r.coresPerVm),
    formatFigure(r.ramGbPerVm),
    formatFigure(r.storageGbPerVm),
    formatFigure(r.vmCount),
  ]);
}

/**
 * Prints VM rows as a table. 'seed' is exactly the seed's layout: a title row spanning the table, borders sized
 * to each column, unpadded cells and a blank line between all lines. 'grid' is the same grid with cells padded
 * to the borders and no blank lines. Every style reads back with readVmTable.
 */
export function formatVmTable(rows: readonly VmRow[], style: PrintStyle = 'seed', title = 'VM summary'): string {
  const body = cellsOf(rows);
  if (style === 'csv') {
    const header = ['Name', ...HEADER.slice(1)];
    const esc = (c: string) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
    return [header, ...body].map((r) => r.map(esc).join(',')).join('\n') + '\n';
  }
  if (style === 'markdown') {
    const header = ['Name', ...HEADER.slice(1)];
    const esc = (c: string) => c.replace(/\|/g, '\\|');
    const lines = [
      `| ${header.join(' | ')} |`,
      `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
      ...body.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ];
    return (title ? `### ${title}\n\n` : '') + lines.join('\n') + '\n';
  }
  // The name column is at least 12 characters wide, as in the seed (whose column is wider than its names).
  const widths = HEADER.map((h, i) => Math.max(i === 0 ? 12 : 0, h.length, ...body.map((r) => r[i]!.length)) + 2);
  const border = '+' + widths.map((w) => '-'.repeat(w)).join('+') + '+';
  const full = border.length - 2;
  if (style === 'grid') {
    const line = (cells: string[]) => '|' + cells.map((c, i) => ` ${c.padEnd(widths[i]! - 2)} `).join('|') + '|';
    const out = [];
    if (title) out.push('+' + '-'.repeat(full) + '+', '|' + ` ${title}`.padEnd(full) + '|');
    out.push(border, line(HEADER), border.replace(/-/g, '='));
    for (const r of body) out.push(line(r), border);
    return out.join('\n') + '\n';
  }
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`.replace(/\| {2}\|/, '| |');
  const out: string[] = [];
  if (title) out.push('+' + '-'.repeat(full) + '+', `| ${title} |`);
  out.push(border, line(HEADER), border);
  for (const r of body) out.push(line(r), border);
  return out.join('\n\n') + '\n';
}
