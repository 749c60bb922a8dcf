import type { Command } from 'commander';
import { UserError } from '../../core/errors.ts';
import { INPUT_FORMATS, loadTopology, type InputFormat } from '../../topology/load.ts';
import { totals } from '../../topology/model.ts';
import { renderTopology } from '../../topology/show.ts';

export function register(program: Command): void {
  const topology = program.command('topology').description('VM rows, hosts, services and endpoints of an installation');

  topology
    .command('show')
    .description('read a VM summary (grid/Markdown/CSV), a YAML topology or a commcare-cloud inventory and print what was read')
    .argument('<file>', 'topology file, or a commcare-cloud environment directory')
    .option('--json', 'print the topology as JSON')
    .option('--format <format>', `input format: ${INPUT_FORMATS.join(', ')}`, 'auto')
    .option('--app-processes <file>', 'app-processes.yml for an inventory (default: the one beside it)')
    .option('--node-exporter-port <port>', 'for inventories: node_exporter port on every host')
    .action((file: string, opts: { json?: boolean; format: string; appProcesses?: string; nodeExporterPort?: string }) => {
      if (!(INPUT_FORMATS as readonly string[]).includes(opts.format)) {
        throw new UserError(`--format must be one of ${INPUT_FORMATS.join(', ')}, not "${opts.format}"`);
      }
      let nodeExporterPort: number | undefined;
      if (opts.nodeExporterPort !== undefined) {
        nodeExporterPort = Number(opts.nodeExporterPort);
        if (!Number.isInteger(nodeExporterPort) || nodeExporterPort < 1 || nodeExporterPort > 65535) {
          throw new UserError(`--node-exporter-port must be a port number, not "${opts.nodeExporterPort}"`);
        }
      }
      const t = loadTopology(file, { format: opts.format as InputFormat, appProcesses: opts.appProcesses, nodeExporterPort });
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ...t, totals: totals(t.rows) }, null, 2) + '\n');
      } else {
        process.stdout.write(renderTopology(t));
      }
    });
}
