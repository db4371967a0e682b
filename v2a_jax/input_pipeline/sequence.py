"""One place that derives every sequence length from rates and a duration.

Video frames, semantic (CLIP-rate) frames, sync frames, audio samples and latent frames all describe the same
span of time; if one of them is rounded the streams drift apart and the model is taught the wrong alignment.
`SequenceConfig` therefore computes every count exactly (with `fractions.Fraction`) and refuses a duration or
rate combination that does not divide cleanly, naming the offending stream and the step that would work.

Defaults follow MMAudio at 16 kHz: 25 fps video (also the sync-feature rate here), 8 fps semantic frames,
31.25 latent frames/s (512 audio samples per latent frame). With those defaults a duration must be a multiple
of 4 s (the least common multiple of 1/25, 1/8 and 1/31.25 s); configs that want shorter clips pick a
semantic rate that divides them (e.g. 6.25 fps for 1.28 s crops).
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction


def _exact(x: float | int | str) -> Fraction:
    # Fraction(str(...)) turns 31.25 into 125/4 exactly instead of its binary approximation.
    return Fraction(str(x))


def _lcm(a: Fraction, b: Fraction) -> Fraction:
    """Least common multiple of two positive rationals."""
    return Fraction(math.lcm(a.numerator, b.numerator), math.gcd(a.denominator, b.denominator))


@dataclasses.dataclass(frozen=True)
class SequenceConfig:
    """Lengths of every stream for clips of `duration_s` seconds.

    Attributes:
      duration_s: clip (or training crop) duration in seconds.
      sample_rate: audio samples per second.
      video_fps: decoded video frame rate; the sync features live at this rate.
      semantic_fps: rate of the low-rate semantic frame tokens (MMAudio's CLIP rate).
      latent_fps: audio latent frames per second.
    """

    duration_s: float
    sample_rate: int = 16000
    video_fps: float = 25.0
    semantic_fps: float = 8.0
    latent_fps: float = 31.25

    def __post_init__(self):
        for name in ("duration_s", "sample_rate", "video_fps", "semantic_fps", "latent_fps"):
            if not getattr(self, name) > 0:
                raise ValueError(f"SequenceConfig.{name} must be positive, got {getattr(self, name)!r}")
        for name, rate in self._rates().items():
            count = self._duration * rate
            if count.denominator != 1:
                step = 1 / rate
                raise ValueError(
                    f"SequenceConfig: {self.duration_s} s gives {float(count):g} {name} at {float(rate):g}/s, "
                    f"not a whole number; use a duration that is a multiple of {float(step):g} s "
                    f"(all streams align every {float(self.alignment_s):g} s)"
                )
        for name in ("video_fps", "latent_fps"):
            per = self._sample_rate / _exact(getattr(self, name))
            if per.denominator != 1:
                raise ValueError(
                    f"SequenceConfig: sample_rate {self.sample_rate} is not a whole number of samples per "
                    f"frame at {name}={getattr(self, name)} ({float(per):g})"
                )

    @property
    def _duration(self) -> Fraction:
        return _exact(self.duration_s)

    @property
    def _sample_rate(self) -> Fraction:
        return Fraction(int(self.sample_rate))

    def _rates(self) -> dict[str, Fraction]:
        return {
            "audio samples": self._sample_rate,
            "video frames": _exact(self.video_fps),
            "semantic frames": _exact(self.semantic_fps),
            "latent frames": _exact(self.latent_fps),
        }

    @property
    def alignment_s(self) -> Fraction:
        """Shortest time step (seconds) on which every stream has a frame boundary."""
        step = Fraction(1, 1)
        first = True
        for rate in self._rates().values():
            period = 1 / rate
            step = period if first else _lcm(step, period)
            first = False
        return step

    @property
    def num_samples(self) -> int:
        return int(self._duration * self._sample_rate)

    @property
    def num_video_frames(self) -> int:
        return int(self._duration * _exact(self.video_fps))

    @property
    def num_semantic_frames(self) -> int:
        return int(self._duration * _exact(self.semantic_fps))

    @property
    def num_latent_frames(self) -> int:
        return int(self._duration * _exact(self.latent_fps))

    @property
    def samples_per_video_frame(self) -> int:
        return int(self._sample_rate / _exact(self.video_fps))

    @property
    def samples_per_latent_frame(self) -> int:
        return int(self._sample_rate / _exact(self.latent_fps))

    def crop_starts(self, clip_duration_s: float) -> int:
        """Number of aligned start positions for a crop of this duration inside a longer clip.

        Starts are multiples of `alignment_s`, so a crop begins on a video frame, a semantic frame and a latent
        frame at once (cached latents can be cropped with the same offset as the audio they came from).
        Raises ValueError if the clip is shorter than the crop.
        """
        room = _exact(clip_duration_s) - self._duration
        if room < 0:
            raise ValueError(f"clip of {clip_duration_s} s is shorter than the {self.duration_s} s crop")
        return int(room // self.alignment_s) + 1

    def video_frames_at(self, start_s: Fraction) -> int:
        """Index of the video frame that starts at `start_s` (an aligned start)."""
        return int(start_s * _exact(self.video_fps))

    def samples_at(self, start_s: Fraction) -> int:
        """Index of the audio sample at `start_s` (an aligned start)."""
        return int(start_s * self._sample_rate)
