"""Independent float64 reference for the recur conformance case kinds (FORMAT.md).

compute(case) -> dict with the same "expected*" fields the case format uses, computed from the
case's inputs. Gradients by HIPS autograd (reverse mode), float64 everywhere.
"""
import numpy as onp
import autograd.numpy as np
from autograd import grad
from autograd.extend import primitive, defvjp

GATES = {'rnn': 1, 'lstm': 4, 'lstm_peephole': 4, 'gru': 3}


@primitive
def stop_gradient(x):
    return x


defvjp(stop_gradient, lambda ans, x: lambda g: onp.zeros_like(g))


def T(t):
    """JSON tensor -> float64 ndarray."""
    return onp.asarray(t['data'], dtype=onp.float64).reshape(t['shape'])


def J(a):
    a = onp.asarray(a, dtype=onp.float64)
    return {'shape': list(a.shape), 'data': [float(v) for v in a.ravel()]}


def sigmoid(a):
    return 0.5 * (np.tanh(0.5 * a) + 1.0)


def act_fn(name, param):
    if name in (None, 'tanh'):
        return np.tanh
    if name == 'relu':
        return lambda a: np.where(a > 0, a, 0.0 * a)
    if name == 'sigmoid':
        return sigmoid
    if name == 'leaky_relu':
        s = 0.01 if param is None else param
        return lambda a: np.where(a > 0, a, s * a)
    if name == 'elu':
        al = 1.0 if param is None else param
        # exp on the clamped value so the unused branch never overflows
        return lambda a: np.where(a > 0, a, al * (np.exp(np.minimum(a, 0.0)) - 1.0))
    raise ValueError(name)


def param_names(cell, num_layers, bidirectional, bias):
    names = []
    for k in range(num_layers):
        for suf in (['', '_reverse'] if bidirectional else ['']):
            names += [f'weight_ih_l{k}{suf}', f'weight_hh_l{k}{suf}']
            if bias:
                names += [f'bias_ih_l{k}{suf}', f'bias_hh_l{k}{suf}']
            if cell == 'lstm_peephole':
                names += [f'peephole_i_l{k}{suf}', f'peephole_f_l{k}{suf}', f'peephole_o_l{k}{suf}']
    return names


def cell_step(cell, P, suf, x, h, c, act, reset_after, H):
    """One step. x [B,in], h,c [B,H]. Returns (h_new, c_new)."""
    Wih, Whh = P['weight_ih' + suf], P['weight_hh' + suf]
    bih = P.get('bias_ih' + suf)
    bhh = P.get('bias_hh' + suf)
    gi = np.dot(x, Wih.T)
    if bih is not None:
        gi = gi + bih
    if cell == 'gru':
        Wr, Wz, Wn = Whh[:H], Whh[H:2 * H], Whh[2 * H:]
        br = bz = bn = 0.0
        if bhh is not None:
            br, bz, bn = bhh[:H], bhh[H:2 * H], bhh[2 * H:]
        r = sigmoid(gi[:, :H] + np.dot(h, Wr.T) + br)
        z = sigmoid(gi[:, H:2 * H] + np.dot(h, Wz.T) + bz)
        if reset_after:
            n = np.tanh(gi[:, 2 * H:] + r * (np.dot(h, Wn.T) + bn))
        else:
            n = np.tanh(gi[:, 2 * H:] + np.dot(r * h, Wn.T) + bn)
        return (1.0 - z) * n + z * h, None
    a = gi + np.dot(h, Whh.T)
    if bhh is not None:
        a = a + bhh
    if cell == 'rnn':
        return act(a), None
    ai, af, ag, ao = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
    if cell == 'lstm':
        i, f, g, o = sigmoid(ai), sigmoid(af), np.tanh(ag), sigmoid(ao)
        cn = f * c + i * g
        return o * np.tanh(cn), cn
    # peephole
    pi, pf, po = P['peephole_i' + suf], P['peephole_f' + suf], P['peephole_o' + suf]
    i = sigmoid(ai + pi * c)
    f = sigmoid(af + pf * c)
    g = np.tanh(ag)
    cn = f * c + i * g
    o = sigmoid(ao + po * cn)
    return o * np.tanh(cn), cn


# How tbptt meets reverse directions and lengths (FORMAT.md only says "detached every k steps, at
# t = k, 2k, ...; no gradient crosses a chunk border"). The defaults below are the reading this
# reference uses (chunk borders in absolute time, padded steps are no computation); the
# alternatives exist only to identify what an implementation does. Defaults = the literal
# reading of FORMAT.md: padded steps carry the state unchanged (so a border inside the padding
# detaches the carried h_n / reverse h0 too), and borders sit at absolute t = k, 2k, ... for both
# directions ("no gradient crosses a chunk border").
#   TBPTT_FWD_HN:  'direct' h_n[b] is the state made at step lengths[b]-1, its gradient enters there
#                  'carry'  h_n[b] is carried through the padded steps and detached at any border
#                           t in [lengths[b], T-1]
#   TBPTT_REV:     'abs'    reverse edge (state made at step t, used at step t-1) cut when t % k == 0
#                  'procT'  cut when (T - t) % k == 0 (every k processed steps, counted from T-1)
#                  'procL'  cut when (lengths[b] - t) % k == 0 (counted from each sequence's start)
#   TBPTT_REV_H0:  'direct' the reverse h0 enters at step lengths[b]-1 with its gradient
#                  'carry'  h0 is carried through the padded steps T-1..lengths[b], cut at borders
TBPTT_FWD_HN = 'carry'
TBPTT_REV = 'abs'
TBPTT_REV_H0 = 'carry'


def _partial_detach(h, m):
    """Rows b with m[b] = 1 are detached."""
    if h is None or not onp.any(m):
        return h
    m = m.astype(onp.float64)[:, None]
    return m * stop_gradient(h) + (1.0 - m) * h


def _rev_cut(t, Tn, L, k):
    """Per-row bool: is the reverse edge from step t (producer) to step t-1 cut?"""
    if TBPTT_REV == 'abs':
        return onp.full(L.shape, t % k == 0)
    if TBPTT_REV == 'procT':
        return onp.full(L.shape, (Tn - t) % k == 0)
    if TBPTT_REV == 'procL':
        return (L - t) % k == 0
    raise ValueError(TBPTT_REV)


def run_direction(cell, P, suf, xs, h0, c0, act, reset_after, H, lengths, tbptt, reverse):
    """xs: list of T arrays [B,in]. Returns (outputs list [B,H] (0 at padding), h_n, c_n).

    Semantics: padded steps have no effect on values; h_n of the forward direction is the state
    after step lengths[b]-1; the reverse direction starts from h0 at step lengths[b]-1. tbptt=k:
    see the TBPTT_* switches above."""
    Tn = len(xs)
    L = onp.asarray(lengths)
    is_lstm = c0 is not None
    outs = [None] * Tn
    k = tbptt
    if not reverse:
        h, c = h0, c0
        hn, cn = 0.0, 0.0
        for t in range(Tn):
            if t > 0 and k and t % k == 0:
                h = stop_gradient(h)
                if is_lstm:
                    c = stop_gradient(c)
            hh, cc = cell_step(cell, P, suf, xs[t], h, c, act, reset_after, H)
            valid = (t < L).astype(onp.float64)[:, None]
            last = (t == L - 1).astype(onp.float64)[:, None]
            outs[t] = hh * valid
            hsel, csel = hh, cc
            if k and TBPTT_FWD_HN == 'carry':
                cut = onp.array([any(u % k == 0 for u in range(int(lb), Tn)) for lb in L])
                hsel = _partial_detach(hh, cut)
                csel = _partial_detach(cc, cut)
            hn = hn + hsel * last
            if is_lstm:
                cn = cn + csel * last
            h, c = hh, cc
        return outs, hn, (cn if is_lstm else None)
    else:
        h, c = h0, c0  # state produced by the previous processed step (t+1)
        if k and TBPTT_REV_H0 == 'carry':
            cut = onp.array([any(_rev_cut(u, Tn, onp.array([lb]), k)[0] for u in range(int(lb), Tn)) for lb in L])
            h0 = _partial_detach(h0, cut)
            c0 = _partial_detach(c0, cut)
        for t in range(Tn - 1, -1, -1):
            start = (t == L - 1).astype(onp.float64)[:, None]
            if t + 1 < Tn and k:
                cut = _rev_cut(t + 1, Tn, L, k)
                h = _partial_detach(h, cut)
                c = _partial_detach(c, cut)
            hin = start * h0 + (1.0 - start) * h
            cin = (start * c0 + (1.0 - start) * c) if is_lstm else None
            hh, cc = cell_step(cell, P, suf, xs[t], hin, cin, act, reset_after, H)
            valid = (t < L).astype(onp.float64)[:, None]
            outs[t] = hh * valid
            h, c = hh, cc
        # after step 0 (every sequence has length >= 1, so step 0 is valid)
        return outs, h, c


def recurrent_forward(c, P, x, h0, c0):
    cell = c['cell']
    H = c['hidden_size']
    Lk = c['num_layers']
    bid = c.get('bidirectional', False)
    D = 2 if bid else 1
    Tn, B = c['seq_len'], c['batch']
    lengths = c.get('lengths') or [Tn] * B
    tb = c.get('tbptt') or None
    act = act_fn(c.get('activation'), c.get('activation_param'))
    ra = c.get('gru_reset_after', True)
    is_lstm = cell in ('lstm', 'lstm_peephole')
    xs = [x[t] for t in range(Tn)]
    hns, cns = [], []
    for k in range(Lk):
        outs_dirs = []
        for d in range(D):
            suf = f'_l{k}' + ('_reverse' if d == 1 else '')
            idx = k * D + d
            outs, hn, cn = run_direction(cell, P, suf, xs, h0[idx], c0[idx] if is_lstm else None,
                                         act, ra, H, lengths, tb, d == 1)
            outs_dirs.append(outs)
            hns.append(hn)
            cns.append(cn)
        if D == 1:
            xs = outs_dirs[0]
        else:
            xs = [np.concatenate([outs_dirs[0][t], outs_dirs[1][t]], axis=1) for t in range(Tn)]
    out = np.stack(xs, axis=0)
    hn = np.stack(hns, axis=0)
    cn = np.stack(cns, axis=0) if is_lstm else None
    return out, hn, cn


def compute_recurrent(c):
    cell = c['cell']
    is_lstm = cell in ('lstm', 'lstm_peephole')
    names = param_names(cell, c['num_layers'], c.get('bidirectional', False), c['bias'])
    assert set(names) == set(c['params'].keys()), (names, list(c['params'].keys()))
    P0 = {n: T(c['params'][n]) for n in names}
    x = T(c['x'])
    h0 = T(c['h0'])
    c0 = T(c['c0']) if is_lstm else None
    lw = c['loss_weights']
    wo = T(lw['output'])
    wh = T(lw['h_n']) if lw.get('h_n') else None
    wc = T(lw['c_n']) if lw.get('c_n') else None

    def loss(args):
        P, xx, hh0, cc0 = args
        out, hn, cn = recurrent_forward(c, P, xx, hh0, cc0)
        L = np.sum(out * wo)
        if wh is not None:
            L = L + np.sum(hn * wh)
        if wc is not None and cn is not None:
            L = L + np.sum(cn * wc)
        return L

    out, hn, cn = recurrent_forward(c, P0, x, h0, c0)
    g = grad(loss)((P0, x, h0, c0 if is_lstm else onp.zeros(1)))
    gP, gx, gh0, gc0 = g
    res = {'expected': {'output': out, 'h_n': hn, 'c_n': cn},
           'expected_grads': {**{n: gP[n] for n in names}, 'x': gx, 'h0': gh0}}
    if is_lstm:
        res['expected_grads']['c0'] = gc0
    return res


# ---------------------------------------------------------------- clip
def compute_clip(c):
    gs = [T(t) for t in c['grads']]
    if c['mode'] == 'norm':
        tot = onp.sqrt(sum(float(onp.sum(g * g)) for g in gs))
        coef = min(1.0, c['max_norm'] / (tot + 1e-6))
        return {'expected_total_norm': tot, 'expected': [g * coef for g in gs]}
    v = c['clip_value']
    return {'expected': [onp.clip(g, -v, v) for g in gs]}


# ---------------------------------------------------------------- optimizers
DEFAULTS = {
    'sgd': dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
    'adam': dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False),
    'adamw': dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False),
    'rmsprop': dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False),
}


class Optim:
    """PyTorch's single-tensor (foreach=False) update formulas, in float64."""

    def __init__(self, name, hyper, n):
        self.name = name
        h = dict(DEFAULTS[name])
        for k, v in (hyper or {}).items():
            if k not in h:
                raise ValueError(f'{name}: unknown hyperparameter {k}')
            h[k] = v
        self.h = h
        self.t = 0
        self.state = [dict() for _ in range(n)]

    def step(self, params, grads):
        h = self.h
        self.t += 1
        t = self.t
        new = []
        for p, g, st in zip(params, grads, self.state):
            p = onp.array(p, dtype=onp.float64)
            g = onp.array(g, dtype=onp.float64)
            if self.name == 'sgd':
                if h['weight_decay'] != 0:
                    g = g + h['weight_decay'] * p
                if h['momentum'] != 0:
                    if 'buf' not in st:
                        st['buf'] = g.copy()
                    else:
                        st['buf'] = h['momentum'] * st['buf'] + (1 - h['dampening']) * g
                    if h['nesterov']:
                        g = g + h['momentum'] * st['buf']
                    else:
                        g = st['buf']
                p = p - h['lr'] * g
            elif self.name in ('adam', 'adamw'):
                b1, b2 = h['betas']
                if self.name == 'adamw':
                    p = p * (1 - h['lr'] * h['weight_decay'])
                elif h['weight_decay'] != 0:
                    g = g + h['weight_decay'] * p
                m = st.get('m', onp.zeros_like(p))
                v = st.get('v', onp.zeros_like(p))
                m = m + (g - m) * (1 - b1)  # lerp
                v = v * b2 + (1 - b2) * g * g
                st['m'], st['v'] = m, v
                bc1 = 1 - b1 ** t
                bc2 = 1 - b2 ** t
                step_size = h['lr'] / bc1
                if h['amsgrad']:
                    vm = onp.maximum(st.get('vmax', onp.zeros_like(p)), v)
                    st['vmax'] = vm
                    denom = onp.sqrt(vm) / onp.sqrt(bc2) + h['eps']
                else:
                    denom = onp.sqrt(v) / onp.sqrt(bc2) + h['eps']
                p = p - step_size * m / denom
            elif self.name == 'rmsprop':
                a = h['alpha']
                if h['weight_decay'] != 0:
                    g = g + h['weight_decay'] * p
                sq = st.get('sq', onp.zeros_like(p)) * a + (1 - a) * g * g
                st['sq'] = sq
                if h['centered']:
                    ga = st.get('ga', onp.zeros_like(p))
                    ga = ga + (g - ga) * (1 - a)
                    st['ga'] = ga
                    avg = onp.sqrt(sq - ga * ga) + h['eps']
                else:
                    avg = onp.sqrt(sq) + h['eps']
                if h['momentum'] > 0:
                    buf = st.get('buf', onp.zeros_like(p)) * h['momentum'] + g / avg
                    st['buf'] = buf
                    p = p - h['lr'] * buf
                else:
                    p = p - h['lr'] * g / avg
            else:
                raise ValueError(self.name)
            new.append(p)
        return new


def compute_optimizer(c):
    params = [T(t) for t in c['params']]
    opt = Optim(c['optimizer'], c.get('hyperparams'), len(params))
    out = []
    for gs in c['grads']:
        params = opt.step(params, [T(g) for g in gs])
        out.append([p.copy() for p in params])
    return {'expected': out}


# ---------------------------------------------------------------- training
def training_loss(c, P, x, y):
    cell = c['cell']
    H = c['hidden_size']
    Tn, B = c['seq_len'], c['batch']
    is_lstm = cell in ('lstm', 'lstm_peephole')
    h = np.zeros((B, H))
    cc = np.zeros((B, H)) if is_lstm else None
    outs = []
    for t in range(Tn):
        h, cc = cell_step(cell, P, '_l0', x[t], h, cc, np.tanh, True, H)
        outs.append(h)
    W, b = P['head.weight'], P['head.bias']
    if c['head'] == 'sequence':
        hs = np.stack(outs, 0)  # [T,B,H]
        z = np.einsum('tbh,oh->tbo', hs, W) + b
    else:
        z = np.dot(outs[-1], W.T) + b  # [B,out]
    if c['loss'] == 'mse':
        return np.mean((z - y) ** 2)
    if c['loss'] == 'bce':
        return np.mean(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z))))
    if c['loss'] == 'cross_entropy':
        zz = z.reshape(-1, z.shape[-1])
        yi = onp.asarray(y, dtype=onp.int64).reshape(-1)
        m = np.max(zz, axis=1, keepdims=True)
        lse = np.log(np.sum(np.exp(zz - m), axis=1)) + m[:, 0]
        picked = np.sum(zz * onp.eye(zz.shape[1])[yi], axis=1)
        return np.mean(lse - picked)
    raise ValueError(c['loss'])


def training_param_names(c):
    names = ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    if c['cell'] == 'lstm_peephole':
        names += ['peephole_i_l0', 'peephole_f_l0', 'peephole_o_l0']
    return names + ['head.weight', 'head.bias']


def compute_training(c):
    names = training_param_names(c)
    assert set(names) == set(c['params'].keys()), (names, list(c['params']))
    P = {n: T(c['params'][n]) for n in names}
    x = T(c['x'])
    y = T(c['y'])
    opt = Optim(c['optimizer'], c.get('hyperparams'), len(names))
    g_fn = grad(lambda PP: training_loss(c, PP, x, y))
    losses = []
    for s in range(c['steps']):
        losses.append(float(training_loss(c, P, x, y)))
        g = g_fn(P)
        gl = [g[n] for n in names]
        if c.get('clip_norm') is not None:
            tot = onp.sqrt(sum(float(onp.sum(a * a)) for a in gl))
            coef = min(1.0, c['clip_norm'] / (tot + 1e-6))
            gl = [a * coef for a in gl]
        newp = opt.step([P[n] for n in names], gl)
        P = dict(zip(names, newp))
    return {'expected_losses': losses, 'expected_params': P}


def compute(c):
    k = c['kind']
    if k == 'recurrent':
        return compute_recurrent(c)
    if k == 'clip':
        return compute_clip(c)
    if k == 'optimizer':
        return compute_optimizer(c)
    if k == 'training':
        return compute_training(c)
    raise ValueError(k)


# ---------------------------------------------------------------- comparison helpers
def flat_expected(c):
    """Yield (label, ndarray) for every expected quantity stored in case c."""
    k = c['kind']
    if k == 'recurrent':
        for f in ('output', 'h_n', 'c_n'):
            if c['expected'].get(f) is not None:
                yield f, T(c['expected'][f])
        for n, t in c['expected_grads'].items():
            yield 'grad ' + n, T(t)
    elif k == 'clip':
        if c['mode'] == 'norm':
            yield 'total_norm', onp.array([c['expected_total_norm']])
        for i, t in enumerate(c['expected']):
            yield f'grads[{i}]', T(t)
    elif k == 'optimizer':
        for s, ps in enumerate(c['expected']):
            for i, t in enumerate(ps):
                yield f'step {s} param {i}', T(t)
    elif k == 'training':
        yield 'losses', onp.array(c['expected_losses'])
        for n, t in c['expected_params'].items():
            yield 'param ' + n, T(t)


def flat_result(c, r):
    k = c['kind']
    if k == 'recurrent':
        for f in ('output', 'h_n', 'c_n'):
            if r['expected'].get(f) is not None:
                yield f, onp.asarray(r['expected'][f])
        for n, t in r['expected_grads'].items():
            yield 'grad ' + n, onp.asarray(t)
    elif k == 'clip':
        if c['mode'] == 'norm':
            yield 'total_norm', onp.array([r['expected_total_norm']])
        for i, t in enumerate(r['expected']):
            yield f'grads[{i}]', onp.asarray(t)
    elif k == 'optimizer':
        for s, ps in enumerate(r['expected']):
            for i, t in enumerate(ps):
                yield f'step {s} param {i}', onp.asarray(t)
    elif k == 'training':
        yield 'losses', onp.array(r['expected_losses'])
        for n, t in r['expected_params'].items():
            yield 'param ' + n, onp.asarray(t)


def compare(c, r):
    """Max relative-ish error of reference r vs the case's stored expected values."""
    want = dict(flat_expected(c))
    got = dict(flat_result(c, r))
    assert set(want) == set(got), (set(want) ^ set(got))
    worst = (0.0, None)
    for k, w in want.items():
        g = got[k].reshape(w.shape)
        e = onp.max(onp.abs(g - w) / (1e-12 + onp.abs(w)).clip(min=1e-3)) if w.size else 0.0
        if e > worst[0]:
            worst = (float(e), k)
    return worst


if __name__ == '__main__':
    import sys, json, glob, os
    files = []
    here = os.path.dirname(os.path.abspath(__file__))
    for a in sys.argv[1:] or [os.path.join(here, '..', '..', 'vectors')]:
        files += sorted(glob.glob(os.path.join(a, '*.json'))) if os.path.isdir(a) else [a]
    bad = 0
    for f in files:
        c = json.load(open(f))
        e, where = compare(c, compute(c))
        flag = 'OK ' if e < 1e-9 else 'BAD'
        bad += flag == 'BAD'
        print(f'{flag} {os.path.basename(f)}: max rel err {e:.3e} ({where})')
    print(f'{len(files) - bad}/{len(files)} reproduced')
