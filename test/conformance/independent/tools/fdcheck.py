"""A second check of ref.py's recurrent gradients, without autograd: central finite differences
in float64 of the case's loss (ref.recurrent_forward, then the loss weights) at random
coordinates of every parameter, x, h0 and c0. With tbptt the detached states cannot be
differenced directly: a first forward records them, and the differenced forwards use those
recorded values as constants (check_tbptt).

    python fdcheck.py CASE.json|DIR ...   (prints the worst relative difference per case)
"""
import sys, json, numpy as np, ref


def lossval(c, P, x, h0, c0):
    out, hn, cn = ref.recurrent_forward(c, P, x, h0, c0)
    lw = c['loss_weights']
    L = np.sum(out * ref.T(lw['output']))
    if lw.get('h_n'): L += np.sum(hn * ref.T(lw['h_n']))
    if lw.get('c_n') and cn is not None: L += np.sum(cn * ref.T(lw['c_n']))
    return L


def inputs(c):
    """The case's parameters by name, x, h0 and c0 (None without a cell state), as float64."""
    is_lstm = c['cell'] in ('lstm', 'lstm_peephole')
    P = {k: ref.T(v) for k, v in c['params'].items()}
    return P, ref.T(c['x']), ref.T(c['h0']), ref.T(c['c0']) if is_lstm else None


def worst_difference(c, grads, P, x, h0, c0, n, rng, before_forward=lambda: None):
    """Largest relative difference between `grads` and central differences of the loss at `n`
    random coordinates; `before_forward` runs before each differenced forward."""
    tensors = {**P, 'x': x, 'h0': h0, **({'c0': c0} if c0 is not None else {})}
    worst = 0
    for _ in range(n):
        name = list(tensors)[rng.integers(len(tensors))]
        A = tensors[name]; i = rng.integers(A.size); old = A.flat[i]; eps = 1e-6
        A.flat[i] = old + eps; before_forward(); lp = lossval(c, P, x, h0, c0)
        A.flat[i] = old - eps; before_forward(); lm = lossval(c, P, x, h0, c0)
        A.flat[i] = old
        fd = (lp - lm) / (2 * eps); an = np.asarray(grads[name]).flat[i]
        worst = max(worst, abs(fd - an) / max(1e-3, abs(an)))
    return worst


def check(c, n=40, seed=0):
    """FD check of ref's gradients for a case without tbptt."""
    return worst_difference(c, ref.compute(c)['expected_grads'], *inputs(c), n, np.random.default_rng(seed))


def check_tbptt(c, n=60, seed=1):
    """FD check of ref's tbptt gradients: record the value of every detached state in a forward
    with the true inputs, then difference a loss in which those states are frozen constants."""
    orig = ref.stop_gradient
    P, x, h0, c0 = inputs(c)
    rec = []
    ref.stop_gradient = lambda h: (rec.append(np.array(h)), h)[1]
    try:
        lossval(c, P, x, h0, c0)
    finally:
        ref.stop_gradient = orig
    grads = ref.compute(c)['expected_grads']
    at = {'i': 0}

    def replay(h):
        v = rec[at['i']]; at['i'] += 1; return v

    ref.stop_gradient = replay
    try:
        return worst_difference(c, grads, P, x, h0, c0, n, np.random.default_rng(seed), lambda: at.update(i=0))
    finally:
        ref.stop_gradient = orig


if __name__ == '__main__':
    import glob, os
    files = []
    for a in sys.argv[1:]:
        files += sorted(glob.glob(os.path.join(a, '*.json'))) if os.path.isdir(a) else [a]
    worst_all = 0.0
    for f in files:
        c = json.load(open(f))
        if c['kind'] != 'recurrent':
            continue
        w = check_tbptt(c) if c.get('tbptt') else check(c)
        worst_all = max(worst_all, w)
        print(f'{os.path.basename(f)}: worst relative difference {w:.2e}')
    print(f'worst over all cases: {worst_all:.2e}')
    sys.exit(1 if worst_all > 1e-5 else 0)
