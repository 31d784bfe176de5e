import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError } from './modelError';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { modelFilesIn, readModelJson } from './modelFiles';

/**
 * The model's tokenizer (tokenizer.json + tokenizer_config.json) and its chat template, so a
 * problem becomes the same prompt ids as in Python's `apply_chat_template`.
 */
export class TextTokenizer {
  private readonly chatTemplate: Template | null;
  readonly bosToken: string | null;
  readonly eosToken: string | null;

  private constructor(
    private readonly tokenizer: Tokenizer,
    tokenizerConfig: Record<string, unknown>,
    /** Where the chat template came from (named in errors). */
    private readonly configPath: string,
    /** The highest id tokenizer.json can produce (its vocabulary and added tokens); -1 when it lists none. */
    readonly highestTokenId: number,
  ) {
    this.bosToken = specialTokenText(tokenizerConfig.bos_token);
    this.eosToken = specialTokenText(tokenizerConfig.eos_token);
    const template = chatTemplateText(tokenizerConfig.chat_template, configPath);
    if (template === null) {
      this.chatTemplate = null;
    } else {
      try {
        this.chatTemplate = new Template(template);
      } catch (error) {
        throw new ModelError(
          'tokenizerInvalid',
          `${configPath}: the chat template does not parse as Jinja (${(error as Error).message}). ` +
            'Fix the template or remove it to use a plain prompt.',
          { cause: error },
        );
      }
    }
  }

  /**
   * Loads `<dir>/tokenizer.json` and `<dir>/tokenizer_config.json`. The chat template is `chat_template.jinja` beside
   * them (where newer transformers save it), else the latter's `chat_template`, else `chat_template.json`.
   */
  static load(dir: string): TextTokenizer {
    const files = modelFilesIn(dir);
    const config = readModelJson(files.tokenizerConfig, 'the tokenizer settings and chat template');
    let configPath = files.tokenizerConfig;
    const jinja = join(dir, 'chat_template.jinja');
    const json = join(dir, 'chat_template.json');
    // As transformers reads them: the .jinja file wins over the config's field, which wins over chat_template.json.
    if (isObject(config) && existsSync(jinja)) {
      config.chat_template = readFileSync(jinja, 'utf8');
      configPath = jinja;
    } else if (isObject(config) && (config.chat_template === undefined || config.chat_template === null) && existsSync(json)) {
      const saved = readModelJson(json, 'the chat template');
      config.chat_template = isObject(saved) ? saved.chat_template : saved;
      configPath = json;
    }
    return TextTokenizer.fromJson(readModelJson(files.tokenizer, 'the tokenizer'), config, files.tokenizer, configPath);
  }

  static fromJson(
    tokenizerJson: unknown,
    tokenizerConfig: unknown,
    tokenizerPath = 'tokenizer.json',
    configPath = 'tokenizer_config.json',
  ): TextTokenizer {
    if (!isObject(tokenizerConfig)) {
      throw new ModelError('tokenizerInvalid', `${configPath} is not a JSON object. Re-export the tokenizer.`);
    }
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson.model)) {
      throw new ModelError(
        'tokenizerInvalid',
        `${tokenizerPath} has no "model" object; it is not a Hugging Face tokenizer.json. Re-export the tokenizer.`,
      );
    }
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (error) {
      throw new ModelError(
        'tokenizerInvalid',
        `${tokenizerPath} could not be loaded (${(error as Error).message}). Re-export the tokenizer.`,
        { cause: error },
      );
    }
    return new TextTokenizer(tokenizer, tokenizerConfig, configPath, highestTokenId(tokenizerJson));
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== null;
  }

  /**
   * The prompt text for a problem: the chat template with one user message and the generation
   * prompt (thinking disabled), or `problem + "\n"` when the model has no template.
   */
  renderPrompt(problem: string): string {
    if (this.chatTemplate === null) return `${problem}\n`;
    try {
      return this.chatTemplate.render({
        messages: [{ role: 'user', content: problem }],
        add_generation_prompt: true,
        enable_thinking: false,
        bos_token: this.bosToken ?? '',
        eos_token: this.eosToken ?? '',
      });
    } catch (error) {
      throw new ModelError(
        'tokenizerInvalid',
        `${this.configPath}: rendering the chat template failed (${(error as Error).message}). Fix the template.`,
        { cause: error },
      );
    }
  }

  /**
   * Prompt ids for a problem. A rendered template already holds its special tokens, so it is
   * encoded without adding any; the plain fallback lets the tokenizer add its own (e.g. BOS).
   */
  encodePrompt(problem: string): number[] {
    const text = this.renderPrompt(problem);
    return this.encode(text, { addSpecialTokens: !this.hasChatTemplate });
  }

  encode(text: string, options: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: options.addSpecialTokens ?? false }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library rejects empty input
    return this.tokenizer.decode(ids as number[], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /**
   * The text token `id` adds after `contextIds` (the token before it, and those since whose bytes the stream still
   * holds: byte-level BPE splits a UTF-8 character across tokens), as the streaming detokenizer gives it: the
   * character it completes, then the rest of its text. Its own text where it adds none (the character is still
   * incomplete) or has no context. So the token that ends "é" reads "é", and another there that ends "è" reads "è".
   */
  tokenText(id: number, contextIds: readonly number[] = []): string {
    const own = this.decode([id]);
    if (contextIds.length === 0) return own;
    const before = this.decode(contextIds);
    const after = this.decode([...contextIds, id]);
    const added = after.slice(commonPrefixLength(before, after));
    return added.length > 0 ? added : own;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** A streaming decoder that gives each new token its own text. */
  createDetokenizer(options: { skipSpecialTokens?: boolean } = {}): IncrementalDetokenizer {
    return new IncrementalDetokenizer(this, options.skipSpecialTokens ?? true);
  }
}

const MAX_HELD_TOKENS = 4;

/**
 * Per-token text for streaming: a token's text = decode(context + token) − decode(context), where
 * the context is the few tokens since the last emitted text. A token that ends inside a UTF-8
 * character (byte-level BPE) gets "" and the character is emitted with the token that completes it,
 * so the concatenated per-token texts equal the decoded whole — but where a character is completed only after
 * MAX_HELD_TOKENS tokens: its bytes were shown as U+FFFD by then, and the stream keeps that before the character.
 */
export class IncrementalDetokenizer {
  private ids: number[] = [];
  private prefixOffset = 0; // start of the context window
  private readOffset = 0; // end of what has been emitted

  constructor(
    private readonly tokenizer: Pick<TextTokenizer, 'decode'>,
    private readonly skipSpecialTokens = true,
  ) {}

  /** Appends a token and returns the text it adds ("" while a character is incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const decodeOptions = { skipSpecialTokens: this.skipSpecialTokens };
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), decodeOptions);
    const fullText = this.tokenizer.decode(this.ids.slice(this.prefixOffset), decodeOptions);
    // A UTF-8 character spans at most 4 bytes, so after 4 held tokens a trailing U+FFFD is an invalid
    // byte sequence that no later token can complete: emit it rather than hold text forever.
    const incomplete = fullText.endsWith('\uFFFD') && this.ids.length - this.readOffset < MAX_HELD_TOKENS;
    if (incomplete) return '';
    // The context's text was emitted ending in U+FFFD (held MAX_HELD_TOKENS tokens) and this token completed that
    // character: the text no longer starts with what was emitted. Go on after the common part (the stream keeps the
    // U+FFFD it showed, then the completed character) rather than stall every later token on the failed check.
    const emitted = fullText.startsWith(prefixText) ? prefixText.length : commonPrefixLength(prefixText, fullText);
    if (fullText.length > emitted) {
      this.prefixOffset = this.readOffset;
      this.readOffset = this.ids.length;
      return fullText.slice(emitted);
    }
    return '';
  }

  /** Text held back at the end (an incomplete character), decoded as is. */
  flush(): string {
    const decodeOptions = { skipSpecialTokens: this.skipSpecialTokens };
    const prefixText = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), decodeOptions);
    const fullText = this.tokenizer.decode(this.ids.slice(this.prefixOffset), decodeOptions);
    this.prefixOffset = this.readOffset = this.ids.length;
    return fullText.slice(fullText.startsWith(prefixText) ? prefixText.length : commonPrefixLength(prefixText, fullText));
  }

  /** An independent copy with the same state, for a forked branch. */
  clone(): IncrementalDetokenizer {
    const copy = new IncrementalDetokenizer(this.tokenizer, this.skipSpecialTokens);
    copy.ids = this.ids.slice();
    copy.prefixOffset = this.prefixOffset;
    copy.readOffset = this.readOffset;
    return copy;
  }
}

function commonPrefixLength(a: string, b: string): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/**
 * The chat template's text: a string, or from a list of named templates (`[{name, template}]`) the one named "default";
 * null when there is none.
 */
function chatTemplateText(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value.find((entry) => isObject(entry) && entry.name === 'default');
    if (isObject(named) && typeof named.template === 'string') return named.template;
    const names = value.filter(isObject).map((entry) => JSON.stringify(entry.name)).join(', ');
    throw new ModelError(
      'tokenizerInvalid',
      `${path}: the chat templates are named ${names || '(none)'}, and none is "default", the one the engine uses. ` +
        'Name the template for plain chat "default".',
    );
  }
  throw new ModelError('tokenizerInvalid', `${path}: "chat_template" must be a string or a list of named templates, got ${typeof value}.`);
}

/** tokenizer_config.json writes special tokens as a string or as {"content": "..."}. */
function specialTokenText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The highest id in a tokenizer.json: `model.vocab` maps tokens to ids (BPE, WordPiece) or lists
 * [token, score] pairs whose index is the id (Unigram); `added_tokens` carry their own ids.
 */
function highestTokenId(json: Record<string, unknown>): number {
  let highest = -1;
  const vocab = (json.model as Record<string, unknown>).vocab;
  if (Array.isArray(vocab)) highest = vocab.length - 1;
  else if (isObject(vocab)) for (const id of Object.values(vocab)) if (typeof id === 'number' && id > highest) highest = id;
  if (Array.isArray(json.added_tokens)) {
    for (const token of json.added_tokens) if (isObject(token) && typeof token.id === 'number' && token.id > highest) highest = token.id;
  }
  return highest;
}
