"""A small Llama-layout causal LM (RMSNorm, RoPE, grouped-query attention, SwiGLU).

The same module trains (full causal forward) and exports (KV-cache forward in the layout of the
Hugging Face ONNX exports: input_ids, attention_mask, position_ids, past_key_values.{i}.key|value
-> logits, present.{i}.key|value). Written for torch 1.13 (Debian) and torch 2.x alike.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_VALUE = -1e9  # not -inf: a fully masked row must not become NaN


@dataclass
class ModelConfig:
    vocab_size: int = 259
    hidden_size: int = 256
    intermediate_size: int = 640
    num_hidden_layers: int = 6
    num_attention_heads: int = 8
    num_key_value_heads: int = 4
    max_position_embeddings: int = 512
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def hf_config(self, bos: int, eos: int, pad: int) -> dict:
        cfg = asdict(self)
        cfg.update({
            "model_type": "llama",
            "architectures": ["LlamaForCausalLM"],
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "attention_bias": False,
            "mlp_bias": False,
            "bos_token_id": bos,
            "eos_token_id": eos,
            "pad_token_id": pad,
            "torch_dtype": "float32",
            "use_cache": True,
        })
        return cfg


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Rotary(nn.Module):
    def __init__(self, head_dim: int, theta: float):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq  # [B, S, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)  # [B, 1, S, D]


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d, h, kv, hd = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(d, h * hd, bias=False)
        self.k_proj = nn.Linear(d, kv * hd, bias=False)
        self.v_proj = nn.Linear(d, kv * hd, bias=False)
        self.o_proj = nn.Linear(h * hd, d, bias=False)

    def forward(self, x, cos, sin, mask, past: Optional[Tuple[torch.Tensor, torch.Tensor]]):
        cfg = self.cfg
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, cfg.num_attention_heads, cfg.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, cfg.num_key_value_heads, cfg.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, cfg.num_key_value_heads, cfg.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat((past[0], k), dim=2)
            v = torch.cat((past[1], v), dim=2)
        present = (k, v)
        groups = cfg.num_attention_heads // cfg.num_key_value_heads
        if groups > 1:
            k = repeat_kv(k, groups)
            v = repeat_kv(v, groups)
        if mask is None and hasattr(F, "scaled_dot_product_attention"):
            out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(cfg.head_dim)
            if mask is None:
                mask = causal_mask(s, s, x.device)
            scores = scores + mask
            out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.transpose(1, 2).reshape(b, s, cfg.num_attention_heads * cfg.head_dim)
        return self.o_proj(out), present


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask, past):
        attn, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + attn
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


def repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    """[B, KV, T, D] -> [B, KV*groups, T, D]; expand+reshape keeps every dim dynamic in the export."""
    b, kv, t, d = x.shape
    return x.unsqueeze(2).expand(b, kv, groups, t, d).reshape(b, kv * groups, t, d)


def causal_mask(q_len: int, k_len: int, device) -> torch.Tensor:
    past = k_len - q_len
    rows = torch.arange(q_len, device=device).unsqueeze(1) + past
    cols = torch.arange(k_len, device=device).unsqueeze(0)
    allowed = (cols <= rows).to(torch.float32)
    return (1.0 - allowed) * MASK_VALUE


class CausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        self.rotary = Rotary(cfg.head_dim, cfg.rope_theta)
        self.apply(self._init)

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Training forward: full causal attention, no cache."""
        b, s = input_ids.shape
        positions = torch.arange(s, device=input_ids.device).unsqueeze(0).expand(b, s)
        cos, sin = self.rotary(positions)
        x = self.embed_tokens(input_ids)
        for layer in self.layers:
            x, _ = layer(x, cos, sin, None, None)
        return self.lm_head(self.norm(x))

    def forward_cached(self, input_ids, attention_mask, position_ids, past: List[Tuple[torch.Tensor, torch.Tensor]]):
        """Inference forward in the export layout. attention_mask covers past + current tokens."""
        s = input_ids.shape[1]
        k_len = attention_mask.shape[1]
        cos, sin = self.rotary(position_ids)
        causal = causal_mask(s, k_len, input_ids.device)  # [S, K]
        padding = (1.0 - attention_mask.to(torch.float32)) * MASK_VALUE  # [B, K]
        mask = causal.unsqueeze(0).unsqueeze(0) + padding.unsqueeze(1).unsqueeze(1)
        x = self.embed_tokens(input_ids)
        presents = []
        for layer, layer_past in zip(self.layers, past):
            x, present = layer(x, cos, sin, mask, layer_past)
            presents.append(present)
        return self.lm_head(self.norm(x)), presents

    def empty_past(self, batch: int, device=None, dtype=torch.float32):
        cfg = self.cfg
        shape = (batch, cfg.num_key_value_heads, 0, cfg.head_dim)
        return [(torch.zeros(shape, device=device, dtype=dtype), torch.zeros(shape, device=device, dtype=dtype))
                for _ in range(cfg.num_hidden_layers)]


class ExportWrapper(nn.Module):
    """Flat positional signature for torch.onnx.export."""

    def __init__(self, model: CausalLM):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *flat_past):
        past = [(flat_past[2 * i], flat_past[2 * i + 1]) for i in range(len(flat_past) // 2)]
        logits, presents = self.model.forward_cached(input_ids, attention_mask, position_ids, past)
        flat = [t for kv in presents for t in kv]
        return (logits, *flat)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
