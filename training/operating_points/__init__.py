"""Study: which tumour-probability cut-offs give which sensitivity and specificity, and where the
page's result levels sit. The command is __main__.py (python -m training.operating_points);
thresholds.py computes them."""
