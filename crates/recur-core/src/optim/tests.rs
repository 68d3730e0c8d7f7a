//! Unit tests: every option of every optimizer against a hand-written `f64` reimplementation of
//! PyTorch's formulas, state save/load, and bad inputs.

use super::*;

/// Deterministic values in [-1, 1).
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
        })
        .collect()
}

const STEPS: usize = 7;

/// Gradients for each step, shrinking over time so AMSGrad's running max differs from `v`.
fn grads(seed: u64, n: usize) -> Vec<Vec<f32>> {
    (0..STEPS).map(|s| values(seed + 100 + s as u64, n).iter().map(|g| g / (1.0 + s as f32)).collect()).collect()
}

/// Runs the optimizer on two parameters (shapes [3,4] and [5]) and returns the values after each step.
fn run_ours(config: OptimizerConfig, seed: u64) -> Vec<Vec<Vec<f32>>> {
    let mut opt = Optimizer::new(config).unwrap();
    let shapes = [vec![3usize, 4], vec![5usize]];
    let mut params: Vec<Param> = shapes
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let n = s.iter().product();
            Param { name: format!("w{i}"), shape: s.clone(), value: values(seed + i as u64, n), grad: vec![0.0; n] }
        })
        .collect();
    let gs: Vec<Vec<Vec<f32>>> =
        params.iter().enumerate().map(|(i, p)| grads(seed + 10 * i as u64, p.numel())).collect();
    let mut out = Vec::new();
    for s in 0..STEPS {
        for (i, p) in params.iter_mut().enumerate() {
            p.grad = gs[i][s].clone();
        }
        let mut refs: Vec<&mut Param> = params.iter_mut().collect();
        opt.step(&mut refs).unwrap();
        out.push(params.iter().map(|p| p.value.clone()).collect());
    }
    out
}

/// PyTorch's algorithms, in f64, one tensor at a time (written from torch/optim/*.py).
fn run_reference(config: OptimizerConfig, seed: u64) -> Vec<Vec<Vec<f64>>> {
    let shapes = [12usize, 5];
    let mut per_param: Vec<Vec<Vec<f64>>> = Vec::new();
    for (i, &n) in shapes.iter().enumerate() {
        let mut p: Vec<f64> = values(seed + i as u64, n).iter().map(|&v| v as f64).collect();
        let gs = grads(seed + 10 * i as u64, n);
        let z = vec![0.0f64; n];
        let (mut b1, mut b2, mut b3) = (z.clone(), z.clone(), z.clone());
        let mut hist = Vec::new();
        for (s, g) in gs.iter().enumerate() {
            let t = (s + 1) as i32;
            let mut g: Vec<f64> = g.iter().map(|&v| v as f64).collect();
            match config {
                OptimizerConfig::Sgd(c) => {
                    for k in 0..n {
                        g[k] += c.weight_decay * p[k];
                        let mut d = g[k];
                        if c.momentum != 0.0 {
                            b1[k] = if s == 0 { d } else { c.momentum * b1[k] + (1.0 - c.dampening) * d };
                            d = if c.nesterov { d + c.momentum * b1[k] } else { b1[k] };
                        }
                        p[k] -= c.lr * d;
                    }
                }
                OptimizerConfig::Adam(AdamConfig { lr, betas, eps, weight_decay, amsgrad })
                | OptimizerConfig::Adamw(AdamWConfig { lr, betas, eps, weight_decay, amsgrad }) => {
                    let decoupled = matches!(config, OptimizerConfig::Adamw(_));
                    for k in 0..n {
                        if decoupled {
                            p[k] *= 1.0 - lr * weight_decay;
                        } else {
                            g[k] += weight_decay * p[k];
                        }
                        b1[k] = betas[0] * b1[k] + (1.0 - betas[0]) * g[k];
                        b2[k] = betas[1] * b2[k] + (1.0 - betas[1]) * g[k] * g[k];
                        let bc1 = 1.0 - betas[0].powi(t);
                        let bc2 = 1.0 - betas[1].powi(t);
                        b3[k] = b3[k].max(b2[k]);
                        let v = if amsgrad { b3[k] } else { b2[k] };
                        let denom = v.sqrt() / bc2.sqrt() + eps;
                        p[k] -= lr / bc1 * b1[k] / denom;
                    }
                }
                OptimizerConfig::Rmsprop(c) => {
                    for k in 0..n {
                        g[k] += c.weight_decay * p[k];
                        b1[k] = c.alpha * b1[k] + (1.0 - c.alpha) * g[k] * g[k];
                        let avg = if c.centered {
                            b3[k] = c.alpha * b3[k] + (1.0 - c.alpha) * g[k];
                            (b1[k] - b3[k] * b3[k]).sqrt() + c.eps
                        } else {
                            b1[k].sqrt() + c.eps
                        };
                        if c.momentum > 0.0 {
                            b2[k] = c.momentum * b2[k] + g[k] / avg;
                            p[k] -= c.lr * b2[k];
                        } else {
                            p[k] -= c.lr * g[k] / avg;
                        }
                    }
                }
            }
            hist.push(p.clone());
        }
        per_param.push(hist);
    }
    (0..STEPS).map(|s| per_param.iter().map(|h| h[s].clone()).collect()).collect()
}

fn check_against_reference(config: OptimizerConfig) {
    for seed in [1u64, 7, 42] {
        let ours = run_ours(config, seed);
        let want = run_reference(config, seed);
        for s in 0..STEPS {
            for (i, (o, w)) in ours[s].iter().zip(&want[s]).enumerate() {
                for (k, (&o, &w)) in o.iter().zip(w).enumerate() {
                    let err = (o as f64 - w).abs();
                    assert!(
                        err <= 1e-6 + 1e-5 * w.abs(),
                        "{config:?} seed {seed} step {s} param {i}[{k}]: got {o}, reference {w}"
                    );
                }
            }
        }
        // The parameters really moved (the test is not vacuous).
        let start = values(seed, 12);
        assert!(ours[STEPS - 1][0].iter().zip(&start).any(|(a, b)| (a - b).abs() > 1e-4), "{config:?} did not move");
    }
}

fn sgd(f: impl FnOnce(&mut SgdConfig)) -> OptimizerConfig {
    let mut c = SgdConfig { lr: 0.1, ..SgdConfig::default() };
    f(&mut c);
    OptimizerConfig::Sgd(c)
}
fn adam(f: impl FnOnce(&mut AdamConfig)) -> OptimizerConfig {
    let mut c = AdamConfig { lr: 0.01, ..AdamConfig::default() };
    f(&mut c);
    OptimizerConfig::Adam(c)
}
fn adamw(f: impl FnOnce(&mut AdamWConfig)) -> OptimizerConfig {
    let mut c = AdamWConfig { lr: 0.01, ..AdamWConfig::default() };
    f(&mut c);
    OptimizerConfig::Adamw(c)
}
fn rmsprop(f: impl FnOnce(&mut RmspropConfig)) -> OptimizerConfig {
    let mut c = RmspropConfig::default();
    f(&mut c);
    OptimizerConfig::Rmsprop(c)
}

#[test]
fn sgd_options_match_reference() {
    check_against_reference(sgd(|_| {}));
    check_against_reference(sgd(|c| c.weight_decay = 0.05));
    check_against_reference(sgd(|c| c.momentum = 0.9));
    check_against_reference(sgd(|c| {
        c.momentum = 0.8;
        c.dampening = 0.3;
    }));
    check_against_reference(sgd(|c| {
        c.momentum = 0.9;
        c.nesterov = true;
    }));
    check_against_reference(sgd(|c| {
        c.momentum = 0.5;
        c.nesterov = true;
        c.weight_decay = 0.01;
    }));
}

#[test]
fn adam_options_match_reference() {
    check_against_reference(adam(|_| {}));
    check_against_reference(adam(|c| c.weight_decay = 0.1));
    check_against_reference(adam(|c| c.amsgrad = true));
    check_against_reference(adam(|c| {
        c.betas = [0.5, 0.9];
        c.eps = 1e-3;
        c.amsgrad = true;
        c.weight_decay = 0.02;
    }));
}

#[test]
fn adamw_options_match_reference() {
    check_against_reference(adamw(|_| {}));
    check_against_reference(adamw(|c| c.weight_decay = 0.3));
    check_against_reference(adamw(|c| c.amsgrad = true));
}

#[test]
fn rmsprop_options_match_reference() {
    check_against_reference(rmsprop(|_| {}));
    check_against_reference(rmsprop(|c| c.momentum = 0.9));
    check_against_reference(rmsprop(|c| c.centered = true));
    check_against_reference(rmsprop(|c| c.weight_decay = 0.1));
    check_against_reference(rmsprop(|c| {
        c.centered = true;
        c.momentum = 0.5;
        c.weight_decay = 0.05;
        c.alpha = 0.9;
    }));
}

#[test]
fn amsgrad_and_centered_change_the_result() {
    // Guards against options being silently ignored.
    assert_ne!(run_ours(adam(|_| {}), 3), run_ours(adam(|c| c.amsgrad = true), 3));
    assert_ne!(run_ours(rmsprop(|_| {}), 3), run_ours(rmsprop(|c| c.centered = true), 3));
    assert_ne!(
        run_ours(sgd(|c| c.momentum = 0.9), 3),
        run_ours(
            sgd(|c| {
                c.momentum = 0.9;
                c.nesterov = true;
            }),
            3
        )
    );
    assert_ne!(
        run_ours(adam(|c| c.weight_decay = 0.1), 3),
        run_ours(OptimizerConfig::Adamw(AdamWConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() }), 3)
    );
}

#[test]
fn defaults_are_pytorchs() {
    let c = OptimizerConfig::from_json(r#"{"type":"adam","lr":0.01}"#).unwrap();
    assert_eq!(
        c,
        OptimizerConfig::Adam(AdamConfig {
            lr: 0.01,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false
        })
    );
    let c = OptimizerConfig::from_json(r#"{"type":"adamw"}"#).unwrap();
    assert_eq!(
        c,
        OptimizerConfig::Adamw(AdamWConfig {
            lr: 1e-3,
            betas: [0.9, 0.999],
            eps: 1e-8,
            weight_decay: 0.01,
            amsgrad: false
        })
    );
    let c = OptimizerConfig::from_json(r#"{"type":"rmsprop"}"#).unwrap();
    assert_eq!(
        c,
        OptimizerConfig::Rmsprop(RmspropConfig {
            lr: 0.01,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false
        })
    );
    let c = OptimizerConfig::from_json(r#"{"type":"sgd","lr":0.5,"momentum":0.9,"nesterov":true}"#).unwrap();
    assert_eq!(
        c,
        OptimizerConfig::Sgd(SgdConfig { lr: 0.5, momentum: 0.9, dampening: 0.0, weight_decay: 0.0, nesterov: true })
    );
    // Round trip through JSON.
    let back = OptimizerConfig::from_json(&c.to_json()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn unknown_names_are_rejected() {
    assert!(OptimizerConfig::from_json(r#"{"type":"adam","lr":0.01,"beta1":0.9}"#).is_err());
    assert!(OptimizerConfig::from_json(r#"{"type":"adagrad","lr":0.01}"#).is_err());
    assert!(OptimizerConfig::from_json(r#"{"lr":0.01}"#).is_err());
}

#[test]
fn invalid_hyperparameters_give_typed_errors() {
    let code = |c: OptimizerConfig| Optimizer::new(c).unwrap_err().code();
    assert_eq!(code(sgd(|c| c.lr = -0.1)), "ERR_RANGE");
    assert_eq!(code(sgd(|c| c.momentum = -0.1)), "ERR_RANGE");
    assert_eq!(code(sgd(|c| c.weight_decay = -1.0)), "ERR_RANGE");
    assert_eq!(code(sgd(|c| c.nesterov = true)), "ERR_UNSUPPORTED");
    assert_eq!(
        code(sgd(|c| {
            c.nesterov = true;
            c.momentum = 0.9;
            c.dampening = 0.1;
        })),
        "ERR_UNSUPPORTED"
    );
    assert_eq!(code(sgd(|c| c.lr = f64::NAN)), "ERR_NON_FINITE");
    assert_eq!(code(adam(|c| c.betas = [1.0, 0.999])), "ERR_RANGE");
    assert_eq!(code(adam(|c| c.betas = [0.9, -0.1])), "ERR_RANGE");
    assert_eq!(code(adam(|c| c.eps = -1e-8)), "ERR_RANGE");
    assert_eq!(code(adam(|c| c.lr = f64::INFINITY)), "ERR_NON_FINITE");
    assert_eq!(code(adamw(|c| c.weight_decay = -0.01)), "ERR_RANGE");
    assert_eq!(code(adamw(|c| c.betas = [0.9, 1.5])), "ERR_RANGE");
    assert_eq!(code(rmsprop(|c| c.alpha = -0.5)), "ERR_RANGE");
    assert_eq!(code(rmsprop(|c| c.momentum = -0.5)), "ERR_RANGE");
    assert_eq!(code(rmsprop(|c| c.eps = f64::NAN)), "ERR_NON_FINITE");
    let mut opt = Optimizer::new(adam(|_| {})).unwrap();
    assert_eq!(opt.set_lr(-1.0).unwrap_err().code(), "ERR_RANGE");
    assert_eq!(opt.set_lr(f64::NAN).unwrap_err().code(), "ERR_NON_FINITE");
    assert_eq!(opt.lr(), 0.01);
    opt.set_lr(0.5).unwrap();
    assert_eq!(opt.lr(), 0.5);
}

fn two_params() -> Vec<Param> {
    vec![
        Param { name: "a".into(), shape: vec![2, 3], value: values(5, 6), grad: values(6, 6) },
        Param { name: "b".into(), shape: vec![4], value: values(7, 4), grad: values(8, 4) },
    ]
}

fn step_all(opt: &mut Optimizer, params: &mut [Param]) -> Result<()> {
    let mut refs: Vec<&mut Param> = params.iter_mut().collect();
    opt.step(&mut refs)
}

#[test]
fn set_lr_changes_following_steps() {
    let mut a = two_params();
    let mut b = two_params();
    let mut oa = Optimizer::new(sgd(|c| c.lr = 0.1)).unwrap();
    let mut ob = Optimizer::new(sgd(|c| c.lr = 0.3)).unwrap();
    oa.set_lr(0.3).unwrap();
    step_all(&mut oa, &mut a).unwrap();
    step_all(&mut ob, &mut b).unwrap();
    assert_eq!(a, b);
}

#[test]
fn param_list_changes_are_errors() {
    let mut opt = Optimizer::new(adam(|_| {})).unwrap();
    let mut params = two_params();
    step_all(&mut opt, &mut params).unwrap();
    let before = opt.clone();
    // Fewer parameters.
    assert_eq!(step_all(&mut opt, &mut params[..1]).unwrap_err().code(), "ERR_STATE");
    // Another order.
    let mut swapped = vec![params[1].clone(), params[0].clone()];
    assert_eq!(step_all(&mut opt, &mut swapped).unwrap_err().code(), "ERR_STATE");
    // Another shape.
    let mut reshaped = params.clone();
    reshaped[0].shape = vec![3, 2];
    assert_eq!(step_all(&mut opt, &mut reshaped).unwrap_err().code(), "ERR_SHAPE");
    // Gradient of the wrong size.
    let mut short = params.clone();
    short[1].grad.pop();
    assert_eq!(step_all(&mut opt, &mut short).unwrap_err().code(), "ERR_SHAPE");
    assert_eq!(opt, before, "a failed step changed the state");
    // Duplicate names on the first step.
    let mut dup = two_params();
    dup[1].name = "a".into();
    assert_eq!(step_all(&mut Optimizer::new(adam(|_| {})).unwrap(), &mut dup).unwrap_err().code(), "ERR_STATE");
}

#[test]
fn non_finite_gradient_is_refused_without_changes() {
    for config in [sgd(|c| c.momentum = 0.9), adam(|_| {}), adamw(|_| {}), rmsprop(|_| {})] {
        let mut opt = Optimizer::new(config).unwrap();
        let mut params = two_params();
        step_all(&mut opt, &mut params).unwrap();
        params[1].grad[2] = f32::NAN;
        let (p_before, o_before) = (params.clone(), opt.clone());
        let err = step_all(&mut opt, &mut params).unwrap_err();
        assert_eq!(err, Error::NonFinite { what: "grad of b".into(), index: 2 });
        // (Param's PartialEq would fail on the NaN itself: compare values, and grads bitwise.)
        for (p, q) in params.iter().zip(&p_before) {
            assert_eq!(p.value, q.value);
            assert!(p.grad.iter().zip(&q.grad).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
        assert_eq!(opt, o_before);
    }
}

#[test]
fn no_allocation_after_first_step() {
    let mut opt = Optimizer::new(rmsprop(|c| {
        c.momentum = 0.9;
        c.centered = true;
    }))
    .unwrap();
    let mut params = two_params();
    step_all(&mut opt, &mut params).unwrap();
    let ptrs: Vec<*const f32> = opt.slots.iter().flat_map(|s| s.bufs.iter().map(|b| b.as_ptr())).collect();
    assert_eq!(ptrs.len(), 6);
    for _ in 0..3 {
        step_all(&mut opt, &mut params).unwrap();
    }
    let after: Vec<*const f32> = opt.slots.iter().flat_map(|s| s.bufs.iter().map(|b| b.as_ptr())).collect();
    assert_eq!(ptrs, after);
}

#[test]
fn state_round_trip_continues_identically() {
    let configs = [
        sgd(|c| {
            c.momentum = 0.9;
            c.nesterov = true;
        }),
        sgd(|_| {}),
        adam(|c| c.amsgrad = true),
        adamw(|_| {}),
        rmsprop(|c| {
            c.momentum = 0.5;
            c.centered = true;
        }),
    ];
    for config in configs {
        let mut opt = Optimizer::new(config).unwrap();
        let mut params = two_params();
        for s in 0..3 {
            for p in params.iter_mut() {
                p.grad = values(50 + s, p.numel());
            }
            step_all(&mut opt, &mut params).unwrap();
        }
        let state = opt.state_tensors();
        let names = config.buffer_names();
        assert_eq!(state.len(), 2 * (1 + names.len()));
        assert_eq!(state[0], ("optim.a.step".to_string(), vec![], vec![3.0]));
        for (k, n) in names.iter().enumerate() {
            assert_eq!(state[1 + k].0, format!("optim.a.{n}"));
            assert_eq!(state[1 + k].1, vec![2, 3]);
        }
        let mut restored = Optimizer::new(config).unwrap();
        let refs: Vec<&Param> = params.iter().collect();
        restored.load_state(&refs, &state).unwrap();
        assert_eq!(restored.step_count(), 3);
        let mut params2 = params.clone();
        for s in 3..6 {
            for (p, q) in params.iter_mut().zip(params2.iter_mut()) {
                p.grad = values(50 + s, p.numel());
                q.grad = p.grad.clone();
            }
            step_all(&mut opt, &mut params).unwrap();
            step_all(&mut restored, &mut params2).unwrap();
            assert_eq!(params, params2, "{config:?}: diverged after restore at step {s}");
        }
        assert_eq!(opt.state_tensors(), restored.state_tensors());
    }
}

#[test]
fn load_state_validates_before_changing() {
    let config = adam(|c| c.amsgrad = true);
    let mut opt = Optimizer::new(config).unwrap();
    let mut params = two_params();
    step_all(&mut opt, &mut params).unwrap();
    let good = opt.state_tensors();
    let refs: Vec<&Param> = params.iter().collect();
    let mut target = Optimizer::new(config).unwrap();
    step_all(&mut target, &mut two_params()).unwrap();
    step_all(&mut target, &mut two_params()).unwrap();
    let before = target.clone();
    let mut bad_cases: Vec<(Vec<(String, Vec<usize>, Vec<f32>)>, &str)> = Vec::new();
    // Missing a buffer.
    bad_cases.push((good.iter().filter(|t| t.0 != "optim.b.max_exp_avg_sq").cloned().collect(), "ERR_FORMAT"));
    // Extra unknown entry.
    let mut extra = good.clone();
    extra.push(("optim.a.momentum_buffer".into(), vec![2, 3], vec![0.0; 6]));
    bad_cases.push((extra, "ERR_FORMAT"));
    // Duplicate entry.
    let mut dup = good.clone();
    dup.push(good[1].clone());
    bad_cases.push((dup, "ERR_FORMAT"));
    // Wrong shape.
    let mut shape = good.clone();
    shape[1].1 = vec![3, 2];
    bad_cases.push((shape, "ERR_SHAPE"));
    // Wrong length.
    let mut len = good.clone();
    len[1].2.pop();
    bad_cases.push((len, "ERR_SHAPE"));
    // Non-finite values.
    let mut nan = good.clone();
    nan[2].2[0] = f32::NAN;
    bad_cases.push((nan, "ERR_NON_FINITE"));
    // Negative second moment.
    let mut neg = good.clone();
    let i = neg.iter().position(|t| t.0 == "optim.b.exp_avg_sq").unwrap();
    neg[i].2[0] = -1.0;
    bad_cases.push((neg, "ERR_RANGE"));
    // Fractional step.
    let mut frac = good.clone();
    frac[0].2[0] = 1.5;
    bad_cases.push((frac, "ERR_RANGE"));
    // Steps that disagree.
    let mut steps = good.clone();
    let i = steps.iter().position(|t| t.0 == "optim.b.step").unwrap();
    steps[i].2[0] = 4.0;
    bad_cases.push((steps, "ERR_FORMAT"));
    for (k, (state, code)) in bad_cases.iter().enumerate() {
        let err = target.load_state(&refs, state).unwrap_err();
        assert_eq!(err.code(), *code, "case {k}: {err}");
        assert_eq!(target, before, "case {k}: a failed load changed the state");
    }
    // State of another optimizer kind (no max_exp_avg_sq) is refused.
    let plain = Optimizer::new(adam(|_| {})).map(|mut o| {
        step_all(&mut o, &mut two_params()).unwrap();
        o.state_tensors()
    });
    assert_eq!(target.load_state(&refs, &plain.unwrap()).unwrap_err().code(), "ERR_FORMAT");
    // The good state loads; an empty state resets.
    target.load_state(&refs, &good).unwrap();
    assert_eq!(target.step_count(), 1);
    target.load_state(&refs, &[]).unwrap();
    assert_eq!(target.step_count(), 0);
    assert!(target.state_tensors().is_empty());
}

/// Run lengths for the bitwise checks of the updates against the loops they replaced: empty,
/// one element, odd lengths around the vector widths, a few hundred.
const RUN_LENGTHS: [usize; 12] = [0, 1, 2, 3, 4, 5, 7, 9, 17, 33, 300, 301];

/// Runs `ours` and `old` (updating `p` with gradient `g` and buffers `bufs`) for a few steps from
/// the same random state and requires the same bits of the parameters and every buffer.
fn check_bitwise_against_old(what: &str, nbufs: usize, ours: impl Fn(usize, &mut [f32], &[f32], &mut [Vec<f32>]), old: impl Fn(usize, &mut [f32], &[f32], &mut [Vec<f32>])) {
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    for n in RUN_LENGTHS {
        let p0 = values(n as u64, n);
        let (mut p, mut bufs) = (p0.clone(), vec![vec![0.0f32; n]; nbufs]);
        let (mut q, mut qbufs) = (p0.clone(), bufs.clone());
        for step in 0..4 {
            let g: Vec<f32> = values(1000 + 10 * n as u64 + step as u64, n).iter().map(|g| g * 0.1).collect();
            ours(step, &mut p, &g, &mut bufs);
            old(step, &mut q, &g, &mut qbufs);
            assert_eq!(bits(&p), bits(&q), "{what}: n {n}, step {step}: parameters");
            for (k, (a, b)) in bufs.iter().zip(&qbufs).enumerate() {
                assert_eq!(bits(a), bits(b), "{what}: n {n}, step {step}: buffer {k}");
            }
        }
        assert!(n == 0 || p != p0, "{what}: n {n}: nothing moved");
    }
}

/// `RmspropConfig::update` as it was before its loop moved to recur-kernels (verbatim).
fn old_rmsprop_update(c: &RmspropConfig, p: &mut [f32], g: &[f32], bufs: &mut [Vec<f32>]) {
    let alpha = c.alpha;
    let use_mom = c.momentum > 0.0;
    let (sq, rest) = bufs.split_at_mut(1);
    let sq = &mut sq[0];
    let (mom, rest) = if use_mom { rest.split_at_mut(1) } else { rest.split_at_mut(0) };
    for i in 0..p.len() {
        let pv = p[i] as f64;
        let gv = g[i] as f64 + c.weight_decay * pv;
        let s = alpha * sq[i] as f64 + (1.0 - alpha) * gv * gv;
        sq[i] = s as f32;
        let avg = if c.centered {
            let ga = rest[0][i] as f64;
            let ga = ga + (1.0 - alpha) * (gv - ga);
            rest[0][i] = ga as f32;
            (s - ga * ga).max(0.0).sqrt() + c.eps
        } else {
            s.sqrt() + c.eps
        };
        let upd = if use_mom {
            let b = c.momentum * mom[0][i] as f64 + gv / avg;
            mom[0][i] = b as f32;
            b
        } else {
            gv / avg
        };
        p[i] = (pv - c.lr * upd) as f32;
    }
}

/// RMSprop's update in recur-kernels gives the bits of the loop it replaced, for every variant.
#[test]
fn rmsprop_update_is_bitwise_the_old_loop() {
    for (momentum, centered, weight_decay) in
        [(0.0, false, 0.0), (0.9, false, 0.0), (0.0, true, 0.0), (0.5, true, 0.0), (0.0, false, 0.1), (0.5, true, 0.05)]
    {
        let c = RmspropConfig { momentum, centered, weight_decay, alpha: 0.9, ..RmspropConfig::default() };
        check_bitwise_against_old(&format!("{c:?}"), c.buffer_names().len(), |_, p, g, b| c.update(p, g, b), |_, p, g, b| old_rmsprop_update(&c, p, g, b));
    }
}

/// `SgdConfig::update` as it was before its loop moved to recur-kernels (verbatim).
fn old_sgd_update(c: &SgdConfig, first: bool, p: &mut [f32], g: &[f32], bufs: &mut [Vec<f32>]) {
    let lr = c.lr;
    let wd = c.weight_decay;
    let mu = c.momentum;
    let damp = 1.0 - c.dampening;
    if mu == 0.0 {
        for (p, &g) in p.iter_mut().zip(g) {
            let pv = *p as f64;
            let d = g as f64 + wd * pv;
            *p = (pv - lr * d) as f32;
        }
        return;
    }
    let buf = &mut bufs[0];
    for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
        let pv = *p as f64;
        let d = g as f64 + wd * pv;
        let bv = if first { d } else { mu * *b as f64 + damp * d };
        *b = bv as f32;
        let step = if c.nesterov { d + mu * bv } else { bv };
        *p = (pv - lr * step) as f32;
    }
}

/// SGD's update in recur-kernels gives the bits of the loop it replaced, for every variant, on
/// the first step (which initialises the momentum buffer) and the following ones.
#[test]
fn sgd_update_is_bitwise_the_old_loop() {
    for (momentum, dampening, nesterov, weight_decay) in
        [(0.0, 0.0, false, 0.0), (0.0, 0.0, false, 0.05), (0.9, 0.0, false, 0.0), (0.8, 0.3, false, 0.05), (0.9, 0.0, true, 0.0), (0.5, 0.0, true, 0.01)]
    {
        let c = SgdConfig { lr: 0.1, momentum, dampening, nesterov, weight_decay };
        check_bitwise_against_old(&format!("{c:?}"), c.buffer_names().len(), |s, p, g, b| c.update(s == 0, p, g, b), |s, p, g, b| old_sgd_update(&c, s == 0, p, g, b));
    }
}
