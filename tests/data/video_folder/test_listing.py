"""The shared source listing: suffixes in any case, path order, an excluded folder, keys and side-cars by stem."""

import os

from data.video_folder import listing


def _touch(root, *names):
    for name in names:
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()


def test_files_are_listed_recursively_in_path_order_without_the_excluded_folder(tmp_path):
    root = str(tmp_path)
    _touch(root, "b.mp4", "a.MOV", "notes.txt", "z/c.webm", "y/d.mkv", "audio/e.mp4", "audio/e.wav")
    assert listing.files(root, listing.VIDEO_SUFFIXES, exclude=os.path.join(root, "audio")) == [
        f"{root}/a.MOV",
        f"{root}/b.mp4",
        f"{root}/y/d.mkv",
        f"{root}/z/c.webm",
    ]
    assert listing.files(root, listing.AUDIO_SUFFIXES) == [f"{root}/audio/e.wav"]
    assert listing.key(f"{root}/y/d.mkv", root) == "y/d"


def test_sidecars_and_stems_match_the_path_without_suffix(tmp_path):
    root = str(tmp_path)
    _touch(root, "a.mp4", "a.flac", "a.wav", "b.mp4", "sub/a.mp4")
    assert listing.sidecars(f"{root}/a.mp4") == [f"{root}/a.wav", f"{root}/a.flac"]
    assert listing.sidecars(f"{root}/b.mp4") == [] and listing.sidecars(f"{root}/sub/a.mp4") == []
    assert listing.sidecar(f"{root}/sub/a.b.mp4", ".labels.json") == f"{root}/sub/a.b.labels.json"
    assert listing.stem(" clips/000123.mp3\n") == "000123"
    assert listing.by_stem([f"{root}/a.mp4", f"{root}/b.mp4", f"{root}/sub/a.mp4"]) == {
        "a": [f"{root}/a.mp4", f"{root}/sub/a.mp4"],
        "b": [f"{root}/b.mp4"],
    }
