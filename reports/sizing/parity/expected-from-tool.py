#!/usr/bin/env python3
"""Writes a parity case: a sizing config and the VM summary commcare_resource_model gives for it.

    python expected-from-tool.py TOOL_CHECKOUT CONFIG.yml > reports/sizing/parity/NAME.yml

Runs the tool's own functions (generate_usage_data, generate_service_data, get_summary_data,
summarize_service_data) from a checkout of dimagi/commcare_resource_model, in a Python where its
requirements are installed (pandas<2, numpy<2, jsonobject==0.7.1). Nothing of the tool is copied here.
"""
import math
import os
import subprocess
import sys

tool, config_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, tool)
import numpy as np  # noqa: E402
from core.config import config_from_path  # noqa: E402
from core.generate import generate_usage_data, generate_service_data  # noqa: E402
from core.summarize import summarize_service_data, get_summary_data  # noqa: E402
from run_model import get_combined_sets  # noqa: E402


def cell(v):
    if v is None:
        return 'null'
    if isinstance(v, (float, np.floating)):
        return 'null' if math.isnan(v) or math.isinf(v) else repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


commit = subprocess.run(['git', '-C', tool, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()
config = config_from_path(config_path)
unit = config.storage_display_unit
out = [f'# Expected: commcare_resource_model {commit or "(no git)"}, numpy {np.__version__}, from {os.path.basename(config_path)}.',
       'config: |']
with open(config_path) as f:
    out += ['  ' + line.rstrip('\n') if line.strip() else '' for line in f]
out.append('expected:')
sets = get_combined_sets(config.sets) if config.sets else [{'name': 'default'}]
for ctx in sets:
    usage = generate_usage_data(config, ctx)
    summary = get_summary_data(config, generate_service_data(config, usage))
    dates = sorted(config.summary_date_vals) if config.summary_dates else [usage.iloc[-1].name]
    out.append(f"  '{ctx['name']}':")
    for d in dates:
        s = summarize_service_data(config, summary, d)
        out.append(f"    '{d.strftime('%Y-%m')}':")
        out.append(f"      users: {cell(usage.loc[d]['users'])}")
        out.append('      # cores/VM, RAM/VM, data GB/VM, VMs, data total (%s), storage group, OS disks GB' % unit)
        out.append('      services:')
        for name, r in s.service_summary.drop('Total').iterrows():
            row = [r['Cores Per VM'], r['RAM Per VM'], r['Data Storage Per VM (GB)'], r['VMs Total'],
                   r['Data Storage Total (%s)' % unit], r['Storage Group'], r['OS Storage Total (GB)']]
            out.append(f"        {name}: [{', '.join(cell(v) for v in row)}]")
        groups = ', '.join(f'{k}: {cell(v)}' for k, v in s.storage_by_group.iloc[:, 0].items())
        out.append(f'      groups: {{{groups}}}')
print('\n'.join(out))
