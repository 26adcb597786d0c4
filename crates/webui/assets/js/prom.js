// Prometheus / OpenMetrics text parsing and histogram quantiles for the Server page.

/** Map of metric name to [{ labels, value }]. */
export function parseProm(text) {
  const out = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[3]) for (const lm of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    const value = m[4] === '+Inf' ? Infinity : Number(m[4]);
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value });
  }
  return out;
}

/** The single (or summed) value of a metric; 0 when absent. */
export function scalar(metrics, name) {
  return (metrics.get(name) || []).reduce((a, s) => a + s.value, 0);
}

/** A histogram's cumulative buckets: [[le, count]] sorted by le. */
export function buckets(metrics, name) {
  return (metrics.get(`${name}_bucket`) || [])
    .map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((a, b) => a[0] - b[0]);
}

/** Bucket counts of `now` minus `before` (observations in between). */
export function diffBuckets(now, before) {
  if (!before) return now;
  return now.map(([le, c], i) => [le, c - (before[i]?.[1] || 0)]);
}

/** Prometheus' histogram_quantile: linear inside the bucket; null without observations. */
export function quantile(q, bks) {
  if (!bks.length) return null;
  const total = bks[bks.length - 1][1];
  if (!total) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of bks) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      const inBucket = count - prevCount;
      return inBucket ? prevLe + (le - prevLe) * ((rank - prevCount) / inBucket) : le;
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}
