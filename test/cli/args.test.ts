/** The argument parser and the terminal helpers, without a model. */
import { strict as assert } from 'node:assert';
import { parseArgs, requireUtf8Arguments, type FlagSpecs } from '../../language-server/src/cli/args';
import { confidenceBand, HIGH_CONFIDENCE, MEDIUM_CONFIDENCE } from '../../language-server/src/cli/bands';
import { UsageError } from '../../language-server/src/cli/errors';
import { briefReason, confidenceBadge, createPalette, shouldUseColor } from '../../language-server/src/cli/terminal';

const SPECS = {
  json: { kind: 'boolean', help: '' },
  model: { kind: 'string', valueName: 'DIR', help: '' },
  ep: { kind: 'choice', choices: ['auto', 'cpu'], help: '' },
  seed: { kind: 'number', valueName: 'N', integer: true, help: '' },
  'top-p': { kind: 'number', valueName: 'P', min: 0, minExclusive: true, max: 1, help: '' },
} as const satisfies FlagSpecs;

function usageError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => error instanceof UsageError && message.test(error.message));
}

describe('cli args', () => {
  it('reads booleans, values (spaced and =), choices, numbers and positionals', () => {
    const parsed = parseArgs(['--json', '--model', 'm', '--ep=cpu', '--seed', '-3', '--top-p=0.9', '2', '+', '3'], SPECS);
    assert.deepEqual(parsed.flags, { json: true, model: 'm', ep: 'cpu', seed: -3, 'top-p': 0.9 });
    assert.deepEqual(parsed.positionals, ['2', '+', '3']);
    assert.equal(parsed.help, false);
  });

  it('keeps a problem that starts with a minus sign, and everything after --', () => {
    assert.deepEqual(parseArgs(['-3 + 4'], SPECS).positionals, ['-3 + 4']);
    assert.deepEqual(parseArgs(['--', '--json'], SPECS).positionals, ['--json']);
    assert.equal(parseArgs(['-h'], SPECS).help, true);
  });

  it('rejects unknown flags, bad values, repeats and invalid UTF-8 with what is valid', () => {
    usageError(() => parseArgs(['--jsn'], SPECS), /unknown flag --jsn\. Valid flags: --json, --model, --ep, --seed, --top-p, --help/);
    usageError(() => parseArgs(['--ep', 'gpu'], SPECS), /--ep must be one of auto, cpu; got "gpu"/);
    usageError(() => parseArgs(['--seed', '1.5'], SPECS), /--seed must be an integer/);
    usageError(() => parseArgs(['--seed', '0x10'], SPECS), /--seed must be an integer/);
    usageError(() => parseArgs(['--top-p', '0'], SPECS), /--top-p must be a number in \(0, 1\]/);
    usageError(() => parseArgs(['--model'], SPECS), /--model needs a value/);
    usageError(() => parseArgs(['--model', '--json'], SPECS), /--model needs a value/);
    usageError(() => parseArgs(['--json=1'], SPECS), /--json takes no value/);
    usageError(() => parseArgs(['--json', '--json'], SPECS), /more than once/);
    usageError(() => parseArgs(['--constructor', 'x'], SPECS), /unknown flag --constructor/);
  });

  it('rejects arguments that arrived with U+FFFD (invalid UTF-8), naming their position', () => {
    usageError(() => requireUtf8Arguments(['solve', 'a\uFFFDb']), /argument 2 is not valid UTF-8/);
    assert.doesNotThrow(() => requireUtf8Arguments(['solve', 'café ×']));
  });
});

describe('cli terminal', () => {
  it('bands at the thresholds', () => {
    assert.equal(HIGH_CONFIDENCE, 0.8);
    assert.equal(MEDIUM_CONFIDENCE, 0.5);
    assert.equal(confidenceBand(0.8), 'high');
    assert.equal(confidenceBand(0.7999), 'medium');
    assert.equal(confidenceBand(0.5), 'medium');
    assert.equal(confidenceBand(0.4999), 'low');
  });

  it('colours only on a terminal without NO_COLOR', () => {
    assert.equal(shouldUseColor({ isTTY: true }, {}), true);
    assert.equal(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(shouldUseColor({ isTTY: false }, {}), false);
    assert.equal(shouldUseColor({}, {}), false);
    assert.match(confidenceBadge(0.95, createPalette(true)), /^\x1b\[32m.*high.*\x1b\[0m$/);
    assert.match(confidenceBadge(0.6, createPalette(true)), /^\x1b\[33m.*medium/);
    assert.match(confidenceBadge(0.1, createPalette(true)), /^\x1b\[31m.*low/);
    assert.doesNotMatch(confidenceBadge(0.1, createPalette(false)), /\x1b/);
    assert.match(confidenceBadge(0.5, createPalette(false)), /█████░░░░░\s+50\.0% medium/);
  });

  it('shortens provider rejection reasons to their first clause', () => {
    assert.equal(briefReason('not bundled: its provider libraries are installed only by ...'), 'not bundled');
    assert.equal(briefReason('Failed to get a WebGPU adapter: No supported adapters'), 'Failed to get a WebGPU adapter');
  });
});
