// Ordinary least squares by Householder QR, the way R's lm() does it: columns are taken in
// order, and a column that is (numerically) a combination of the columns kept before it is
// aliased and left out. Callers decide what aliasing means for them; the fit reports which
// columns were kept and a basis of the design's null space so they can test estimability.

export interface LeastSquaresFit {
  /** Per design column: kept (true) or aliased by the columns before it (false). */
  kept: boolean[];
  /** Per design column: its coefficient, NaN where aliased. */
  coefficients: number[];
  rank: number;
  /** N − rank. */
  residualDf: number;
  residualSumOfSquares: number;
  /**
   * Covariance of two kept columns' coefficients: σ̂²·(XᵀX)⁻¹ over the kept columns, with
   * σ̂² = RSS / (N − rank) (R: vcov(lm)).
   */
  covariance(i: number, j: number): number;
  /** A basis of {v : Xv = 0}: one vector (length = columns) per aliased column. */
  nullSpace: number[][];
}

/** R's default tolerance for lm(): a column is aliased when its residual norm is below tol × its norm. */
const ALIAS_TOLERANCE = 1e-7;

/**
 * Fits y = Xβ. `columns` is the design matrix by column (each of length N = y.length).
 * Throws if there are no rows or the lengths disagree; never for rank deficiency.
 */
export function leastSquares(columns: readonly ArrayLike<number>[], y: ArrayLike<number>): LeastSquaresFit {
  const n = y.length;
  const p = columns.length;
  if (n === 0 || p === 0) throw new Error('leastSquares: empty design');
  for (const c of columns) if (c.length !== n) throw new Error('leastSquares: a column has the wrong length');

  // The working copies: each column is reflected in place; the response rides along.
  const work = columns.map((c) => Float64Array.from(c));
  const qty = Float64Array.from(y);
  const keptIndex: number[] = []; // design column of the k-th kept column
  const kept = new Array<boolean>(p).fill(false);
  // For an aliased column: Qᵀx restricted to the kept rows at the time it was met.
  const aliasedTops: Array<{ column: number; top: Float64Array }> = [];

  for (let j = 0; j < p; j++) {
    const x = work[j]!;
    const k = keptIndex.length;
    let originalNorm = 0;
    for (let i = 0; i < n; i++) originalNorm += columns[j]![i]! * columns[j]![i]!;
    originalNorm = Math.sqrt(originalNorm);
    let tailNorm = 0;
    for (let i = k; i < n; i++) tailNorm += x[i]! * x[i]!;
    tailNorm = Math.sqrt(tailNorm);
    if (k >= n || originalNorm === 0 || tailNorm < ALIAS_TOLERANCE * originalNorm) {
      aliasedTops.push({ column: j, top: x.slice(0, k) });
      continue;
    }
    // Householder vector v (rows k..n-1) with (I − 2vvᵀ/vᵀv)x = (−sign(x_k)·‖x‖, 0, …).
    const alpha = x[k]! >= 0 ? -tailNorm : tailNorm;
    const v = new Float64Array(n - k);
    for (let i = k; i < n; i++) v[i - k] = x[i]!;
    v[0]! -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i]! * v[i]!;
    const reflect = (target: Float64Array): void => {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * target[k + i]!;
      const scale = (2 * dot) / vv;
      for (let i = 0; i < v.length; i++) target[k + i]! -= scale * v[i]!;
    };
    for (let jj = j; jj < p; jj++) reflect(work[jj]!);
    reflect(qty);
    keptIndex.push(j);
    kept[j] = true;
  }

  const rank = keptIndex.length;
  // R (rank × rank, upper triangular) over the kept columns.
  const r = (row: number, col: number): number => work[keptIndex[col]!]![row]!;
  const solveUpper = (rhs: ArrayLike<number>, size: number): Float64Array => {
    const out = new Float64Array(size);
    for (let i = size - 1; i >= 0; i--) {
      let s = rhs[i]!;
      for (let c = i + 1; c < size; c++) s -= r(i, c) * out[c]!;
      out[i] = s / r(i, i);
    }
    return out;
  };

  const keptCoefficients = solveUpper(qty, rank);
  const coefficients = new Array<number>(p).fill(Number.NaN);
  keptIndex.forEach((column, k) => (coefficients[column] = keptCoefficients[k]!));

  let rss = 0;
  for (let i = rank; i < n; i++) rss += qty[i]! * qty[i]!;
  const residualDf = n - rank;
  const sigma2 = rss / residualDf;

  // R⁻¹ (upper triangular), so that (XᵀX)⁻¹ = R⁻¹R⁻ᵀ.
  const rInverse: Float64Array[] = [];
  for (let c = 0; c < rank; c++) {
    const unit = new Float64Array(rank);
    unit[c] = 1;
    rInverse.push(solveUpper(unit, rank)); // column c of R⁻¹
  }
  const position = new Map(keptIndex.map((column, k) => [column, k]));
  const covariance = (i: number, j: number): number => {
    const a = position.get(i);
    const b = position.get(j);
    if (a === undefined || b === undefined) return Number.NaN;
    // (R⁻¹R⁻ᵀ)_ab = Σ_c R⁻¹[a][c]·R⁻¹[b][c]; R⁻¹[a][c] is zero for c < a.
    let s = 0;
    for (let c = Math.max(a, b); c < rank; c++) s += rInverse[c]![a]! * rInverse[c]![b]!;
    return sigma2 * s;
  };

  // Each aliased column x_c = Σ b·(kept columns before it): the null vector e_c − b.
  const nullSpace = aliasedTops.map(({ column, top }) => {
    const size = top.length;
    const b = solveUpper(top, size);
    const vector = new Array<number>(p).fill(0);
    vector[column] = 1;
    for (let k = 0; k < size; k++) vector[keptIndex[k]!] = -b[k]!;
    return vector;
  });

  return { kept, coefficients, rank, residualDf, residualSumOfSquares: rss, covariance, nullSpace };
}
