// Where a rewritten document differs from its input, as spans to mark.
// The rewriter changes only phone numbers and leaves every other byte as
// it was, so the two texts are walked side by side. When what is left of
// both has the same length (a number written in the same shape: only
// digits change) a difference is one character; otherwise the nearest
// point where both agree again ends it. Changes separated only by digits
// and separators belong to one number, and each is widened to the whole
// number around it, so "(800) 555-1234" is marked whole.

const SEP = /^[0-9+\-.()\s\u00a0/]*$/;
const LEFT = /[0-9+\-.()\u00a0/ ]/;

// Returns [{inStart, inEnd, outStart, outEnd}] (code unit offsets).
export function changes(input, output) {
  const raw = [];
  let i = 0, j = 0;
  while (i < input.length || j < output.length) {
    if (i < input.length && j < output.length && input[i] === output[j]) { i++; j++; continue; }
    let a = 1, b = 1;
    if (input.length - i !== output.length - j) [a, b] = resync(input, i, output, j);
    raw.push({ inStart: i, inEnd: i + a, outStart: j, outEnd: j + b });
    i += a;
    j += b;
  }
  const merged = [];
  for (const c of raw) {
    const last = merged[merged.length - 1];
    if (last && SEP.test(output.slice(last.outEnd, c.outStart))) {
      last.inEnd = c.inEnd;
      last.outEnd = c.outEnd;
    } else merged.push({ ...c });
  }
  for (const c of merged) {
    while (c.inStart > 0 && c.outStart > 0 && LEFT.test(input[c.inStart - 1])
      && input[c.inStart - 1] === output[c.outStart - 1]) { c.inStart--; c.outStart--; }
    while (c.inStart < c.inEnd && /\s/.test(input[c.inStart])) { c.inStart++; c.outStart++; }
    while (c.inEnd < input.length && c.outEnd < output.length && /[0-9]/.test(input[c.inEnd])
      && input[c.inEnd] === output[c.outEnd]) { c.inEnd++; c.outEnd++; }
  }
  return merged;
}

// The smallest [a, b] after which input[i+a..] and output[j+b..] agree
// for 6 characters (or both end).
function resync(input, i, output, j) {
  const W = 6;
  for (let k = 1; k <= 160; k++) {
    for (let a = 0; a <= k; a++) {
      const b = k - a;
      const ri = input.length - (i + a), ro = output.length - (j + b);
      if (ri < 0 || ro < 0) continue;
      const n = Math.min(W, ri);
      if ((ri < W && ri !== ro) || ro < n) continue;
      if (input.substr(i + a, n) === output.substr(j + b, n)) return [a, b];
    }
  }
  return [input.length - i, output.length - j];
}
