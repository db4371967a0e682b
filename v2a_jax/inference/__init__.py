"""Sampling a trained generator: the jittable sampling functions (sampling.py), videos of any length through
windows of the trained duration (windows.py, generate.py)."""
