"""Fixtures of the recorded-video builder tests: folders of real-format media written by the test itself.

`recorded_folder` (session): 12 short good videos covering H.264/AAC mp4, VP9/Opus webm and MJPEG avi with
side-car wav/flac, 10 / 25 / 29.97 fps, 16:9 (64x36) and 4:3 (48x36) frames, 44.1 and 48 kHz audio, plus one
file of every bad kind (`media_fixtures.BAD_KINDS`). `fairplay_folder` (session): FAIR-Play's layout (videos/,
binaural_audios/, splits/split1/*.h5 and PseudoBinaural's new_splits/split1/*.txt) over a handful of clips.
"""

from __future__ import annotations

import pytest

from tests.data import media_fixtures as mf


@pytest.fixture(scope="session")
def recorded_folder(tmp_path_factory):
    """(folder, {key: Good}, {bad kind: path})."""
    folder = str(tmp_path_factory.mktemp("recorded"))
    good = {}
    for row in mf.GOOD:
        good[row[0]] = mf.write_good(folder, *row)
    bad = {kind: mf.write_bad(kind, folder) for kind in mf.BAD_KINDS}
    return folder, good, bad


@pytest.fixture(scope="session")
def fairplay_folder(tmp_path_factory):
    """`media_fixtures.write_fairplay` in a fresh folder; returns the folder."""
    return mf.write_fairplay(str(tmp_path_factory.mktemp("fairplay")))
