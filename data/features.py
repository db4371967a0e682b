"""The TFDS features every dataset builder of the project stores its clips with, defined once so that the
benchmark and the recorded-video builders keep one storage layout (and one decoder cost)."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds


def video_frames(num_frames: int, height: int, width: int) -> tfds.features.Tensor:
    """uint8 frames [T, H, W, 3], zlib-compressed: flat synthetic frames shrink ~10x, recorded ones less but zlib
    still pays, and decoding stays pure numpy."""
    return tfds.features.Tensor(
        shape=(num_frames, height, width, 3), dtype=np.uint8, encoding=tfds.features.Encoding.ZLIB
    )


def binaural_audio(num_samples: int) -> tfds.features.Tensor:
    """int16 PCM [2, N] (0 = left ear) as raw bytes: TFDS would otherwise store int16 as an int64 list, whose
    decoding dominated the input pipeline."""
    return tfds.features.Tensor(shape=(2, num_samples), dtype=np.int16, encoding=tfds.features.Encoding.BYTES)
