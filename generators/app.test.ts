import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, parseAppText } from './app.ts';
import { builtin } from './testing.ts';

const bad = (yaml: string, message: RegExp) =>
  assert.throws(
    () => parseAppText(yaml, 'bad.yaml'),
    (e: unknown) => (e instanceof AppError && message.test(e.message) ? true : assert.fail(String(e))),
  );

describe('app model', () => {
  it('loads the built-in household app with its forms, repeats, child cases and filters', () => {
    const app = builtin('household');
    assert.equal(app.name, 'household');
    assert.deepEqual(
      app.forms.map((f) => `${f.id}:${f.category}`),
      [
        'register_household:register',
        'register_member:register',
        'pregnancy_visit:followup',
        'delivery:followup',
        'child_visit:followup',
        'close_member:close',
        'close_household:close',
      ],
    );
    const delivery = app.forms.find((f) => f.id === 'delivery')!;
    assert.deepEqual(delivery.subject, { type: 'member', where: [['pregnant', 'yes']] });
    const baby = delivery.children.find((n) => n.kind === 'repeat');
    assert.ok(baby && baby.kind === 'repeat');
    assert.deepEqual(baby.cases[0]!.parent, { ref: 'subject', identifier: 'parent', relationship: 'child' });
    assert.equal(baby.cases[0]!.caseType, 'child');
    const types = new Set(app.forms.flatMap((f) => JSON.stringify(f.children).match(/"type":"(\w+)"/g) ?? []));
    for (const t of [
      'text',
      'int',
      'decimal',
      'date',
      'datetime',
      'select1',
      'select',
      'geopoint',
      'phone',
      'barcode',
      'image',
      'audio',
      'time',
      'hidden',
    ]) {
      assert.ok(types.has(`"type":"${t}"`), `household uses ${t}`);
    }
  });

  it('loads the built-in supply app with products and ledger blocks', () => {
    const app = builtin('supply');
    assert.equal(app.products.length, 20);
    assert.match(app.products[0]!.id, /^[0-9a-f]{32}$/);
    const report = app.forms.find((f) => f.id === 'stock_report')!;
    assert.deepEqual(
      report.ledgers.map((l) => [l.kind, l.section, l.entity]),
      [
        ['balance', 'stock', 'subject'],
        ['balance', 'consumption', 'subject'],
      ],
    );
    const loss = app.forms.find((f) => f.id === 'loss_adjustment')!;
    assert.deepEqual([loss.ledgers[0]!.src, loss.ledgers[0]!.dest], ['subject', undefined]);
  });

  it('reports the first problem with its path', () => {
    bad('name: x\n', /bad.yaml: forms: an app needs a non-empty "forms" list/);
    bad('name: x\nforms: [{ id: f, questions: [{ id: q, type: txt }] }]', /forms\[0\].questions\[0\].type: unknown question type "txt"/);
    bad(
      'name: x\nforms: [{ id: f, questions: [{ id: q, type: select1 }] }]',
      /forms\[0\].questions\[0\]: a select1 question needs "choices"/,
    );
    bad('name: x\nforms: [{ id: f, questions: [{ id: 1q, type: text }] }]', /"1q" is not a valid XML element name/);
    bad('name: x\nforms: [{ id: f, questions: [{ id: q, type: text }, { id: q, type: int }] }]', /question "q" is defined twice/);
    bad(
      'name: x\nforms: [{ id: f, cases: [{ create: t, name: nope }] }]',
      /forms\[0\].cases\[0\].name: "nope" is not a question of this form/,
    );
    bad('name: x\nforms: [{ id: f, cases: [{ case: subject, close: true }] }]', /forms\[0\].cases\[0\].case: this form has no subject/);
    bad(
      'name: x\nforms: [{ id: f, category: close, subject: t, cases: [{ case: subject, update: { a: "\'1\'" } }] }]',
      /a close form needs a case block with "case: subject" and "close: true"/,
    );
    bad('name: x\nforms: [{ id: f, subject: t, where: { p: v } }]', /forms\[0\].where.p: "p" is not tracked for case type t/);
    bad(
      'name: x\nforms: [{ id: f, subject: t, ledgers: [{ balance: stock }] }]',
      /ledger blocks without "products" need app-level "products"/,
    );
    bad('name: x\nforms: [{ id: f, colour: red }]', /forms\[0\]: unknown field "colour"/);
    bad('name: x\nforms: [{ id: f }, { id: f }]', /forms\[1\].id: form id "f" is used twice/);
    bad('name: [x', /bad.yaml: not valid YAML\/JSON/);
  });

  it('accepts JSON and resolves group paths and templates', () => {
    const app = parseAppText(
      JSON.stringify({
        name: 'j',
        forms: [
          {
            id: 'f',
            questions: [
              { group: 'g', questions: [{ id: 'a', type: 'text' }] },
              { group: 'h', questions: [{ id: 'a', type: 'int' }] },
            ],
            cases: [{ create: 't', name: '{g/a} {h/a}' }],
          },
        ],
      }),
    );
    assert.equal(app.forms[0]!.cases[0]!.name, '{g/a} {h/a}');
    bad(
      JSON.stringify({
        name: 'j',
        forms: [
          {
            id: 'f',
            questions: [
              { group: 'g', questions: [{ id: 'a', type: 'text' }] },
              { group: 'h', questions: [{ id: 'a', type: 'int' }] },
            ],
            cases: [{ create: 't', name: 'a' }],
          },
        ],
      }),
      /"a" is not a question of this form in scope here \(an id used in two groups must be referred to by its path/,
    );
  });
});
