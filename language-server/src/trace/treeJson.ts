import type { GeneratedToken } from '../decoding/rowDecoder';
import { validateSampling, type SamplingOptions } from '../decoding/sampling';
import { isStepMetric } from '../decoding/stepConfidence';
import type { StopReason } from '../decoding/stopping';
import { ReasoningTree, type NodeStatus, type NodeStep, type PruneReason, type ReasoningTreeJSON, type TreeNode, type TreeSettings } from './tree';

const STATUSES: readonly NodeStatus[] = ['kept', 'pruned', 'flagged', 'completed'];
const PRUNE_REASONS: readonly PruneReason[] = ['threshold', 'width', 'budget'];
const STOP_REASONS: readonly StopReason[] = ['eos', 'answer', 'maxTokens', 'cancelled'];

/**
 * The tree as plain JSON with floats rounded to 6 digits (probabilities, confidences, scores): the
 * form `caspo solve --json` prints and a client stores. `treeFromJSON` reads it back.
 */
export function treeToRoundedJSON(tree: ReasoningTree): ReasoningTreeJSON {
  const json = tree.toJSON();
  for (const node of json.nodes) {
    node.confidence = round6(node.confidence);
    node.rawScore = round6(node.rawScore);
    node.pathScore = round6(node.pathScore);
    for (const step of node.steps ?? []) {
      step.confidence = round6(step.confidence);
      step.rawScore = round6(step.rawScore);
    }
    for (const token of node.tokens) {
      token.prob = round6(token.prob);
      token.logProb = round6(token.logProb);
      token.entropy = round6(token.entropy);
      token.maxProb = round6(token.maxProb);
      for (const top of token.topK) {
        top.prob = round6(top.prob);
        top.logProb = round6(top.logProb);
      }
    }
  }
  return json;
}

/**
 * Rebuilds a tree from its JSON (a server that kept it, a file). Every field is checked; an error
 * names the node and the field that is wrong.
 */
export function treeFromJSON(raw: unknown): ReasoningTree {
  const json = asObject(raw, 'the reasoning tree');
  const tree = new ReasoningTree(settingsFrom(json.settings));
  if (!Array.isArray(json.nodes) || json.nodes.length === 0) throw new Error('reasoning tree JSON: "nodes" must be a non-empty array');
  json.nodes.forEach((value, i) => tree.add(nodeFrom(value, `node ${i}`)));
  return tree;
}

function settingsFrom(raw: unknown): TreeSettings {
  const s = asObject(raw, 'reasoning tree JSON: "settings"');
  const where = (field: string) => `reasoning tree JSON: settings.${field}`;
  if (!isStepMetric(s.metric)) throw new Error(`${where('metric')} is not a step metric`);
  if (s.scoring !== 'confidence' && s.scoring !== 'logProb') throw new Error(`${where('scoring')} must be "confidence" or "logProb"`);
  const sampling = asObject(s.sampling, where('sampling')) as unknown as SamplingOptions;
  if (sampling.kind !== 'greedy' && sampling.kind !== 'sample') throw new Error(`${where('sampling.kind')} must be "greedy" or "sample"`);
  validateSampling(sampling);
  if (s.branchBelow !== undefined && !(typeof s.branchBelow === 'number' && s.branchBelow >= 0 && s.branchBelow <= 1)) {
    throw new Error(`${where('branchBelow')} must be a number from 0 to 1 when present`);
  }
  return {
    strategy: asString(s.strategy, where('strategy')),
    promptIds: asIntegers(s.promptIds, where('promptIds')),
    maxNewTokens: asInteger(s.maxNewTokens, where('maxNewTokens')),
    stepDelimiter: asString(s.stepDelimiter, where('stepDelimiter')),
    stopAtAnswerLine: asBoolean(s.stopAtAnswerLine, where('stopAtAnswerLine')),
    metric: s.metric,
    scoring: s.scoring,
    sampling:
      sampling.kind === 'greedy'
        ? { kind: 'greedy' }
        : {
            kind: 'sample',
            temperature: sampling.temperature,
            topP: sampling.topP,
            seed: sampling.seed,
            ...(sampling.greedyFirst === true ? { greedyFirst: true } : {}),
          },
    ...(s.branchBelow !== undefined ? { branchBelow: s.branchBelow as number } : {}),
  };
}

function nodeFrom(raw: unknown, what: string): TreeNode {
  const n = asObject(raw, `reasoning tree JSON: ${what}`);
  const where = (field: string) => `reasoning tree JSON: ${what} (${JSON.stringify(n.id)}) field "${field}"`;
  if (!STATUSES.includes(n.status as NodeStatus)) throw new Error(`${where('status')} must be one of ${STATUSES.join(', ')}`);
  if (n.prunedBy !== undefined && !PRUNE_REASONS.includes(n.prunedBy as PruneReason)) {
    throw new Error(`${where('prunedBy')} must be one of ${PRUNE_REASONS.join(', ')}`);
  }
  if (n.stopReason !== null && !STOP_REASONS.includes(n.stopReason as StopReason)) {
    throw new Error(`${where('stopReason')} must be null or one of ${STOP_REASONS.join(', ')}`);
  }
  if (n.origin !== 'search' && n.origin !== 'expansion') throw new Error(`${where('origin')} must be "search" or "expansion"`);
  if (n.parentId !== null && typeof n.parentId !== 'string') throw new Error(`${where('parentId')} must be a string or null`);
  if (!Array.isArray(n.tokens)) throw new Error(`${where('tokens')} must be an array`);
  const node: TreeNode = {
    id: asString(n.id, where('id')),
    parentId: n.parentId as string | null,
    depth: asInteger(n.depth, where('depth')),
    candidate: asInteger(n.candidate, where('candidate')),
    draws: asIntegers(n.draws, where('draws')),
    text: asString(n.text, where('text')),
    tokenIds: asIntegers(n.tokenIds, where('tokenIds')),
    tokens: n.tokens.map((token, i) => tokenFrom(token, `${where('tokens')}[${i}]`)),
    confidence: asNumber(n.confidence, where('confidence')),
    rawScore: asNumber(n.rawScore, where('rawScore')),
    status: n.status as NodeStatus,
    flagged: asBoolean(n.flagged, where('flagged')),
    pathScore: asNumber(n.pathScore, where('pathScore')),
    prefixTokenCount: asInteger(n.prefixTokenCount, where('prefixTokenCount')),
    stopReason: n.stopReason as StopReason | null,
    origin: n.origin,
  };
  if (n.prunedBy !== undefined) node.prunedBy = n.prunedBy as PruneReason;
  if (n.cutOff !== undefined) {
    if (n.cutOff !== true) throw new Error(`${where('cutOff')} must be true when present`);
    node.cutOff = true;
  }
  if (node.tokens.length !== node.tokenIds.length || node.tokens.some((t, i) => t.id !== node.tokenIds[i])) {
    throw new Error(`${where('tokens')} must list the same ids as tokenIds`);
  }
  if (n.steps !== undefined) {
    if (!Array.isArray(n.steps) || n.steps.length < 2) throw new Error(`${where('steps')} must be an array of two or more steps when present`);
    node.steps = n.steps.map((step, i) => nodeStepFrom(step, `${where('steps')}[${i}]`, node.tokens.length));
  }
  return node;
}

function nodeStepFrom(raw: unknown, where: string, tokenCount: number): NodeStep {
  const s = asObject(raw, where);
  const tokenIndices = asIntegers(s.tokenIndices, `${where}.tokenIndices`);
  if (tokenIndices.some((i) => i < 0 || i >= tokenCount)) throw new Error(`${where}.tokenIndices must index the node's ${tokenCount} tokens`);
  const step: NodeStep = {
    text: asString(s.text, `${where}.text`),
    tokenIndices,
    confidence: asNumber(s.confidence, `${where}.confidence`),
    rawScore: asNumber(s.rawScore, `${where}.rawScore`),
  };
  if (s.cutOff !== undefined) {
    if (s.cutOff !== true) throw new Error(`${where}.cutOff must be true when present`);
    step.cutOff = true;
  }
  return step;
}

function tokenFrom(raw: unknown, where: string): GeneratedToken {
  const t = asObject(raw, where);
  if (!Array.isArray(t.topK)) throw new Error(`${where}.topK must be an array`);
  return {
    id: asInteger(t.id, `${where}.id`),
    text: asString(t.text, `${where}.text`),
    prob: asNumber(t.prob, `${where}.prob`),
    logProb: asNumber(t.logProb, `${where}.logProb`),
    entropy: asNumber(t.entropy, `${where}.entropy`),
    maxProb: asNumber(t.maxProb, `${where}.maxProb`),
    topK: t.topK.map((top, i) => {
      const o = asObject(top, `${where}.topK[${i}]`);
      return { id: asInteger(o.id, `${where}.topK[${i}].id`), prob: asNumber(o.prob, `${where}.topK[${i}].prob`), logProb: asNumber(o.logProb, `${where}.topK[${i}].logProb`) };
    }),
  };
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where} must be an object`);
  return value as Record<string, unknown>;
}

function asString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new Error(`${where} must be a string`);
  return value;
}

function asBoolean(value: unknown, where: string): boolean {
  if (typeof value !== 'boolean') throw new Error(`${where} must be a boolean`);
  return value;
}

function asNumber(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`${where} must be a finite number`);
  return value;
}

function asInteger(value: unknown, where: string): number {
  if (!Number.isSafeInteger(value)) throw new Error(`${where} must be an integer`);
  return value as number;
}

function asIntegers(value: unknown, where: string): number[] {
  if (!Array.isArray(value) || !value.every((x) => Number.isSafeInteger(x))) throw new Error(`${where} must be an array of integers`);
  return value.slice() as number[];
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
