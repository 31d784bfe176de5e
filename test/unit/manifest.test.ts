import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseServerSettings } from '../../language-server/src/host/settings';
import {
  CONFIDENCE_BANDS,
  CONFIDENCE_METRICS,
  EXECUTION_PROVIDERS,
  MAX_CAT_BRANCHES,
  MAX_CAT_WIDTH,
  MAX_CPU_THREADS,
  REASONING_SCHEME,
  SEARCH_STRATEGIES,
} from '../../src/protocol';

const root = join(__dirname, '..', '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const properties: Record<string, Record<string, unknown>> = manifest.contributes.configuration.properties;
const defaultOf = (key: string) => properties[`caspo.${key}`].default;

describe('extension manifest (package.json)', () => {
  it('gives every setting a default and a description', () => {
    for (const [key, schema] of Object.entries(properties)) {
      assert.ok('default' in schema, `${key} has no default`);
      assert.ok(typeof (schema.markdownDescription ?? schema.description) === 'string', `${key} has no description`);
    }
  });

  it('activates for a reasoning document, also one VS Code restores after a reload before anything else activated it', () => {
    // Resolving a caspo-reasoning: URI with no content provider yet fires onFileSystem:<scheme>.
    assert.deepEqual(manifest.activationEvents, [`onLanguage:${REASONING_SCHEME}`, `onFileSystem:${REASONING_SCHEME}`]);
  });

  it('offers exactly the execution providers and metrics the protocol knows', () => {
    assert.deepEqual(properties['caspo.executionProvider'].enum, [...EXECUTION_PROVIDERS]);
    assert.deepEqual(properties['caspo.confidenceMetric'].enum, [...CONFIDENCE_METRICS]);
    assert.deepEqual(properties['caspo.strategy'].enum, [...SEARCH_STRATEGIES]);
  });

  it('declares the upper limits the client and the server enforce', () => {
    assert.equal(properties['caspo.cpuThreads'].maximum, MAX_CPU_THREADS);
    assert.equal(properties['caspo.cat.branches'].maximum, MAX_CAT_BRANCHES);
    assert.equal(properties['caspo.cat.width'].maximum, MAX_CAT_WIDTH);
  });

  it('lets machine-specific settings differ per machine (Settings Sync)', () => {
    for (const key of ['modelPath', 'executionProvider', 'cpuThreads']) assert.equal(properties[`caspo.${key}`].scope, 'machine-overridable', key);
  });

  it('has defaults the server accepts', () => {
    const settings = parseServerSettings({
      modelDir: '/embedded',
      executionProvider: defaultOf('executionProvider'),
      cpuThreads: defaultOf('cpuThreads'),
      bands: { high: defaultOf('confidenceBands.high'), medium: defaultOf('confidenceBands.medium') },
      warningThreshold: defaultOf('warningThreshold'),
      maxTokens: defaultOf('maxTokens'),
      temperature: defaultOf('temperature'),
      metric: defaultOf('confidenceMetric'),
      stepDelimiter: defaultOf('stepDelimiter'),
      strategy: defaultOf('strategy'),
      cat: {
        branches: defaultOf('cat.branches'),
        width: defaultOf('cat.width'),
        threshold: defaultOf('cat.threshold'),
        thresholdPercentile: defaultOf('cat.thresholdPercentile'),
        budget: defaultOf('cat.budget'),
        temperature: defaultOf('cat.temperature'),
        firstCandidate: defaultOf('cat.firstCandidate'),
        branchBelow: defaultOf('cat.branchBelow'),
      },
    });
    assert.equal(settings.stepDelimiter, '\n');
    assert.equal(settings.cpuThreads, 0, 'automatic thread count by default');
    assert.equal(defaultOf('modelPath'), '', 'an empty model path means the embedded model');
  });

  it('restricts the model path in untrusted workspaces', () => {
    assert.equal(manifest.capabilities.untrustedWorkspaces.supported, 'limited');
    assert.deepEqual(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations, ['caspo.modelPath']);
  });

  it('draws each band with icons in the colours the theme colours default to', () => {
    for (const band of CONFIDENCE_BANDS) {
      const color = manifest.contributes.colors.find((c: { id: string }) => c.id === `caspo.confidence.${band}`);
      assert.ok(color, `caspo.confidence.${band} is not contributed`);
      for (const theme of ['light', 'dark'] as const) {
        const svg = readFileSync(join(root, 'media', `confidence-${band}-${theme}.svg`), 'utf8');
        assert.ok(svg.includes(color.defaults[theme]), `media/confidence-${band}-${theme}.svg does not use ${color.defaults[theme]}`);
      }
    }
  });

  it('puts "Solve with CASPO" in the editor context menu for selections only', () => {
    const titles = Object.fromEntries(manifest.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
    assert.equal(titles['caspo.solve'], 'Solve with CASPO');
    const [entry] = manifest.contributes.menus['editor/context'];
    assert.equal(entry.command, 'caspo.solve');
    assert.match(entry.when, /editorHasSelection/);
  });
});
