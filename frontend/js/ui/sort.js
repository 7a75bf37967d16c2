// The results table's order: its columns and the value each sorts by. DOM-free, tested by Node.

// Result levels from least to most concern, for sorting.
const LEVEL_ORDER = Object.freeze({ "not-mri": 0, none: 1, possible: 2, likely: 3 });

/** A result's concern: by level, then tumour probability within a level (the probability is below 1). */
export const concernOf = ({ level, tumorProbability }) => LEVEL_ORDER[level] + tumorProbability;

// Table columns and the value each sorts by; rows without a value (pending, failed) sort last.
export const SORT_KEYS = Object.freeze({
  name: (row) => row.name,
  verdict: (row) => (row.result ? concernOf(row.result) : undefined),
  tumour: (row) => row.result?.tumorProbability,
  type: (row) => row.result?.likelyType ?? undefined,
  ms: (row) => row.result?.ms,
  status: (row) => row.status,
});

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

/** A sorted copy of the table rows; direction 1 ascending, -1 descending; ties keep file order. */
export function sortRows(rows, key, direction = 1) {
  const value = SORT_KEYS[key];
  if (!value) throw new Error(`Unknown sort key ${key}; known: ${Object.keys(SORT_KEYS).join(", ")}`);
  return rows
    .map((row, index) => ({ row, index, v: value(row) }))
    .sort((a, b) => {
      if (a.v === undefined || b.v === undefined) {
        return (a.v === undefined) - (b.v === undefined) || a.index - b.index;
      }
      const order = typeof a.v === "string" ? collator.compare(a.v, b.v) : a.v - b.v;
      return order * direction || a.index - b.index;
    })
    .map(({ row }) => row);
}
