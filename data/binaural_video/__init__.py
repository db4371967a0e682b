"""`binaural_video`: recorded binaural video (FAIR-Play or any folder of videos) as a TFDS ArrayRecord dataset."""
