"""Study: does a model find tumours, or read the sequence a collection happened to use?
The command is __main__.py (python -m training.sequence_probe); probe.py computes it."""
