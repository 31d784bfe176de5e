"""The embedded model's byte-level tokenizer, written in the Hugging Face `tokenizer.json` format.

Ids 0-255 are the bytes themselves (so Python encodes with ``text.encode()``), followed by three
special tokens. Any UTF-8 text round-trips.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|eos|>"
PAD_ID, BOS_ID, EOS_ID = 256, 257, 258
VOCAB_SIZE = 259

# Render the prompt exactly as the engine does: the chat template below, no extra special tokens.
PROMPT_PREFIX = "Problem: "
PROMPT_SUFFIX = "\nSolution:\n"
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "Problem: {{ message['content'] }}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Solution:\n{% endif %}"
)


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character table (the ByteLevel pre-tokenizer's)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def encode(text: str) -> List[int]:
    return list(text.encode("utf-8"))


def decode(ids: List[int]) -> str:
    return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def prompt_ids(problem: str) -> List[int]:
    return [BOS_ID] + encode(PROMPT_PREFIX + problem.strip() + PROMPT_SUFFIX)


def tokenizer_json() -> dict:
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    special = [(PAD, PAD_ID), (BOS, BOS_ID), (EOS, EOS_ID)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for s, i in special
        ],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {
            "type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
            "vocab": vocab, "merges": [],
        },
    }


def tokenizer_config() -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "pad_token": PAD,
        "add_bos_token": False,
        "add_eos_token": False,
        "model_max_length": 512,
        "clean_up_tokenization_spaces": False,
        "chat_template": CHAT_TEMPLATE,
        "added_tokens_decoder": {
            str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                     "single_word": False, "special": True}
            for s, i in [(PAD, PAD_ID), (BOS, BOS_ID), (EOS, EOS_ID)]
        },
    }


def write_tokenizer(folder: Path) -> None:
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json(), ensure_ascii=False, indent=1))
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(), indent=2))
