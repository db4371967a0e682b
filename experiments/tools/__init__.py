"""Studies and evaluation scripts run on demand (`python -m experiments.tools.NAME`)."""
