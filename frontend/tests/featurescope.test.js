import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import { featureScope, featureScopeBlock } from "../js/shared/featurescope.js";

// Two features, two class means; one principal direction (x, variance 4), the rest variance 1.
const BLOCK = { node: "n", layer: "l", means: [[0, 0], [10, 0]], components: [[1, 0]], scales: [0.5],
  residual_scale: 1, cutoff: 1 };

describe("feature scope", () => {
  it("measures the whitened distance to the nearest class mean, per dimension", () => {
    const { distance, outOfScope, reason } = featureScope(Float32Array.of(1, 1), BLOCK);
    assert.ok(Math.abs(distance - Math.sqrt((0.25 + 1) / 2)) < 1e-12);
    assert.equal(outOfScope, false);
    assert.equal(reason, null);
    assert.ok(Math.abs(featureScope(Float32Array.of(9, 1), BLOCK).distance - distance) < 1e-12); // the other class
  });

  it("averages a feature map (channels last) over its positions first", () => {
    assert.equal(featureScope(Float32Array.of(0, 2, 2, 0), BLOCK).distance, featureScope(Float32Array.of(1, 1), BLOCK).distance);
  });

  it("withholds beyond the cut-off and says why", () => {
    const far = featureScope(Float32Array.of(10, 5), BLOCK);
    assert.equal(far.outOfScope, true);
    assert.equal(far.reason, "The image is unlike the MRI slices the model was trained on (feature distance 3.54 " +
      "above the cut-off 1.00); it may not be a brain MRI slice.");
  });

  it("reads a usable block only", () => {
    assert.equal(featureScopeBlock({ feature_scope: BLOCK }), BLOCK);
    assert.equal(featureScopeBlock({}), null);
    assert.equal(featureScopeBlock({ feature_scope: { ...BLOCK, cutoff: null } }), null);
    assert.equal(featureScopeBlock({ feature_scope: { ...BLOCK, scales: [] } }), null);
  });

  it("finds the shipped block's node in the shipped graph", () => {
    const metadata = JSON.parse(readFileSync(new URL("../model/metadata.json", import.meta.url), "utf8"));
    const block = featureScopeBlock(metadata);
    if (!block) return; // a model whose metadata has no feature_scope: nothing to check
    const graph = JSON.parse(readFileSync(new URL("../model/model.json", import.meta.url), "utf8"));
    assert.ok(graph.modelTopology.node.some((n) => n.name === block.node), block.node);
    assert.equal(block.components[0].length, block.means[0].length);
  });
});
