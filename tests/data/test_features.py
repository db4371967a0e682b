"""The shared TFDS clip features round-trip their arrays exactly, as the stored layout they promise."""

import numpy as np

from data import features


def test_audio_and_video_round_trip_exactly():
    rng = np.random.default_rng(0)
    audio = rng.integers(-32768, 32767, (2, 37), dtype=np.int16)
    video = rng.integers(0, 255, (3, 4, 5, 3), dtype=np.uint8)
    for feature, array in ((features.binaural_audio(37), audio), (features.video_frames(3, 4, 5), video)):
        encoded = feature.encode_example(array)
        decoded = np.asarray(feature.decode_example_np(encoded))
        assert decoded.dtype == array.dtype and decoded.shape == array.shape
        np.testing.assert_array_equal(decoded, array)
    assert isinstance(features.binaural_audio(37).encode_example(audio), bytes)  # raw bytes, not an int64 list
