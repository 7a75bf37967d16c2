"""Study: where in an image did the model look? (occlusion sensitivity, the page's heatmap)
The command is __main__.py (python -m training.explain); occlusion.py computes it."""
