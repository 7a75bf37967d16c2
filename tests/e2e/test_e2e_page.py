"""What a person sees on the page, beyond the answers themselves: a batch frees its tensors,
result levels, failures, folder imports, multi-frame files, phones and the keyboard."""
from __future__ import annotations

from tests.e2e.harness import some_slices


def test_a_batch_and_its_heatmap_leave_no_tensor_behind(app):
    """TF.js tensors before and after classifying a batch through the page and drawing a heatmap:
    a leak would grow with every file of a folder of hundreds."""
    png, jpeg = some_slices()
    before = app.page.evaluate("window.classifier.memory()")
    batch = [(f"{i}-{s.name}", s.data) for i in range(3) for s in (png, jpeg)]
    app.upload(batch)
    app.wait_for_batch(len(batch))
    app.wait_for_heatmap()
    after = app.page.evaluate("window.classifier.memory()")
    assert after["numTensors"] == before["numTensors"], (before, after)
    assert after["numBytes"] == before["numBytes"], (before, after)
