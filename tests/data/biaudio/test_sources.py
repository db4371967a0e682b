"""The input folder layout shared by the BiAudio and pseudo-binaural builders (files are only listed here)."""

import json
import os

from data.biaudio import sources


def touch(path, text=""):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_splits_sidecars_and_label_captions(tmp_path):
    root = str(tmp_path)
    touch(f"{root}/a.mp4")
    touch(f"{root}/a.flac")
    touch(f"{root}/a.labels.json", json.dumps({"visible": ["dog"], "invisible": ["car", "wind"]}))
    touch(f"{root}/test/b.webm")
    touch(f"{root}/validation/deep/c.MOV")
    touch(f"{root}/train_extra/d.mkv")  # not a split folder name: train
    touch(f"{root}/notes.txt")
    touch(f"{root}/e.mp4")
    touch(f"{root}/e.labels.json", "[1, 2]")  # malformed: listed as a skip, the video left out
    splits, listed = sources.list_video_sources(root)
    assert {k: [s.key for s in v] for k, v in splits.items()} == {
        "train": ["a", "train_extra/d"],
        "test": ["test/b"],
        "validation": ["validation/deep/c"],
    }
    a = splits["train"][0]
    assert a.audio == f"{root}/a.flac"
    assert a.caption == "Visible sound: dog. Invisible sound: car, wind."
    assert splits["test"][0].audio == "" and splits["test"][0].caption == ""
    assert listed == [
        {
            "file": f"{root}/e.mp4",
            "reason": 'labels file e.labels.json: expected {"visible": [names], "invisible": [names]}',
        }
    ]


def test_a_top_level_video_named_like_a_split_is_train(tmp_path):
    touch(f"{tmp_path}/test.mp4")
    splits, _ = sources.list_video_sources(str(tmp_path))
    assert [s.key for s in splits["train"]] == ["test"]
