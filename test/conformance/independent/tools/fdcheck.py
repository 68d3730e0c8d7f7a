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
def check(c, n=40, rng=np.random.default_rng(0)):
    is_lstm = c['cell'] in ('lstm','lstm_peephole')
    P = {k: ref.T(v) for k, v in c['params'].items()}
    x = ref.T(c['x']); h0 = ref.T(c['h0']); c0 = ref.T(c['c0']) if is_lstm else None
    r = ref.compute(c)['expected_grads']
    tensors = {**{k: P[k] for k in P}, 'x': x, 'h0': h0, **({'c0': c0} if is_lstm else {})}
    worst = 0
    for _ in range(n):
        name = list(tensors)[rng.integers(len(tensors))]
        A = tensors[name]; i = rng.integers(A.size)
        old = A.flat[i]; eps = 1e-6
        A.flat[i] = old + eps; lp = lossval(c, P, x, h0, c0)
        A.flat[i] = old - eps; lm = lossval(c, P, x, h0, c0)
        A.flat[i] = old
        fd = (lp - lm) / (2 * eps)
        an = np.asarray(r[name]).flat[i]
        worst = max(worst, abs(fd - an) / max(1e-3, abs(an)))
    return worst
def check_tbptt(c, n=60, rng=np.random.default_rng(1)):
    """FD check of ref's tbptt gradients: record the value of every detached state in a forward
    with the true inputs, then difference a loss in which those states are frozen constants."""
    orig = ref.stop_gradient
    rec = []
    ref.stop_gradient = lambda h: (rec.append(np.array(h)), h)[1]
    is_lstm = c['cell'] in ('lstm', 'lstm_peephole')
    P = {k: ref.T(v) for k, v in c['params'].items()}
    x = ref.T(c['x']); h0 = ref.T(c['h0']); c0 = ref.T(c['c0']) if is_lstm else None
    lossval(c, P, x, h0, c0)
    frozen = list(rec)
    it = {'i': 0}
    def replay(h):
        v = frozen[it['i']]; it['i'] += 1; return v
    ref.stop_gradient = orig
    r = ref.compute(c)['expected_grads']
    ref.stop_gradient = replay
    tensors = {**P, 'x': x, 'h0': h0, **({'c0': c0} if is_lstm else {})}
    worst = 0
    try:
        for _ in range(n):
            name = list(tensors)[rng.integers(len(tensors))]
            A = tensors[name]; i = rng.integers(A.size); old = A.flat[i]; eps = 1e-6
            A.flat[i] = old + eps; it['i'] = 0; lp = lossval(c, P, x, h0, c0)
            A.flat[i] = old - eps; it['i'] = 0; lm = lossval(c, P, x, h0, c0)
            A.flat[i] = old
            fd = (lp - lm) / (2 * eps); an = np.asarray(r[name]).flat[i]
            worst = max(worst, abs(fd - an) / max(1e-3, abs(an)))
    finally:
        ref.stop_gradient = orig
    return worst


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
