import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** GPT-2's byte → printable character map used by ByteLevel tokenizers. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const chars: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(printable.includes(b) ? b : 256 + extra++);
  return chars;
}

/** The contract's byte-level tokenizer: id = byte, then <|pad|>=256, <|bos|>=257, <|eos|>=258, no merges. */
export function byteLevelTokenizerJson(): object {
  const vocab: Record<string, number> = {};
  bytesToUnicode().forEach((char, byte) => (vocab[char] = byte));
  const special = (id: number, content: string) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(256, '<|pad|>'), special(257, '<|bos|>'), special(258, '<|eos|>')],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [] },
  };
}

export const CONTRACT_CHAT_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}Problem: {{ message['content'] }}\n" +
  '{% endif %}{% endfor %}{% if add_generation_prompt %}Solution:\n{% endif %}';

export function byteLevelTokenizerConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { bos_token: '<|bos|>', eos_token: { content: '<|eos|>' }, pad_token: '<|pad|>', chat_template: CONTRACT_CHAT_TEMPLATE, ...overrides };
}

export function validConfigJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'llama', vocab_size: 259, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, head_dim: 16, bos_token_id: 257, eos_token_id: 258, pad_token_id: 256,
    max_position_embeddings: 512, ...overrides,
  };
}

/** A temporary model folder; `files` maps relative paths to JSON values or raw strings. */
export function makeModelFolder(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'caspo-model-'));
  for (const [relative, content] of Object.entries(files)) {
    const path = join(dir, relative);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}
