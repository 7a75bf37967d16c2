// A module loaded on first use: `onFirstUse(() => import("./x.js"))` returns a function that
// starts the import once and hands every caller the same promise (a failed import is tried again).
export function onFirstUse(load) {
  let loading = null;
  return () => (loading ??= load().catch((err) => {
    loading = null;
    throw err;
  }));
}
