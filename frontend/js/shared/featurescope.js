// The feature scope: how far an image's features (one layer's feature map, averaged over the
// image) lie from the training images'. The JavaScript twin of mri/feature_scope.py, which says
// how it is built; training/feature_scope.py writes metadata.json's `feature_scope` block.

/** metadata.feature_scope when it is usable, else null (older metadata: no such check). */
export function featureScopeBlock(metadata) {
  const b = metadata?.feature_scope;
  const usable = b && typeof b.node === "string" && Array.isArray(b.means) && Array.isArray(b.components) &&
    Array.isArray(b.scales) && b.scales.length === b.components.length && Number.isFinite(b.cutoff) &&
    Number.isFinite(b.residual_scale) && b.means.length > 0;
  return usable ? b : null;
}

/**
 * The block's node output (a feature map, channels last, or its average) and the block ->
 * {distance, outOfScope, reason}: the Mahalanobis distance to the nearest class mean per
 * dimension, beyond the cut-off or not, and why there is no verdict when it is.
 */
export function featureScope(values, block) {
  const size = block.means[0].length;
  const positions = values.length / size;
  const features = new Float64Array(size);
  for (let p = 0; p < positions; p += 1) for (let j = 0; j < size; j += 1) features[j] += values[p * size + j];
  for (let j = 0; j < size; j += 1) features[j] /= positions;
  let best = Infinity;
  for (const mean of block.means) {
    const d = features.map((v, j) => v - mean[j]);
    let total = 0;
    for (let j = 0; j < size; j += 1) total += d[j] * d[j];
    let projected = 0;
    let scaled = 0;
    block.components.forEach((component, i) => {
      let p = 0;
      for (let j = 0; j < size; j += 1) p += component[j] * d[j];
      projected += p * p;
      scaled += (p * block.scales[i]) ** 2;
    });
    best = Math.min(best, scaled + Math.max(total - projected, 0) * block.residual_scale ** 2);
  }
  const distance = Math.sqrt(best / size);
  const outOfScope = distance > block.cutoff;
  const reason = outOfScope
    ? `The image is unlike the MRI slices the model was trained on (feature distance ${distance.toFixed(2)} ` +
      `above the cut-off ${block.cutoff.toFixed(2)}); it may not be a brain MRI slice.`
    : null;
  return { distance, outOfScope, reason };
}
