"""The ambisonics-to-binaural decoder of the BiAudio and pseudo-binaural builders, made from their config fields
of the same names (hrtf, sofa_path, head_radius_m, decoder, sample_rate), once per worker process and setting."""

from __future__ import annotations

import dataclasses

from v2a_jax.spatial import ambisonics
from v2a_jax.spatial import hrtf as hrtf_lib


@dataclasses.dataclass(frozen=True)
class DecoderConfig:
    """hrtf: 'spherical' (a spherical head of head_radius_m) or 'sofa' (measured HRIRs from sofa_path); decoder:
    'parametric' or 'linear' (v2a_jax.spatial.ambisonics.METHODS); sample_rate: Hz. Raises ValueError (one line
    naming the field) when inconsistent."""

    hrtf: str = "spherical"
    sofa_path: str = ""
    head_radius_m: float = 0.0875
    decoder: str = "parametric"
    sample_rate: int = 16000

    def __post_init__(self):
        if self.decoder not in ambisonics.METHODS:
            raise ValueError(f"decoder must be one of {ambisonics.METHODS}, got {self.decoder!r}")
        if self.hrtf not in ("spherical", "sofa") or (self.hrtf == "sofa" and not self.sofa_path):
            raise ValueError(f"hrtf must be 'spherical' or 'sofa' (with sofa_path), got {self.hrtf!r}")

    @classmethod
    def of(cls, config) -> DecoderConfig:
        """The decoder fields of a builder config (a dataclass with fields of these names)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls)})

    def make_hrtf(self):
        if self.hrtf == "sofa":
            return hrtf_lib.make_hrtf("sofa", self.sample_rate, path=self.sofa_path)
        return hrtf_lib.make_hrtf("spherical", self.sample_rate, head_radius_m=self.head_radius_m)


# Per worker process: the decoder (its HRTF grid takes a moment to design) for each setting seen.
_decoders: dict[DecoderConfig, ambisonics.BinauralDecoder] = {}


def binaural_decoder(config: DecoderConfig) -> ambisonics.BinauralDecoder:
    """The binaural decoder of `config`, made on first use in this process."""
    if config not in _decoders:
        _decoders[config] = ambisonics.BinauralDecoder(config.make_hrtf(), method=config.decoder)
    return _decoders[config]
