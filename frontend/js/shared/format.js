// How figures read on the page and in its CSV-free sentences. DOM-free, tested by Node.

/**
 * 0.1234 -> "12.3 %" (narrow no-break space before the sign). A value that would round to 100
 * or 0 without being it shows as "> 99.9 %" or "< 0.1 %": 99.997 % is not certainty.
 */
export function percent(p, digits = 1) {
  const step = 10 ** -digits;
  const text = (p * 100).toFixed(digits);
  if (p < 1 && Number(text) >= 100) return `>\u00a0${(100 - step).toFixed(digits)}\u202f%`;
  if (p > 0 && Number(text) <= 0) return `<\u00a0${step.toFixed(digits)}\u202f%`;
  return `${text}\u202f%`;
}
