"""Builds the pseudo-binaural dataset from a folder of ordinary videos (see pseudo_binaural_dataset_builder.py):

python -m data.pseudo_binaural.build --input_dir=DIR --data_dir=DIR --config=small [--num_workers=N]
"""

import sys

from data.pseudo_binaural.pseudo_binaural_dataset_builder import BUILDER_CONFIGS, PseudoBinaural
from data.video_folder import cli

if __name__ == "__main__":
    sys.exit(cli.main(PseudoBinaural, BUILDER_CONFIGS, sys.argv[1:], prog="python -m data.pseudo_binaural.build"))
