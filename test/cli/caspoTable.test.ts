/** `npm run caspo:table` end to end on the tiny SFT fixture: real `caspo eval` runs, then md, json and png. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { evaluateGoals, type GoalCheck } from '../../bench/caspo-table/goals';
import { readTableData } from '../../bench/caspo-table/writeReport';
import type { TableData } from '../../bench/caspo-table/types';
import { buildOnce, ROOT, tempDir } from './helpers';

const TINY = join(ROOT, 'test', 'fixtures', 'generated', 'tiny-arith');

function caspoTable(args: readonly string[]) {
  buildOnce();
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'caspo-table.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
}

describe('npm run caspo:table', function () {
  this.timeout(300_000);
  const scratch = tempDir('caspo-table-');
  after(() => scratch.remove());

  before(function () {
    if (!existsSync(join(TINY, 'onnx', 'model.onnx'))) this.skip(); // made by scripts/make-fixtures.mjs in `npm test`
  });

  it('runs every model × strategy × split and writes the markdown, the JSON and the PNG', () => {
    // Two copies of one model under different names stand in for the SFT and the final CASPO model.
    const sft = join(scratch.dir, 'tiny-sft');
    const final = join(scratch.dir, 'tiny-caspo');
    cpSync(TINY, sft, { recursive: true });
    cpSync(TINY, final, { recursive: true });
    const out = join(scratch.dir, 'out');
    const result = caspoTable(['--models', `${sft},${final}`, '--limit', '2', '--threads', '1', '--ep', 'cpu', '--out', out]);
    assert.equal(result.status, 0, result.stderr);

    const data = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8')) as TableData & { goals: unknown };
    assert.equal(data.baseline, 'tiny-sft');
    assert.equal(data.final, 'tiny-caspo');
    assert.equal(data.limit, 2);
    assert.deepEqual(
      data.runs.map((r) => `${r.split} ${r.model} ${r.strategy}`),
      ['heldout', 'hard'].flatMap((split) => ['tiny-sft', 'tiny-caspo'].flatMap((model) => [`${split} ${model} greedy`, `${split} ${model} cat`])),
    );
    for (const run of data.runs) {
      assert.equal(run.report.n, 2);
      assert.equal(run.report.confidence, 'raw', 'the table scores the raw confidence');
    }
    // The runs' per-problem records sit beside the JSON; with them the goals carry their intervals.
    assert.equal(readFileSync(join(out, 'calibration-problems.jsonl'), 'utf8').trim().split('\n').length, 8);
    const withRecords = readTableData(join(out, 'calibration.json'));
    assert.ok(withRecords.runs.every((r) => r.report.problems?.length === 2));
    assert.deepEqual(data.goals, evaluateGoals(withRecords));
    assert.ok((data.goals as GoalCheck[]).some((g) => g.interval !== undefined));

    const md = readFileSync(join(out, 'calibration.md'), 'utf8');
    assert.match(md, /Partial run: only the first 2 problems/);
    for (const model of ['tiny-sft', 'tiny-caspo']) {
      for (const strategy of ['greedy', 'CaT']) {
        assert.equal(md.split('\n').filter((line) => line.startsWith(`| ${model} | ${strategy} |`)).length, 2, `${model} ${strategy}: one row per split`);
      }
    }
    assert.match(md, /^## Goals$/m);
    assert.equal(md.split('\n').filter((line) => /^\| (heldout|hard) \| /.test(line)).length, 8);

    const png = readFileSync(join(out, 'reliability.png'));
    assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

    // --from-json re-renders the same markdown without running anything.
    const again = join(scratch.dir, 'again');
    const rerender = caspoTable(['--from-json', join(out, 'calibration.json'), '--out', again]);
    assert.equal(rerender.status, 0, rerender.stderr);
    assert.equal(readFileSync(join(again, 'calibration.md'), 'utf8'), md);
    // --final picks the model the goals check (here the baseline: nothing to compare); a folder that
    // is not one of the table's models is refused by name.
    const asBaseline = caspoTable(['--from-json', join(out, 'calibration.json'), '--out', join(scratch.dir, 'as-baseline'), '--final', sft]);
    assert.equal(asBaseline.status, 0, asBaseline.stderr);
    const baselineData = JSON.parse(readFileSync(join(scratch.dir, 'as-baseline', 'calibration.json'), 'utf8')) as TableData & { goals: { status: string }[] };
    assert.equal(baselineData.final, 'tiny-sft');
    assert.ok(baselineData.goals.some((g) => g.status === 'not evaluated'));
    const unknown = caspoTable(['--from-json', join(out, 'calibration.json'), '--out', join(scratch.dir, 'never2'), '--final', 'models/not-in-the-table']);
    assert.notEqual(unknown.status, 0);
    assert.match(unknown.stderr, /--final models\/not-in-the-table is not one of the table's models/);

    // --reuse takes the baseline's rows from that table and evaluates only the model it lacks.
    const third = join(scratch.dir, 'tiny-third');
    cpSync(TINY, third, { recursive: true });
    const reusedOut = join(scratch.dir, 'reused');
    const reuse = caspoTable(['--models', `${sft},${third}`, '--limit', '2', '--threads', '1', '--ep', 'cpu', '--out', reusedOut, '--reuse', join(out, 'calibration.json')]);
    assert.equal(reuse.status, 0, reuse.stderr);
    const reusedData = JSON.parse(readFileSync(join(reusedOut, 'calibration.json'), 'utf8')) as TableData;
    assert.deepEqual(
      reusedData.runs.map((r) => `${r.model} ${r.reusedFrom === data.generatedAt}`),
      ['heldout', 'hard'].flatMap(() => ['tiny-sft true', 'tiny-sft true', 'tiny-third false', 'tiny-third false']),
    );
    assert.deepEqual(reusedData.runs.filter((r) => r.model === 'tiny-sft').map((r) => r.report), data.runs.filter((r) => r.model === 'tiny-sft').map((r) => r.report));
    const reusedRecords = readTableData(join(reusedOut, 'calibration.json'));
    assert.deepEqual(
      reusedRecords.runs.filter((r) => r.model === 'tiny-sft').map((r) => r.report.problems),
      withRecords.runs.filter((r) => r.model === 'tiny-sft').map((r) => r.report.problems),
      'reused rows bring their records along',
    );
    assert.match(readFileSync(join(reusedOut, 'calibration.md'), 'utf8'), /† Row taken from an earlier run/);
    // The same folder holding other files (a rewritten config.json here) is evaluated again, not reused.
    const fit = join(sft, 'config.json');
    writeFileSync(fit, `${readFileSync(fit, 'utf8').trimEnd()}\n\n`);
    const refitOut = join(scratch.dir, 'refit');
    const refit = caspoTable(['--models', `${sft},${third}`, '--limit', '2', '--threads', '1', '--ep', 'cpu', '--out', refitOut, '--reuse', join(reusedOut, 'calibration.json')]);
    assert.equal(refit.status, 0, refit.stderr);
    const refitData = JSON.parse(readFileSync(join(refitOut, 'calibration.json'), 'utf8')) as TableData;
    assert.deepEqual(
      refitData.runs.map((r) => `${r.model} ${r.reusedFrom !== undefined}`),
      ['heldout', 'hard'].flatMap(() => ['tiny-sft false', 'tiny-sft false', 'tiny-third true', 'tiny-third true']),
    );
    // CaT rows decoded with other settings than today's defaults (here: every candidate drawn, as before the
    // greedy first candidate) are evaluated again; the greedy rows are still reused.
    const otherCat = join(scratch.dir, 'other-cat', 'calibration.json');
    cpSync(reusedOut, dirname(otherCat), { recursive: true });
    const earlier = JSON.parse(readFileSync(otherCat, 'utf8')) as TableData;
    for (const run of earlier.runs) if (run.strategy === 'cat') run.report.settings = { ...run.report.settings!, greedyFirst: false };
    writeFileSync(otherCat, JSON.stringify(earlier));
    const recat = caspoTable(['--models', `${third}`, '--limit', '2', '--threads', '1', '--ep', 'cpu', '--out', join(scratch.dir, 'recat'), '--reuse', otherCat]);
    assert.equal(recat.status, 0, recat.stderr);
    const recatData = JSON.parse(readFileSync(join(scratch.dir, 'recat', 'calibration.json'), 'utf8')) as TableData;
    assert.deepEqual(
      recatData.runs.map((r) => `${r.strategy} ${r.reusedFrom !== undefined}`),
      ['heldout', 'hard'].flatMap(() => ['greedy true', 'cat false']),
    );
    assert.ok(recatData.runs.filter((r) => r.strategy === 'cat').every((r) => r.report.settings?.greedyFirst === true));
    // A split file regenerated since (its hash in the earlier table differs): that split's rows are evaluated again,
    // since their per-problem records would be paired with other problems'.
    const otherHeldout = join(scratch.dir, 'other-heldout', 'calibration.json');
    cpSync(reusedOut, dirname(otherHeldout), { recursive: true });
    const before = JSON.parse(readFileSync(otherHeldout, 'utf8')) as TableData;
    assert.ok(before.splits.every((split) => /^[0-9a-f]{16}$/.test(split.sha256 ?? '')), 'the table records each split file\'s hash');
    before.splits = before.splits.map((split) => (split.name === 'heldout' ? { ...split, sha256: '0000000000000000' } : split));
    writeFileSync(otherHeldout, JSON.stringify(before));
    const resplit = caspoTable(['--models', `${third}`, '--limit', '2', '--threads', '1', '--ep', 'cpu', '--out', join(scratch.dir, 'resplit'), '--reuse', otherHeldout]);
    assert.equal(resplit.status, 0, resplit.stderr);
    const resplitData = JSON.parse(readFileSync(join(scratch.dir, 'resplit', 'calibration.json'), 'utf8')) as TableData;
    assert.deepEqual(
      resplitData.runs.map((r) => `${r.split} ${r.strategy} ${r.reusedFrom !== undefined}`),
      ['heldout greedy false', 'heldout cat false', 'hard greedy true', 'hard cat true'],
    );
    // A different --limit makes the earlier rows unusable: everything is evaluated again.
    const fresh = caspoTable(['--models', `${sft}`, '--limit', '1', '--threads', '1', '--ep', 'cpu', '--out', join(scratch.dir, 'fresh'), '--reuse', join(out, 'calibration.json')]);
    assert.equal(fresh.status, 0, fresh.stderr);
    const freshData = JSON.parse(readFileSync(join(scratch.dir, 'fresh', 'calibration.json'), 'utf8')) as TableData;
    assert.ok(freshData.runs.every((r) => r.reusedFrom === undefined && r.report.n === 1));
  });

  it('names the missing model folders instead of running anything', () => {
    const result = caspoTable(['--models', `${TINY},${join(scratch.dir, 'no-such-model')}`, '--out', join(scratch.dir, 'never')]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no model in .*no-such-model .*--models DIR,DIR/);
    assert.equal(existsSync(join(scratch.dir, 'never')), false);
  });
});
