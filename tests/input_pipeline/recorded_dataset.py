"""A tiny dataset of "recordings" in the stored layout every recorded-video builder writes (the project's contract):
`video` [T, 24, 32, 3] uint8 (non-square), `audio` [2, N] int16, `caption` '' (no captions), `clip_id`, `start_s`,
`gain_db`, metadata `clip` / `audio_scale` / `field_of_view_deg` / `ground_truth: false`, and no ground-truth
features. Written here, independently of the project's builders, so the truth-free paths are tested on their own.

Each clip: a bright blob on a dark textured background that sits left or right of the centre, and noise bursts
rendered with an integer interaural delay towards the blob's side (left ear leads for a blob on the left).
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

DURATION_S, SAMPLE_RATE, FPS = 1.28, 16000, 25.0
HEIGHT, WIDTH = 24, 32
NUM_FRAMES, NUM_SAMPLES = int(DURATION_S * FPS), int(DURATION_S * SAMPLE_RATE)
DELAY_SAMPLES = 6  # ~375 us: a source well to one side
SPLITS = {"train": 8, "validation": 2, "test": 3}
GAIN_DB = -3.0


def side_of(split: str, index: int) -> int:
    """+1: blob and sound on the left, -1: on the right (alternating, so every split has both)."""
    return 1 if (index + len(split)) % 2 == 0 else -1


def make_example(split: str, index: int) -> dict:
    rng = np.random.default_rng([len(split), index])
    side = side_of(split, index)
    video = rng.integers(10, 40, size=(NUM_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    x0 = 4 if side > 0 else WIDTH - 10
    video[:, 9:15, x0 : x0 + 6] = 255
    mono = rng.normal(0.0, 0.1, NUM_SAMPLES + DELAY_SAMPLES) * (np.arange(NUM_SAMPLES + DELAY_SAMPLES) % 8000 < 5000)
    lead, lag = mono[DELAY_SAMPLES:], mono[:NUM_SAMPLES]  # `lag` is `lead` delayed by DELAY_SAMPLES
    audio = np.stack([lead, lag] if side > 0 else [lag, lead])
    return {
        "video": video,
        "audio": np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16),
        "caption": "",
        "clip_id": f"{split}/clip{index:03d}@0",
        "start_s": np.float32(0.0),
        "gain_db": np.float32(GAIN_DB),
    }


class RecordedTiny(tfds.core.GeneratorBasedBuilder):
    """Truth-free recordings in the stored layout (module docstring)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Test fixture."}

    def _info(self) -> tfds.core.DatasetInfo:
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "video": tfds.features.Tensor(
                        shape=(NUM_FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8, encoding=tfds.features.Encoding.ZLIB
                    ),
                    "audio": tfds.features.Tensor(shape=(2, NUM_SAMPLES), dtype=np.int16),
                    "caption": tfds.features.Text(),
                    "clip_id": tfds.features.Text(),
                    "start_s": np.float32,
                    "gain_db": np.float32,
                }
            ),
            disable_shuffling=True,
            metadata=tfds.core.MetadataDict(
                {
                    "clip": {
                        "duration_s": DURATION_S,
                        "sample_rate": SAMPLE_RATE,
                        "fps": FPS,
                        "height": HEIGHT,
                        "width": WIDTH,
                        "resize_mode": "crop",
                    },
                    "audio_scale": 1.0 / 32767.0,
                    "field_of_view_deg": 90.0,
                    "ground_truth": False,
                    "builder": {"layout": "test"},
                }
            ),
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {split: self._generate_examples(split, n) for split, n in SPLITS.items()}

    def _generate_examples(self, split: str, num_clips: int):
        for i in range(num_clips):
            yield i, make_example(split, i)


def build(data_dir: str) -> str:
    """Builds `recorded_tiny` into data_dir (ArrayRecord); returns data_dir."""
    RecordedTiny(data_dir=data_dir).download_and_prepare(file_format="array_record")
    return data_dir
