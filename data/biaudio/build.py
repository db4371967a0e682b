"""Builds BiAudio from a folder of 360-degree videos with FOA (see biaudio_dataset_builder.py):

python -m data.biaudio.build --input_dir=DIR --data_dir=DIR --config=small [--num_workers=N]
"""

import sys

from data.biaudio.biaudio_dataset_builder import BUILDER_CONFIGS, BiAudio
from data.video_folder import cli

if __name__ == "__main__":
    sys.exit(cli.main(BiAudio, BUILDER_CONFIGS, sys.argv[1:], prog="python -m data.biaudio.build"))
