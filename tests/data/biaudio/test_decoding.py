"""The decoder settings shared by the BiAudio and pseudo-binaural configs: checks, fields taken from a builder
config, one decoder per setting and process."""

import dataclasses

import pytest

from data.biaudio import decoding
from data.biaudio.biaudio_dataset_builder import BiAudioConfig
from data.pseudo_binaural.pseudo_binaural_dataset_builder import PseudoBinauralConfig


@pytest.mark.parametrize(
    "change,match",
    [
        (dict(decoder="ambisonic"), "decoder must be one of"),
        (dict(hrtf="kemar"), "hrtf must be"),
        (dict(hrtf="sofa"), r"with sofa_path"),
    ],
)
def test_bad_settings_name_the_field(change, match):
    with pytest.raises(ValueError, match=match):
        decoding.DecoderConfig(**change)
    for config in (BiAudioConfig(name="t"), PseudoBinauralConfig(name="t")):  # the builders' check() runs it
        with pytest.raises(ValueError, match=match):
            dataclasses.replace(config, **change).check()


def test_fields_come_from_the_builder_config_and_each_setting_has_one_decoder():
    config = PseudoBinauralConfig(name="t", head_radius_m=0.1, sample_rate=8000, decoder="linear")
    settings = decoding.DecoderConfig.of(config)
    assert settings == decoding.DecoderConfig(hrtf="spherical", head_radius_m=0.1, decoder="linear", sample_rate=8000)
    first = decoding.binaural_decoder(settings)
    assert decoding.binaural_decoder(decoding.DecoderConfig.of(config)) is first
    assert decoding.binaural_decoder(dataclasses.replace(settings, head_radius_m=0.08)) is not first
