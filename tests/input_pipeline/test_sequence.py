from fractions import Fraction

import pytest

from v2a_jax.input_pipeline.sequence import SequenceConfig


def test_mmaudio_8s_lengths():
    seq = SequenceConfig(duration_s=8.0)
    assert seq.num_samples == 128_000
    assert seq.num_video_frames == 200
    assert seq.num_semantic_frames == 64  # MMAudio: CLIP 8 fps -> 64 tokens for 8 s
    assert seq.num_latent_frames == 250  # MMAudio: 250 latent frames for 8 s at 16 kHz
    assert seq.samples_per_latent_frame == 512
    assert seq.samples_per_video_frame == 640


def test_streams_cover_the_same_time():
    seq = SequenceConfig(duration_s=1.28, semantic_fps=6.25)
    assert seq.num_samples / seq.sample_rate == pytest.approx(1.28)
    assert seq.num_video_frames / seq.video_fps == pytest.approx(1.28)
    assert seq.num_latent_frames * seq.samples_per_latent_frame == seq.num_samples
    assert seq.num_video_frames * seq.samples_per_video_frame == seq.num_samples


@pytest.mark.parametrize(
    "kwargs, stream",
    [
        (dict(duration_s=2.0), "latent frames"),  # 62.5 latent frames
        (dict(duration_s=1.28), "semantic frames"),  # 10.24 semantic frames at 8 fps
        (dict(duration_s=1.0, video_fps=30.0, latent_fps=25.0, semantic_fps=5.0), "samples per frame"),
    ],
)
def test_misaligned_configs_are_refused(kwargs, stream):
    with pytest.raises(ValueError, match=stream.split()[0]):
        SequenceConfig(**kwargs)


def test_alignment_is_a_common_frame_boundary():
    seq = SequenceConfig(duration_s=1.6, semantic_fps=6.25)
    step = seq.alignment_s
    assert step == Fraction(4, 25)  # lcm(1/25, 1/31.25, 1/6.25) = 0.16 s
    for rate in (seq.video_fps, seq.latent_fps, seq.semantic_fps, seq.sample_rate):
        assert (step * Fraction(str(rate))).denominator == 1


def test_crop_starts():
    seq = SequenceConfig(duration_s=1.6, semantic_fps=6.25)
    assert seq.crop_starts(2.0) == 3  # starts at 0, 0.16, 0.32 s
    assert seq.crop_starts(1.6) == 1
    with pytest.raises(ValueError, match="shorter"):
        seq.crop_starts(1.0)


def test_non_positive_values_are_refused():
    with pytest.raises(ValueError, match="duration_s"):
        SequenceConfig(duration_s=0)
