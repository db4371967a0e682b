"""ClipConfig, the base of the recorded-video builder configs: its fields reach the ClipSpec, a builder's own
field of a ClipSpec name does not, and the `builder` metadata is every field, JSON-able."""

import dataclasses
import json

from data.video_folder import clips
from data.video_folder.builder import ClipConfig


@dataclasses.dataclass(eq=False)
class _Config(ClipConfig):
    clip_s: float = 2.0  # a redeclared default
    silence_dbfs: float = -45.0  # the builder's own meaning (a window filter), not ClipSpec's file check
    shares: tuple = (0.5, 0.5)


def test_clip_fields_and_the_builders_own_reach_the_spec():
    config = _Config(name="t", hop_s=1.0, fps=10.0, width=96, loudness="peak", loudness_db=-3.0)
    spec = config.clip_spec(channels=4, resize_mode="letterbox")
    assert spec == clips.ClipSpec(
        clip_s=2.0,
        hop_s=1.0,
        min_clip_s=8.0,
        fps=10.0,
        width=96,
        loudness="peak",
        loudness_db=-3.0,
        channels=4,
        resize_mode="letterbox",
    )
    assert spec.silence_dbfs == clips.ClipSpec().silence_dbfs


def test_describe_is_every_field_but_the_version_bookkeeping_and_json_able():
    config = _Config(name="t", description="a test", version="1.0.0", tags=["x"])
    described = config.describe()
    assert set(described) == {f.name for f in dataclasses.fields(config)} - {
        "version",
        "release_notes",
        "supported_versions",
        "tags",
    }
    assert json.loads(json.dumps(described)) == described and described["shares"] == [0.5, 0.5]
    assert described["name"] == "t" and described["clip_s"] == 2.0 and described["silence_dbfs"] == -45.0
