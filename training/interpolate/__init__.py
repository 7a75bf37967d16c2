"""Study: does blending a fine-tuned model with the one it started from keep the best of both?
The command is __main__.py (python -m training.interpolate); blend.py blends and judges."""
