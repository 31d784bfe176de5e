// Platt scaling: the map from a raw step score (mean token entropy, geometric-mean probability, ...)
// to a calibrated probability of the step being correct, p = sigmoid(a * score + b) (design.md §4).
// Fitted by Newton's method on the log-loss plus a tiny L2 penalty on (a, b). The penalty makes the
// objective strictly convex, so the optimum is unique and finite even when the scores separate the
// classes perfectly (plain log-loss then drives |a| to infinity); a backtracking line search makes
// every step decrease it. Deterministic: same input, same map, bit for bit.

export interface PlattMap {
  a: number;
  b: number;
}

export interface PlattFit extends PlattMap {
  /** Newton iterations used. */
  iterations: number;
  /** Mean log-loss of the fitted map on the fitting data (without the penalty). */
  logLoss: number;
}

export interface PlattOptions {
  /** L2 penalty weight on a and b, added to the summed log-loss. Default 1e-3. */
  l2?: number;
  /** Default 200. */
  maxIterations?: number;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function checkScore(score: number, what: string): void {
  if (!Number.isFinite(score)) throw new RangeError(`${what} is ${score}; scores must be finite numbers`);
}

export function applyPlatt(map: PlattMap, score: number): number {
  checkScore(score, 'applyPlatt: score');
  return sigmoid(map.a * score + map.b);
}

export function fitPlatt(scores: readonly number[], correct: readonly boolean[], options: PlattOptions = {}): PlattFit {
  const l2 = options.l2 ?? 1e-3;
  const maxIterations = options.maxIterations ?? 200;
  if (scores.length !== correct.length) {
    throw new RangeError(`fitPlatt: ${scores.length} scores but ${correct.length} correctness labels; pass one label per score`);
  }
  if (scores.length === 0) throw new RangeError('fitPlatt: no (score, correct) pairs to fit');
  if (!(l2 > 0)) throw new RangeError(`fitPlatt: l2 must be > 0 (it keeps separable data finite), got ${l2}`);
  scores.forEach((s, i) => checkScore(s, `fitPlatt: score ${i}`));
  const n = scores.length;

  const logLossSum = (a: number, b: number): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const z = a * scores[i] + b;
      sum += correct[i] ? softplus(-z) : softplus(z);
    }
    return sum;
  };
  const objective = (a: number, b: number): number => logLossSum(a, b) + 0.5 * l2 * (a * a + b * b);

  let a = 0;
  let b = 0;
  let value = objective(a, b);
  for (let iteration = 1; iteration <= maxIterations; iteration++) {
    // Gradient and Hessian of the objective; 1 - p is computed as sigmoid(-z) to keep its precision.
    let ga = l2 * a;
    let gb = l2 * b;
    let haa = l2;
    let hab = 0;
    let hbb = l2;
    for (let i = 0; i < n; i++) {
      const s = scores[i];
      const z = a * s + b;
      const p = sigmoid(z);
      const q = sigmoid(-z);
      const residual = correct[i] ? -q : p;
      const w = p * q;
      ga += residual * s;
      gb += residual;
      haa += w * s * s;
      hab += w * s;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    const decrease = -(ga * da + gb * db); // the squared Newton decrement, >= 0
    if (!(decrease > 1e-12 * Math.max(1, value))) {
      return { a, b, iterations: iteration - 1, logLoss: logLossSum(a, b) / n };
    }
    let step = 1;
    let next = objective(a + da, b + db);
    while (next > value - 1e-4 * step * decrease && step > 1e-12) {
      step /= 2;
      next = objective(a + step * da, b + step * db);
    }
    if (!(next < value)) {
      // No step along the Newton direction lowers the objective: we are at its floating-point minimum.
      return { a, b, iterations: iteration, logLoss: logLossSum(a, b) / n };
    }
    a += step * da;
    b += step * db;
    value = next;
  }
  throw new Error(`fitPlatt: Newton did not converge in ${maxIterations} iterations (a=${a}, b=${b}); ` +
    'the scores may span too many orders of magnitude; rescale them or raise maxIterations');
}
