"""Study: how well does a model do on a collection it never saw? (leave one collection out)
The command is __main__.py (python -m training.loco); folds.py trains and judges one fold."""
