r"""Builds `binaural_video` from a folder of recorded videos with Apache Beam, then summarises it.

    python -m data.binaural_video.build --input_dir=DIR --data_dir=DIR --config=fairplay_split1 --num_workers=2

Flags, runners and exit statuses: data/video_folder/cli.py; configs and layouts: README.md next to this file.
"""

from __future__ import annotations

import sys

from data.binaural_video.binaural_video_dataset_builder import BUILDER_CONFIGS, BinauralVideo
from data.video_folder import cli

if __name__ == "__main__":
    sys.exit(cli.main(BinauralVideo, BUILDER_CONFIGS, sys.argv[1:], prog="python -m data.binaural_video.build"))
