// Side-by-side diff of two JSON values: lines of their pretty-printed text
// matched by longest common subsequence; changed line pairs also get their
// changed words marked, so a sentence added to a description stands out.

/** Pretty JSON with keys sorted, so that only real changes show. */
export function pretty(value) {
  const sort = (v) => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])]));
    return v;
  };
  return JSON.stringify(sort(value), null, 2);
}

/** Longest-common-subsequence alignment of two arrays: [['same'|'del'|'add', a, b], ...]. */
export function align(a, b, eq = (x, y) => x === y) {
  const n = a.length;
  const m = b.length;
  // Too large to compare cell by cell: show it all as replaced.
  if (n * m > 4_000_000) return [...a.map((x) => ['del', x, null]), ...b.map((y) => ['add', null, y])];
  const dp = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      dp[i][j] = eq(a[i], b[j]) ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (eq(a[i], b[j])) out.push(['same', a[i++], b[j++]]);
    else if (dp[i + 1][j] >= dp[i][j + 1]) out.push(['del', a[i++], null]);
    else out.push(['add', null, b[j++]]);
  }
  while (i < n) out.push(['del', a[i++], null]);
  while (j < m) out.push(['add', null, b[j++]]);
  return out;
}

/**
 * Rows for a side-by-side view: {left, right, kind} where kind is 'same', 'change'
 * (a deleted line next to an added one), 'del' or 'add'; null marks an empty side.
 */
export function sideBySide(before, after) {
  const ops = align(before.split('\n'), after.split('\n'));
  const rows = [];
  for (let k = 0; k < ops.length; ) {
    if (ops[k][0] === 'same') {
      rows.push({ left: ops[k][1], right: ops[k][2], kind: 'same' });
      k++;
      continue;
    }
    const dels = [];
    const adds = [];
    while (k < ops.length && ops[k][0] !== 'same') {
      if (ops[k][0] === 'del') dels.push(ops[k][1]);
      else adds.push(ops[k][2]);
      k++;
    }
    for (let r = 0; r < Math.max(dels.length, adds.length); r++) {
      const left = r < dels.length ? dels[r] : null;
      const right = r < adds.length ? adds[r] : null;
      rows.push({ left, right, kind: left !== null && right !== null ? 'change' : left !== null ? 'del' : 'add' });
    }
  }
  return rows;
}

/** Words (and the spaces between them) of two lines, each marked as kept or changed. */
export function wordDiff(left, right) {
  const split = (s) => s.match(/\s+|[^\s]+/g) || [];
  const ops = align(split(left), split(right));
  const l = [];
  const r = [];
  for (const [kind, a, b] of ops) {
    if (kind === 'same') {
      l.push([a, false]);
      r.push([b, false]);
    } else if (kind === 'del') l.push([a, true]);
    else r.push([b, true]);
  }
  return { left: l, right: r };
}
