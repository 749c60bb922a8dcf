// Headless Chromium (Debian's `chromium` package): HTML -> PDF, and HTML -> screenshot for checks. Every run
// gets its own throw-away profile and no network services of its own (no sync, updates or QUIC).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../core/errors.ts';

export function chromiumPath(given?: string): string {
  const p = given ?? process.env.CAPACITY_CHROMIUM ?? '/usr/bin/chromium';
  if (!fs.existsSync(p))
    throw new UserError(
      `headless Chromium not found at ${p}: install Debian's chromium (apt-get install chromium; it is in scripts/system-packages.txt) or set CAPACITY_CHROMIUM`,
    );
  return p;
}

const BASE_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  '--hide-scrollbars',
  '--mute-audio',
];

async function runChromium(args: string[], opts: { chromium?: string; timeoutMs?: number }): Promise<void> {
  const bin = chromiumPath(opts.chromium);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-chromium-'));
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(
        bin,
        [...BASE_FLAGS, `--user-data-dir=${profile}`, ...args],
        { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 8 << 20 },
        (err, _stdout, stderr) => {
          if (err)
            reject(
              new Error(
                `chromium failed: ${err.message.split('\n')[0]}${stderr ? `: ${String(stderr).trim().split('\n').slice(-2).join(' | ')}` : ''}`,
              ),
            );
          else resolve();
        },
      );
    });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Prints an HTML file to PDF (A4, backgrounds on, no header or footer). */
export async function printPdf(htmlFile: string, pdfFile: string, opts: { chromium?: string; timeoutMs?: number } = {}): Promise<void> {
  fs.rmSync(pdfFile, { force: true });
  await runChromium(
    [
      '--no-pdf-header-footer',
      '--run-all-compositor-stages-before-draw',
      `--print-to-pdf=${path.resolve(pdfFile)}`,
      pathToFileURL(path.resolve(htmlFile)).href,
    ],
    opts,
  );
  if (!fs.existsSync(pdfFile) || fs.statSync(pdfFile).size === 0) throw new Error(`chromium wrote no PDF at ${pdfFile}`);
}

/** A PNG screenshot of the page (for checks). */
export async function screenshot(
  htmlFile: string,
  pngFile: string,
  opts: { chromium?: string; timeoutMs?: number; width?: number; height?: number } = {},
): Promise<void> {
  fs.rmSync(pngFile, { force: true });
  await runChromium(
    [
      `--window-size=${opts.width ?? 1280},${opts.height ?? 2400}`,
      `--screenshot=${path.resolve(pngFile)}`,
      pathToFileURL(path.resolve(htmlFile)).href,
    ],
    opts,
  );
  if (!fs.existsSync(pngFile)) throw new Error(`chromium wrote no screenshot at ${pngFile}`);
}

/** The DOM after the page has loaded, as Chromium serialises it (--dump-dom). */
export async function dumpDom(htmlFile: string, opts: { chromium?: string; timeoutMs?: number } = {}): Promise<string> {
  const bin = chromiumPath(opts.chromium);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'capacity-chromium-'));
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(
        bin,
        [
          ...BASE_FLAGS,
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=5000',
          '--dump-dom',
          pathToFileURL(path.resolve(htmlFile)).href,
        ],
        { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 256 << 20 },
        (err, stdout, stderr) => {
          if (err)
            reject(
              new Error(
                `chromium failed: ${err.message.split('\n')[0]}${stderr ? `: ${String(stderr).trim().split('\n').slice(-2).join(' | ')}` : ''}`,
              ),
            );
          else resolve(String(stdout));
        },
      );
    });
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
