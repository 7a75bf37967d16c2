// cyrb53, a fast 53-bit hash, and what it keys: the model's version (the worker's cache key) and,
// on the page, the bytes of a file added twice (contentKey). Only keys, so no need for
// crypto.subtle (which plain-http hosts other than localhost do not offer). DOM-free, tested by Node.

/** `length` values, read by `at(i)` (char codes or bytes) -> the two 32-bit halves [h1, h2]. */
export function cyrb53(length, at) {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < length; i += 1) {
    const c = at(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}

/**
 * The model's version: metadata.version when the converter records one, else a hash of
 * metadata.json (a retrained model comes with new metrics, so new metadata).
 */
export function modelVersion(metadata, text) {
  if (metadata.version != null) return String(metadata.version);
  const [h1, h2] = cyrb53(text.length, (i) => text.charCodeAt(i));
  return (4294967296 * (2097151 & h2) + h1).toString(36);
}

/** A content key for spotting the same bytes added twice: size and two 32-bit hashes. */
export function contentKey(bytes) {
  const [h1, h2] = cyrb53(bytes.length, (i) => bytes[i]);
  return `${bytes.length}:${h1.toString(36)}:${h2.toString(36)}`;
}
