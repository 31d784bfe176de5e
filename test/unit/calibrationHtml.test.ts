// The calibration webview's page shell: a strict Content-Security-Policy (nothing by default, the
// one script by nonce, styles from the webview's own origin), no inline handlers or styles, and the
// manifest entries of the command and its setting.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { calibrationContentSecurityPolicy, calibrationHtml } from '../../src/calibrationHtml';

const root = join(__dirname, '..', '..');
/** What webview.cspSource is in VS Code and code-server. */
const CSP_SOURCE = "'self' https://*.vscode-cdn.net";
const NONCE = 'c2VjcmV0LW5vbmNlLTEyMzQ1Ng==';
const assets = {
  cspSource: CSP_SOURCE,
  nonce: NONCE,
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/calibration.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/calibration.css?a=1&b="x"',
};

function directives(csp: string): Map<string, string[]> {
  return new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
}

describe('calibration webview page', () => {
  it('has a strict Content-Security-Policy: default none, script by nonce, styles from the webview origin', () => {
    const csp = calibrationContentSecurityPolicy(CSP_SOURCE, NONCE);
    const parsed = directives(csp);
    assert.deepEqual(parsed.get('default-src'), ["'none'"]);
    assert.deepEqual(parsed.get('script-src'), [`'nonce-${NONCE}'`]);
    assert.deepEqual(parsed.get('style-src'), CSP_SOURCE.split(' '));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(csp.split(CSP_SOURCE).join(''), /\*/, "no '*' beyond the webview's own cspSource");
    const allowed = new Set(["'none'", `'nonce-${NONCE}'`, ...CSP_SOURCE.split(' ')]);
    for (const [name, values] of parsed) {
      assert.ok(!values.includes('*'), `${name} allows everything`);
      for (const value of values) assert.ok(allowed.has(value), `${name} allows ${value}`);
    }
  });

  it('puts that policy in the page, loads the script with the nonce and nothing inline', () => {
    const html = calibrationHtml(assets);
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
    assert.ok(meta, 'the page has a CSP meta tag');
    assert.equal(meta[1], calibrationContentSecurityPolicy(CSP_SOURCE, NONCE));
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0][1], new RegExp(`nonce="${NONCE}"`));
    assert.match(scripts[0][1], /src="[^"]*media\/calibration\.js"/);
    assert.equal(scripts[0][2].trim(), '', 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handlers');
    assert.doesNotMatch(html, /\sstyle=|<style/i, 'no inline styles');
    assert.match(html, /href="[^"]*calibration\.css\?a=1&amp;b=&quot;x&quot;"/, 'URIs are escaped in attributes');
  });

  it('refuses a nonce or source that would widen the policy', () => {
    assert.throws(() => calibrationContentSecurityPolicy(CSP_SOURCE, "x' 'unsafe-inline"), /nonce/);
    assert.throws(() => calibrationContentSecurityPolicy('*', NONCE), /cspSource/);
    assert.throws(() => calibrationContentSecurityPolicy("'self' 'unsafe-inline'", NONCE), /cspSource/);
    assert.throws(() => calibrationContentSecurityPolicy('https:', NONCE), /cspSource/);
    assert.throws(() => calibrationContentSecurityPolicy(`${CSP_SOURCE}; script-src *`, NONCE), /cspSource/);
  });

  it('media/calibration.js writes posted data as text, never as HTML', () => {
    const script = readFileSync(join(root, 'media', 'calibration.js'), 'utf8');
    assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  it('contributes "CASPO: Show Calibration" and caspo.calibration.problems (default 100, 10–500)', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    const command = manifest.contributes.commands.find((c: { command: string }) => c.command === 'caspo.showCalibration');
    assert.deepEqual(command, { command: 'caspo.showCalibration', title: 'Show Calibration', category: 'CASPO' });
    const setting = manifest.contributes.configuration.properties['caspo.calibration.problems'];
    assert.deepEqual([setting.type, setting.default, setting.minimum, setting.maximum], ['integer', 100, 10, 500]);
    const heldout = readFileSync(join(root, 'training', 'data', 'heldout.jsonl'), 'utf8').split('\n').filter((l) => l.trim());
    assert.equal(heldout.length, setting.maximum, 'the maximum is the size of the held-out set');
    assert.match(readFileSync(join(root, '.vscodeignore'), 'utf8'), /^!training\/data\/heldout\.jsonl$/m, 'the held-out problems ship in the VSIX');
  });
});
