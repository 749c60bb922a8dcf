import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { corpusForms, formsPerWorker, ownedWorkers, ownershipProblem, segmentIndex, segmentWorkers } from './ownership.ts';

describe('worker ownership', () => {
  it('every worker has exactly one owner VU in exactly one segment', () => {
    for (const [users, segments, pool] of [
      [10, 1, 10],
      [100, 1, 30],
      [10, 2, 5],
      [101, 3, 7],
      [48, 2, 8],
    ] as const) {
      const o = { users, segments, pool };
      const owners = new Map<number, string>();
      for (let s = 0; s < segments; s++) {
        for (let vu = 1; vu <= pool; vu++) {
          const mine = ownedWorkers(o, s, vu);
          assert.ok(mine.length > 0, `VU ${vu} of segment ${s} owns workers (${users}/${segments}/${pool})`);
          for (const w of mine) {
            assert.equal(owners.has(w), false, `worker ${w} owned twice`);
            owners.set(w, `${s}/${vu}`);
          }
        }
      }
      assert.equal(owners.size, users, 'every worker owned');
    }
  });

  it("segments split workers by w mod N, and VUs spread a segment's workers evenly", () => {
    assert.deepEqual(segmentWorkers({ users: 7, segments: 2, pool: 1 }, 1), [1, 3, 5]);
    const counts = Array.from({ length: 30 }, (_, v) => ownedWorkers({ users: 100, segments: 1, pool: 30 }, 0, v + 1).length);
    assert.equal(Math.max(...counts) - Math.min(...counts), 1);
  });

  it('refuses more VUs than workers per generator, with the fix in the message', () => {
    assert.equal(ownershipProblem({ users: 10, segments: 1, pool: 10 }), undefined);
    assert.match(
      ownershipProblem({ users: 10, segments: 2, pool: 6 }) ?? '',
      /6 VUs per load generator but only 5 mobile workers each.*--users/,
    );
  });

  it('sizes the corpus for the VU that owns the fewest workers', () => {
    // 100 workers over 30 VUs: some VUs own 3, each VU sends about 1000/30 forms -> 3 workers share 33.3
    const o = { users: 100, segments: 1, pool: 30 };
    const per = formsPerWorker(o, 1000);
    assert.ok(per * 3 >= (1000 / 30) * 1.1, `${per} forms a worker`);
    assert.equal(corpusForms(o, 1000), per * 100);
    // one worker per VU: the worker needs its VU's whole share
    assert.ok(formsPerWorker({ users: 10, segments: 2, pool: 5 }, 60) >= 6);
  });

  it('reads k6 execution segments to an index', () => {
    assert.equal(segmentIndex('', 2), 0);
    assert.equal(segmentIndex(undefined, 1), 0);
    assert.equal(segmentIndex('0:1/2', 2), 0);
    assert.equal(segmentIndex('1/2:1', 2), 1);
    assert.equal(segmentIndex('2/3:1', 3), 2);
    assert.equal(segmentIndex('0.5:1', 2), 1);
  });
});
