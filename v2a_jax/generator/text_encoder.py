"""Caption condition: a word tokeniser over the benchmark's caption vocabulary and a small learned encoder.

The benchmark's captions are templates over class labels ("Visible sound: flute, bell. Invisible sound:
none."), so a closed word vocabulary covers them in ~15 tokens (a byte vocabulary would need ~60). Captions
arrive as UTF-8 bytes; `Tokenizer` lower-cases them, splits words and the punctuation marks , . : ; and maps
each to its id: ids are BOS, the tokens, then PAD up to `max_len`; words outside the vocabulary map to UNK.
The empty caption (BOS alone) is the "no caption" condition used when the text is dropped for classifier-free
guidance, as MMAudio uses the CLIP features of the empty string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from v2a_jax.generator import layers

PAD_ID, BOS_ID, UNK_ID = 0, 1, 2
NUM_SPECIAL = 3
_TOKEN = re.compile(r"[^\s,.:;]+|[,.:;]")


class Tokenizer:
    """Captions -> int32 ids [len(captions), max_len] over `words` (ids 3.. in order; 0 PAD, 1 BOS, 2 UNK)."""

    def __init__(self, words: Sequence[str], max_len: int):
        words = [w.lower() for w in words]
        if len(set(words)) != len(words):
            raise ValueError(f"text_encoder.Tokenizer: the vocabulary has repeated words: {words}")
        if max_len < 1:
            raise ValueError(f"text_encoder.Tokenizer: max_len must be >= 1, got {max_len}")
        self._ids = {w: NUM_SPECIAL + i for i, w in enumerate(words)}
        self.max_len = max_len
        self.vocab_size = NUM_SPECIAL + len(words)

    def __call__(self, captions: Sequence[bytes | str]) -> np.ndarray:
        ids = np.full((len(captions), self.max_len), PAD_ID, np.int32)
        ids[:, 0] = BOS_ID
        for i, caption in enumerate(captions):
            text = caption.decode("utf-8") if isinstance(caption, (bytes, np.bytes_)) else str(caption)
            tokens = [self._ids.get(w, UNK_ID) for w in _TOKEN.findall(text.lower())][: self.max_len - 1]
            ids[i, 1 : 1 + len(tokens)] = tokens
        return ids


def empty_caption_ids(batch: int, max_len: int) -> jax.Array:
    """ids [batch, max_len] of the empty caption (the dropped-text condition)."""
    return jnp.zeros((batch, max_len), jnp.int32).at[:, 0].set(BOS_ID)


class TextEncoder(nn.Module):
    """ids [B, L] int32 -> (tokens [B, L, width], mask [B, L] bool: True on BOS and caption tokens).

    Learned token embedding + learned position embedding + `depth` pre-LN transformer layers that ignore PAD.
    """

    vocab_size: int
    max_len: int
    width: int
    depth: int
    num_heads: int
    dtype: jnp.dtype = jnp.float32
    execution: layers.Execution = layers.Execution()

    @nn.compact
    def __call__(self, ids: jax.Array) -> tuple[jax.Array, jax.Array]:
        if ids.shape[-1] != self.max_len:
            raise ValueError(f"TextEncoder: caption ids have length {ids.shape[-1]}, expected max_len={self.max_len}")
        mask = ids != PAD_ID
        embed = nn.Embed(
            self.vocab_size,
            self.width,
            dtype=self.dtype,
            name="embed",
            embedding_init=layers.boxed(nn.initializers.normal(0.02), ("vocab", "embed")),
        )
        pos = self.param(
            "position", layers.boxed(nn.initializers.normal(0.02), ("length", "embed")), (self.max_len, self.width)
        )
        x = embed(ids) + pos.astype(self.dtype)
        x = layers.constrain(x, ("batch", "length", "embed"))
        for i in range(self.depth):
            x = layers.TransformerLayer(self.num_heads, dtype=self.dtype, execution=self.execution, name=f"layer{i}")(
                x, key_mask=mask
            )
        return layers.LayerNorm(self.dtype, name="final_norm")(x), mask
