"""Generates random conformance cases (FORMAT.md) with expected values from ref.py.

    python gen.py [OUTDIR] [--seed N]   (numpy and autograd: pip install numpy autograd)

Every input tensor is drawn in float32 and stored as the exact float64 value. Each case is
screened for conditioning: its inputs are perturbed by a relative 1e-7 (about 2 float32 ulps) and the expected values
recomputed; a case whose expected values move by more than 20% of the tolerance is redrawn
(so that a float32 implementation can reasonably meet the tolerance), as are cases with values
out of a sane range.
"""
import json
import os
import sys
import copy
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref  # noqa: E402

TOL = {
    'recurrent': {'rtol': 0.0001, 'atol': 1e-05},
    'clip': {'rtol': 1e-05, 'atol': 1e-06},
    'optimizer': {'rtol': 0.0001, 'atol': 1e-06},
    'training': {'rtol': 0.0002, 'atol': 2e-05},
}


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


class G:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def u(self, shape, s):
        return f32(self.rng.uniform(-s, s, size=shape))

    def choice(self, xs):
        return xs[self.rng.integers(len(xs))]


def J(a):
    return ref.J(a)


# ------------------------------------------------------------------ recurrent
def make_recurrent(g, name, cell, H, I, Tn, B, L=1, bid=False, bias=True, tbptt=None, lengths=None,
                   act=None, act_param=None, reset_after=True, wscale=None, garbage=1.0,
                   no_h_n_weight=False):
    G_ = ref.GATES[cell]
    D = 2 if bid else 1
    is_lstm = cell in ('lstm', 'lstm_peephole')
    if wscale is None:
        wscale = 0.5 if H <= 9 else max(0.2, 1.0 / np.sqrt(H))
        if cell == 'rnn' and act in ('relu', 'leaky_relu', 'elu'):
            wscale = min(wscale, 0.45 if H <= 5 else 1.2 / np.sqrt(H))
    params = {}
    for k in range(L):
        inp = I if k == 0 else H * D
        for d in range(D):
            suf = f'_l{k}' + ('_reverse' if d else '')
            params['weight_ih' + suf] = J(g.u((G_ * H, inp), wscale))
            params['weight_hh' + suf] = J(g.u((G_ * H, H), wscale))
            if bias:
                params['bias_ih' + suf] = J(g.u((G_ * H,), wscale))
                params['bias_hh' + suf] = J(g.u((G_ * H,), wscale))
            if cell == 'lstm_peephole':
                for p in 'ifo':
                    params[f'peephole_{p}' + suf] = J(g.u((H,), 0.45))
    x = g.u((Tn, B, I), 1.0)
    if lengths is not None:
        for b, lb in enumerate(lengths):
            x[lb:, b, :] = g.u((Tn - lb, I), garbage)  # padding: arbitrary values
    c = {
        'name': name, 'kind': 'recurrent', 'cell': cell,
        'activation': act if cell == 'rnn' else None,
        'activation_param': act_param if cell == 'rnn' else None,
        'num_layers': L, 'input_size': I, 'hidden_size': H, 'seq_len': Tn, 'batch': B,
        'bias': bias, 'tbptt': tbptt, 'tolerance': dict(TOL['recurrent']),
        'params': params, 'x': J(x), 'h0': J(g.u((L * D, B, H), 0.5)),
        'c0': J(g.u((L * D, B, H), 0.5)) if is_lstm else None,
        'expected': None,
        'loss_weights': {'output': J(g.u((Tn, B, D * H), 1.0)),
                         'h_n': None if no_h_n_weight else J(g.u((L * D, B, H), 1.0)),
                         'c_n': J(g.u((L * D, B, H), 1.0)) if is_lstm else None},
        'expected_grads': None,
    }
    if bid:
        c['bidirectional'] = True
    if lengths is not None and any(l != Tn for l in lengths):
        c['lengths'] = [int(l) for l in lengths]
    if cell == 'gru' and not reset_after:
        c['gru_reset_after'] = False
    return c


def fill_recurrent(c, r):
    c['expected'] = {'output': J(r['expected']['output']), 'h_n': J(r['expected']['h_n']),
                     'c_n': J(r['expected']['c_n']) if r['expected']['c_n'] is not None else None}
    c['expected_grads'] = {k: J(v) for k, v in r['expected_grads'].items()}


# ------------------------------------------------------------------ clip
def make_clip(g, name, mode, shapes, max_norm=None, clip_value=None, scale=3.0):
    c = {'name': name, 'kind': 'clip', 'grads': [J(g.u(s, scale)) for s in shapes], 'mode': mode}
    if mode == 'norm':
        c['max_norm'] = float(f32(max_norm))
        c['expected_total_norm'] = None
    else:
        c['clip_value'] = float(clip_value)
    c['expected'] = None
    c['tolerance'] = dict(TOL['clip'])
    return c


def fill_clip(c, r):
    if c['mode'] == 'norm':
        c['expected_total_norm'] = float(r['expected_total_norm'])
    c['expected'] = [J(a) for a in r['expected']]


# ------------------------------------------------------------------ optimizer
def make_optimizer(g, name, opt, hyper, shapes, steps):
    return {'name': name, 'kind': 'optimizer', 'optimizer': opt, 'hyperparams': hyper,
            'params': [J(g.u(s, 1.0)) for s in shapes],
            'grads': [[J(g.u(s, 1.0)) for s in shapes] for _ in range(steps)],
            'expected': None, 'tolerance': dict(TOL['optimizer'])}


def fill_optimizer(c, r):
    c['expected'] = [[J(a) for a in ps] for ps in r['expected']]


# ------------------------------------------------------------------ training
def make_training(g, name, cell, head, loss, opt, hyper, clip_norm, H, I, Tn, B, out, steps):
    G_ = ref.GATES[cell]
    s = 0.4
    params = {'weight_ih_l0': J(g.u((G_ * H, I), s)), 'weight_hh_l0': J(g.u((G_ * H, H), s)),
              'bias_ih_l0': J(g.u((G_ * H,), s)), 'bias_hh_l0': J(g.u((G_ * H,), s))}
    if cell == 'lstm_peephole':
        for p in 'ifo':
            params[f'peephole_{p}_l0'] = J(g.u((H,), 0.4))
    params['head.weight'] = J(g.u((out, H), s))
    params['head.bias'] = J(g.u((out,), s))
    yshape = (Tn, B) if head == 'sequence' else (B,)
    if loss == 'mse':
        y = g.u(yshape + (out,), 1.0)
    elif loss == 'bce':
        y = g.rng.integers(0, 2, size=yshape + (out,)).astype(np.float64)
    else:
        y = g.rng.integers(0, out, size=yshape).astype(np.float64)
    yj = J(y)
    if loss == 'cross_entropy' or loss == 'bce':
        yj['data'] = [int(v) if loss == 'cross_entropy' else float(v) for v in yj['data']]
    return {'name': name, 'kind': 'training', 'cell': cell, 'input_size': I, 'hidden_size': H,
            'seq_len': Tn, 'batch': B, 'head': head, 'output_size': out, 'loss': loss,
            'optimizer': opt, 'hyperparams': hyper, 'clip_norm': clip_norm, 'steps': steps,
            'params': params, 'x': J(g.u((Tn, B, I), 1.0)), 'y': yj,
            'expected_losses': None, 'expected_params': None, 'tolerance': dict(TOL['training'])}


def fill_training(c, r):
    c['expected_losses'] = [float(v) for v in r['expected_losses']]
    c['expected_params'] = {k: J(v) for k, v in r['expected_params'].items()}


FILL = {'recurrent': fill_recurrent, 'clip': fill_clip, 'optimizer': fill_optimizer, 'training': fill_training}

# ------------------------------------------------------------------ screening
PERTURB_FIELDS = {'recurrent': ['params', 'x', 'h0', 'c0', 'loss_weights'], 'clip': ['grads'],
                  'optimizer': ['params', 'grads'], 'training': ['params', 'x']}


def perturbed(c, rng, rel=1e-7):
    c2 = copy.deepcopy(c)

    def walk(v):
        if isinstance(v, dict):
            if set(v) == {'shape', 'data'}:
                d = np.asarray(v['data'], dtype=np.float64)
                v['data'] = list(d * (1 + rel * rng.standard_normal(d.shape)))
                return
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    for f in PERTURB_FIELDS[c['kind']]:
        if c2.get(f) is not None:
            walk(c2[f])
    return c2


def screen(c, r, rng):
    """Returns None if fine, else a reason."""
    tol = c['tolerance']
    vals = list(ref.flat_result(c, r))
    for k, a in vals:
        if not np.all(np.isfinite(a)):
            return f'non-finite {k}'
        if c['kind'] != 'clip' and np.max(np.abs(a), initial=0) > 60:
            return f'large {k} {np.max(np.abs(a)):.3g}'
    r2 = ref.compute(perturbed(c, rng))
    d2 = dict(ref.flat_result(c, r2))
    worst = 0.0
    for k, a in vals:
        b = np.asarray(d2[k]).reshape(a.shape)
        worst = max(worst, float(np.max(np.abs(a - b) / (tol['atol'] + tol['rtol'] * np.abs(a)), initial=0)))
    if worst > 0.2:
        return f'ill-conditioned ({worst:.2f} of tolerance under 1e-7 perturbation)'
    return None


# ------------------------------------------------------------------ case list
def hyper(lr, unset, **options):
    """`{'lr': lr}` plus every option whose value is not one of `unset` (left to PyTorch's
    default), in the order given."""
    return {'lr': lr, **{k: v for k, v in options.items() if not any(v is u or (type(v) is type(u) and v == u) for u in unset)}}


def specs():
    """Yields (name, kind, kwargs) — a deterministic list of case specifications."""
    S = []
    cells = [('rnn', {}), ('lstm', {}), ('lstm_peephole', {}), ('gru', {}), ('gru', {'reset_after': False})]

    def cname(cell, kw):
        if cell == 'gru' and kw.get('reset_after') is False:
            return 'grurb'
        if cell == 'rnn':
            return 'rnn_' + (kw.get('act') or 'tanh')
        return cell
    # 1. every cell x odd hidden sizes
    for cell, kw in cells:
        for H in [1, 2, 3, 5, 7, 9, 17, 33]:
            S.append(('recurrent', dict(cell=cell, H=H, rand=True, **kw), f'{cname(cell, kw)}_h{H}'))
    # 2. tiny shapes: input 1, batch 1, seq 1
    for cell, kw in cells:
        S.append(('recurrent', dict(cell=cell, H=3, I=1, Tn=1, B=1, **kw), f'{cname(cell, kw)}_i1_t1_b1'))
        S.append(('recurrent', dict(cell=cell, H=5, I=1, Tn=7, B=1, rand=True, **kw), f'{cname(cell, kw)}_i1_b1'))
        S.append(('recurrent', dict(cell=cell, H=4, I=3, Tn=1, B=3, L=2, bid=True, **kw), f'{cname(cell, kw)}_t1_bi2'))
    # 3. long sequences, deep
    for cell, kw in cells:
        S.append(('recurrent', dict(cell=cell, H=6, I=3, Tn=40, B=2, L=1, **kw), f'{cname(cell, kw)}_t40'))
        S.append(('recurrent', dict(cell=cell, H=5, I=2, Tn=25, B=3, L=3, **kw), f'{cname(cell, kw)}_t25_l3'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=33, B=2, L=3, bid=True, **kw), f'{cname(cell, kw)}_t33_l3_bi'))
    # 4. bidirectional with lengths, lengths + tbptt, tbptt edge values
    for cell, kw in cells:
        S.append(('recurrent', dict(cell=cell, H=4, I=3, Tn=7, B=4, bid=True, lens=True, **kw), f'{cname(cell, kw)}_bi_len'))
        S.append(('recurrent', dict(cell=cell, H=5, I=2, Tn=9, B=3, L=2, bid=True, lens=True, **kw), f'{cname(cell, kw)}_bi2_len'))
        S.append(('recurrent', dict(cell=cell, H=3, I=3, Tn=10, B=4, lens=True, tbptt=3, **kw), f'{cname(cell, kw)}_len_tb3'))
        S.append(('recurrent', dict(cell=cell, H=3, I=3, Tn=10, B=4, bid=True, lens=True, tbptt=4, **kw), f'{cname(cell, kw)}_bi_len_tb4'))
        S.append(('recurrent', dict(cell=cell, H=4, I=2, Tn=9, B=2, bid=True, tbptt=4, **kw), f'{cname(cell, kw)}_bi_tb4'))
        S.append(('recurrent', dict(cell=cell, H=4, I=2, Tn=9, B=2, L=2, tbptt=2, **kw), f'{cname(cell, kw)}_l2_tb2'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=6, B=2, tbptt=1, **kw), f'{cname(cell, kw)}_tb1'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=5, B=2, tbptt=9, **kw), f'{cname(cell, kw)}_tb_gt_T'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=6, B=2, tbptt=6, **kw), f'{cname(cell, kw)}_tb_eq_T'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=6, B=3, bid=True, tbptt=1, lens=True, **kw), f'{cname(cell, kw)}_bi_len_tb1'))
        # bias false
        S.append(('recurrent', dict(cell=cell, H=5, I=3, Tn=5, B=2, bias=False, **kw), f'{cname(cell, kw)}_nobias'))
        S.append(('recurrent', dict(cell=cell, H=3, I=2, Tn=5, B=3, L=2, bid=True, bias=False, lens=True, **kw), f'{cname(cell, kw)}_nobias_bi2_len'))
        # padding full of large garbage
        S.append(('recurrent', dict(cell=cell, H=4, I=2, Tn=6, B=3, bid=True, lens=True, garbage=1000.0, **kw), f'{cname(cell, kw)}_bi_len_garbage'))
    # 5. specific combos named in the brief
    for L in (2, 3):
        S.append(('recurrent', dict(cell='gru', reset_after=False, H=5, I=3, Tn=6, B=3, L=L, bid=True), f'grurb_bi_l{L}'))
        S.append(('recurrent', dict(cell='lstm_peephole', H=5, I=3, Tn=6, B=3, L=L, bid=True), f'lstm_peephole_bi_l{L}'))
        S.append(('recurrent', dict(cell='lstm', H=6, I=4, Tn=8, B=4, L=L, lens=True), f'lstm_l{L}_len'))
    S.append(('recurrent', dict(cell='lstm', H=4, I=3, Tn=6, B=3, lens='short'), 'lstm_len_all_short'))
    S.append(('recurrent', dict(cell='gru', H=4, I=3, Tn=6, B=3, bid=True, lens='short'), 'gru_bi_len_all_short'))
    S.append(('recurrent', dict(cell='lstm', H=4, I=3, Tn=5, B=2, no_h_n_weight=True), 'lstm_no_hn_weight'))
    # 6. activations
    acts = [('tanh', None), ('relu', None), ('sigmoid', None), ('leaky_relu', 0.01), ('leaky_relu', 0.3),
            ('leaky_relu', None), ('elu', 1.0), ('elu', 0.5), ('elu', 2.0), ('leaky_relu', 1.5)]
    for a, p in acts:
        tag = f'{a}{"" if p is None else "_" + str(p)}'
        S.append(('recurrent', dict(cell='rnn', act=a, act_param=p, H=7, I=3, Tn=8, B=3), f'rnn_{tag}'))
        S.append(('recurrent', dict(cell='rnn', act=a, act_param=p, H=5, I=3, Tn=7, B=3, L=2, bid=True, lens=True), f'rnn_{tag}_bi2_len'))
        S.append(('recurrent', dict(cell='rnn', act=a, act_param=p, H=3, I=2, Tn=8, B=2, tbptt=3, bias=False), f'rnn_{tag}_tb3_nobias'))
    # 7. random fill
    for i in range(30):
        S.append(('recurrent', dict(rand_all=True), f'random{i:02d}'))

    # clip
    for i, (mode, shapes, mn, cv) in enumerate([
            ('norm', [(4, 3), (8, 8), (5,)], 2.0, None), ('norm', [(1,)], 0.5, None), ('norm', [(3, 3)], 100.0, None),
            ('norm', [(1,), (2,), (33, 5), (7, 1)], 1.0, None), ('norm', [(128, 16), (128,)], 3.5, None),
            ('norm', [(5, 5)], 1e-3, None), ('norm', [(2, 2), (2, 2)], 7.25, None), ('norm', [(9,)], 0.1, None),
            ('norm', [(200,)], 1000.0, None), ('norm', [(1, 1), (1,)], 1.0, None),
            ('value', [(2, 8), (1, 5), (1, 1)], None, 1.0), ('value', [(7,)], None, 0.25), ('value', [(3, 4)], None, 10.0),
            ('value', [(33, 3), (9,)], None, 0.001), ('value', [(1,)], None, 2.5), ('value', [(4, 4), (4,)], None, 1.75)]):
        S.append(('clip', dict(mode=mode, shapes=shapes, max_norm=mn, clip_value=cv), f'clip_{mode}_{i:02d}'))

    # optimizers: every hyperparameter combination
    shp = [[(3, 4), (5,)], [(1,)], [(7, 3), (2, 9), (1,)], [(33,)]]
    k = 0
    for mom in (0.0, 0.9, 0.5):
        for damp in ((0.0,) if mom == 0 else (0.0, 0.1, 0.5)):
            for nest in ((False,) if mom == 0 or damp != 0 else (False, True)):
                for wd in (0.0, 0.05):
                    h = hyper(0.1, unset=(0.0, False), momentum=mom, dampening=damp, nesterov=nest, weight_decay=wd)
                    S.append(('optimizer', dict(opt='sgd', hyper=h, shapes=shp[k % 4], steps=3 + k % 3), f'sgd_{k:02d}'))
                    k += 1
    S.append(('optimizer', dict(opt='sgd', hyper={}, shapes=shp[0], steps=3), 'sgd_default_lr'))
    for opt in ('adam', 'adamw'):
        for ams in (False, True):
            for wd in (None, 0.0, 0.1):
                for betas, eps in (((0.9, 0.999), None), ((0.8, 0.99), 1e-6)):
                    # an omitted weight_decay (None) differs from an explicit 0.0: AdamW's default is 0.01
                    h = hyper(0.01, unset=(None, False), betas=None if betas == (0.9, 0.999) else list(betas), eps=eps, weight_decay=wd,
                              amsgrad=ams)
                    S.append(('optimizer', dict(opt=opt, hyper=h, shapes=shp[k % 4], steps=3 + k % 4), f'{opt}_{k:02d}'))
                    k += 1
        S.append(('optimizer', dict(opt=opt, hyper={}, shapes=shp[0], steps=4), f'{opt}_default_lr'))
    for cen in (False, True):
        for mom in (0.0, 0.9):
            for wd in (0.0, 0.1):
                for alpha, eps in ((None, None), (0.9, 1e-6)):
                    h = hyper(0.01, unset=(None, 0.0, False), alpha=alpha, eps=eps, centered=cen, momentum=mom, weight_decay=wd)
                    S.append(('optimizer', dict(opt='rmsprop', hyper=h, shapes=shp[k % 4], steps=3 + k % 4), f'rmsprop_{k:02d}'))
                    k += 1
    S.append(('optimizer', dict(opt='rmsprop', hyper={}, shapes=shp[0], steps=4), 'rmsprop_default_lr'))

    # training: every cell x head x loss x optimizer, clip alternating
    OPTS = [('sgd', {'lr': 0.5, 'momentum': 0.9}), ('sgd', {'lr': 0.3, 'momentum': 0.5, 'nesterov': True, 'weight_decay': 0.01}),
            ('adam', {'lr': 0.05}), ('adamw', {'lr': 0.03, 'weight_decay': 0.1}), ('rmsprop', {'lr': 0.01}),
            ('rmsprop', {'lr': 0.005, 'momentum': 0.5, 'centered': True})]
    k = 0
    for cell in ('rnn', 'lstm', 'gru', 'lstm_peephole'):
        for head in ('sequence', 'last'):
            for loss in ('mse', 'bce', 'cross_entropy'):
                for oi, (opt, h) in enumerate(OPTS):
                    if oi in (1, 5) and (k % 3):
                        k += 1
                        continue  # the extra optimizer variants on a third of the combos
                    S.append(('training', dict(cell=cell, head=head, loss=loss, opt=opt, hyper=h,
                                               clip=(k % 2 == 0)), f'train_{cell}_{head}_{loss}_{opt}_{k:03d}'))
                    k += 1
    return S


def build(g, kind, kw, name):
    if kind == 'recurrent':
        kw = dict(kw)
        if kw.pop('rand_all', False):
            cell, ckw = g.choice([('rnn', {}), ('lstm', {}), ('lstm_peephole', {}), ('gru', {}), ('gru', {'reset_after': False})])
            kw = dict(cell=cell, **ckw)
            if cell == 'rnn':
                kw['act'], kw['act_param'] = g.choice([('tanh', None), ('relu', None), ('sigmoid', None), ('leaky_relu', 0.2), ('elu', 0.7)])
            kw.update(H=int(g.choice([1, 2, 3, 4, 5, 7, 8, 9, 12, 17])), I=int(g.rng.integers(1, 7)),
                      Tn=int(g.rng.integers(1, 16)), B=int(g.rng.integers(1, 6)), L=int(g.rng.integers(1, 4)),
                      bid=bool(g.rng.integers(2)), bias=bool(g.rng.random() < 0.75),
                      lens=bool(g.rng.random() < 0.5), tbptt=(int(g.rng.integers(1, 8)) if g.rng.random() < 0.4 else None))
            name = name + f'_{kw["cell"]}{"_rb" if not kw.get("reset_after", True) else ""}'
        if kw.pop('rand', False):
            kw.setdefault('I', int(g.rng.integers(1, 6)))
            kw.setdefault('Tn', int(g.rng.integers(2, 9)))
            kw.setdefault('B', int(g.rng.integers(1, 5)))
            kw.setdefault('L', int(g.rng.integers(1, 3)))
            kw.setdefault('bid', bool(g.rng.integers(2)))
        kw.setdefault('I', 3)
        kw.setdefault('Tn', 5)
        kw.setdefault('B', 2)
        if kw['cell'] == 'rnn':
            kw.setdefault('act', 'tanh')
        lens = kw.pop('lens', None)
        Tn, B = kw['Tn'], kw['B']
        lengths = None
        if lens == 'short':
            lengths = [int(v) for v in g.rng.integers(1, Tn, size=B)]
        elif lens:
            lengths = [int(v) for v in g.rng.integers(1, Tn + 1, size=B)]
            if B > 1:
                lengths[0] = Tn
                lengths[1] = int(g.rng.integers(1, max(2, Tn)))
            if all(l == Tn for l in lengths) and Tn > 1:
                lengths[-1] = int(g.rng.integers(1, Tn))
        return make_recurrent(g, name, lengths=lengths, **kw)
    if kind == 'clip':
        return make_clip(g, name, kw['mode'], kw['shapes'], kw['max_norm'], kw['clip_value'])
    if kind == 'optimizer':
        return make_optimizer(g, name, kw['opt'], kw['hyper'], kw['shapes'], kw['steps'])
    if kind == 'training':
        H = int(g.choice([1, 2, 3, 5, 7, 9]))
        I = int(g.rng.integers(1, 5))
        Tn = int(g.rng.integers(1, 9))
        B = int(g.rng.integers(1, 5))
        out = int(g.rng.integers(2 if kw['loss'] == 'cross_entropy' else 1, 5))
        steps = int(g.rng.integers(1, 6))
        clip = float(f32(g.choice([1.0, 0.5, 2.0, 0.25]))) if kw['clip'] else None
        return make_training(g, name, kw['cell'], kw['head'], kw['loss'], kw['opt'], dict(kw['hyper']), clip,
                             H, I, Tn, B, out, steps)
    raise ValueError(kind)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith('--') else 'cases'
    seed = int(sys.argv[sys.argv.index('--seed') + 1]) if '--seed' in sys.argv else 12345
    only = sys.argv[sys.argv.index('--only') + 1] if '--only' in sys.argv else None
    os.makedirs(out, exist_ok=True)
    S = specs()
    n = 0
    for i, (kind, kw, name) in enumerate(S):
        full = f'fz{i:03d}_{name}'
        if only and only not in full:
            continue
        g = G([seed, i])
        for attempt in range(20):
            c = build(g, kind, kw, full)
            r = ref.compute(c)
            why = screen(c, r, g.rng)
            if why is None:
                break
            print(f'  redraw {full}: {why}', file=sys.stderr)
        else:
            print(f'GAVE UP {full}: {why}', file=sys.stderr)
            continue
        FILL[kind](c, r)
        with open(os.path.join(out, c['name'] + '.json'), 'w') as f:
            json.dump(c, f, separators=(',', ':'))
        n += 1
    print(f'{n} cases written to {out}')


if __name__ == '__main__':
    main()
