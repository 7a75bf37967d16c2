"""Study: how well do the per-slice answers on whole volumes agree with the expert masks?
The command is __main__.py (python -m training.volume_report); mask_agreement.py computes it."""
