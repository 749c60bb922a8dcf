import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { throttleProgress } from './k6.ts';

describe('k6 progress without a terminal', () => {
  it('keeps one progress block per interval and every other line', () => {
    let t = 0;
    const out: string[] = [];
    const echo = throttleProgress(
      (c) => out.push(c),
      10_000,
      () => t,
    );
    const block =
      'running (0m01.0s), 01/10 VUs, 5 complete and 0 interrupted iterations\nsubmissions   [   1% ] 01/10 VUs  0m01.0s/2m10s  10.00 iters/s\n';
    echo(block);
    t = 1000;
    echo(block);
    echo('time="x" level=warning msg="a warning"\n');
    t = 10_500;
    echo(block.slice(0, 30));
    echo(block.slice(30));
    const text = out.join('');
    assert.equal((text.match(/running \(/g) ?? []).length, 2);
    assert.equal((text.match(/submissions\s+\[/g) ?? []).length, 2);
    assert.match(text, /a warning/);
  });
});
