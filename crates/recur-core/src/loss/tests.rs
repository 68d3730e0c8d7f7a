//! Unit tests of the losses: finite differences in `f64`, masking, references, bad inputs.

use super::*;

fn values(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

/// Checks `grad` against central differences of the `f64` loss `f`.
fn check_fd(what: &str, pred: &[f32], grad: &[f32], f: impl Fn(&[f64]) -> f64) {
    let base: Vec<f64> = pred.iter().map(|&v| v as f64).collect();
    let h = 1e-5;
    for i in 0..pred.len() {
        let mut plus = base.clone();
        let mut minus = base.clone();
        plus[i] += h;
        minus[i] -= h;
        let fd = (f(&plus) - f(&minus)) / (2.0 * h);
        let g = grad[i] as f64;
        assert!((g - fd).abs() <= 1e-7 + 1e-5 * fd.abs(), "{what}[{i}]: analytic {g}, finite difference {fd}");
    }
}

const ROWS: usize = 5;
const WIDTH: usize = 4;
const MASK: [f32; ROWS] = [1.0, 0.0, 1.0, 1.0, 0.0];

#[test]
fn mse_gradient_matches_finite_differences() {
    let pred = values(1, ROWS * WIDTH, 2.0);
    let target = values(2, ROWS * WIDTH, 2.0);
    for mask in [None, Some(&MASK[..])] {
        let mut grad = vec![0.0; ROWS * WIDTH];
        mse::forward_backward(&pred, &target, ROWS, WIDTH, mask, &mut grad).unwrap();
        check_fd("mse", &pred, &grad, |p| mse::run(p, &target, ROWS, WIDTH, mask, None).unwrap());
    }
}

#[test]
fn bce_gradient_matches_finite_differences() {
    let pred = values(3, ROWS * WIDTH, 4.0);
    let mut target = values(4, ROWS * WIDTH, 0.5).iter().map(|v| v + 0.5).collect::<Vec<f32>>();
    target[0] = 0.0;
    target[1] = 1.0;
    for mask in [None, Some(&MASK[..])] {
        let mut grad = vec![0.0; ROWS * WIDTH];
        bce::forward_backward(&pred, &target, ROWS, WIDTH, mask, &mut grad).unwrap();
        check_fd("bce", &pred, &grad, |p| bce::run(p, &target, ROWS, WIDTH, mask, None).unwrap());
    }
}

#[test]
fn cross_entropy_gradient_matches_finite_differences() {
    let pred = values(5, ROWS * WIDTH, 3.0);
    let target: Vec<u32> = (0..ROWS as u32).map(|r| (r * 3 + 1) % WIDTH as u32).collect();
    for mask in [None, Some(&MASK[..])] {
        let mut grad = vec![0.0; ROWS * WIDTH];
        cross_entropy::forward_backward(&pred, &target, ROWS, WIDTH, mask, &mut grad).unwrap();
        check_fd("ce", &pred, &grad, |p| cross_entropy::run(p, &target, ROWS, WIDTH, mask, None).unwrap());
    }
}

#[test]
fn losses_match_textbook_formulas() {
    let pred = values(6, ROWS * WIDTH, 3.0);
    let n = (ROWS * WIDTH) as f64;
    // MSE.
    let y = values(7, ROWS * WIDTH, 1.0);
    let want: f64 = pred.iter().zip(&y).map(|(&p, &t)| (p as f64 - t as f64).powi(2)).sum::<f64>() / n;
    let got = mse::forward(&pred, &y, ROWS, WIDTH, None).unwrap() as f64;
    assert!((got - want).abs() <= 1e-6 * want);
    // BCE: -(y ln σ(x) + (1 - y) ln(1 - σ(x))).
    let y: Vec<f32> = values(8, ROWS * WIDTH, 0.5).iter().map(|v| v + 0.5).collect();
    let want: f64 = pred
        .iter()
        .zip(&y)
        .map(|(&x, &t)| {
            let s = 1.0 / (1.0 + (-(x as f64)).exp());
            -(t as f64 * s.ln() + (1.0 - t as f64) * (1.0 - s).ln())
        })
        .sum::<f64>()
        / n;
    let got = bce::forward(&pred, &y, ROWS, WIDTH, None).unwrap() as f64;
    assert!((got - want).abs() <= 1e-6 * want, "bce {got} vs {want}");
    // Cross-entropy: -ln softmax(x)[class].
    let classes: Vec<u32> = vec![0, 3, 2, 1, 1];
    let want: f64 = (0..ROWS)
        .map(|r| {
            let row: Vec<f64> = pred[r * WIDTH..(r + 1) * WIDTH].iter().map(|&v| v as f64).collect();
            let z: f64 = row.iter().map(|v| v.exp()).sum();
            -(row[classes[r] as usize].exp() / z).ln()
        })
        .sum::<f64>()
        / ROWS as f64;
    let got = cross_entropy::forward(&pred, &classes, ROWS, WIDTH, None).unwrap() as f64;
    assert!((got - want).abs() <= 1e-6 * want, "ce {got} vs {want}");
}

#[test]
fn extreme_logits_stay_finite() {
    let pred = [1000.0f32, -1000.0, 80.0, -80.0];
    let mut grad = [0.0f32; 4];
    let l = bce::forward_backward(&pred, &[0.0, 1.0, 1.0, 0.0], 1, 4, None, &mut grad).unwrap();
    assert!((l as f64 - 500.0).abs() < 1e-3, "{l}");
    assert!(grad.iter().all(|g| g.is_finite()));
    assert!((grad[0] - 0.25).abs() < 1e-6 && (grad[1] + 0.25).abs() < 1e-6);
    let l = cross_entropy::forward_backward(&[1000.0, -1000.0, 999.0, 0.0], &[2], 1, 4, None, &mut grad).unwrap();
    // logsumexp = 1000 + ln(1 + e^-1); minus the class logit 999.
    let want = 1.0 + (1.0 + (-1.0f64).exp()).ln();
    assert!((l as f64 - want).abs() < 1e-5, "{l} vs {want}");
    assert!(grad.iter().all(|g| g.is_finite()));
}

/// With a mask, the loss equals the loss of the counted rows alone, masked rows get zero gradient,
/// and nothing in masked rows (even NaN or a bad class) has any effect.
#[test]
fn masking_semantics() {
    let counted: Vec<usize> = (0..ROWS).filter(|&r| MASK[r] == 1.0).collect();
    let pick =
        |v: &[f32]| -> Vec<f32> { counted.iter().flat_map(|&r| v[r * WIDTH..(r + 1) * WIDTH].to_vec()).collect() };
    let mut pred = values(9, ROWS * WIDTH, 2.0);
    let mut vals: Vec<f32> = values(10, ROWS * WIDTH, 0.5).iter().map(|v| v + 0.5).collect();
    let mut classes: Vec<u32> = vec![1, 2, 3, 0, 2];
    // Garbage in masked rows.
    pred[WIDTH] = f32::NAN;
    vals[4 * WIDTH] = f32::INFINITY;
    classes[1] = 99;
    let sub_pred = pick(&pred);
    let sub_vals = pick(&vals);
    let sub_classes: Vec<u32> = counted.iter().map(|&r| classes[r]).collect();
    let k = counted.len();
    for kind in [LossKind::Mse, LossKind::Bce, LossKind::CrossEntropy] {
        let (t, st) = match kind {
            LossKind::CrossEntropy => (LossTarget::Classes(&classes), LossTarget::Classes(&sub_classes)),
            _ => (LossTarget::Values(&vals), LossTarget::Values(&sub_vals)),
        };
        let mut grad = vec![7.0; ROWS * WIDTH];
        let l = kind.forward_backward(&pred, t, ROWS, WIDTH, Some(&MASK), &mut grad).unwrap();
        let mut sub_grad = vec![0.0; k * WIDTH];
        let sl = kind.forward_backward(&sub_pred, st, k, WIDTH, None, &mut sub_grad).unwrap();
        assert_eq!(l, sl, "{kind:?}");
        assert_eq!(l, kind.forward(&pred, t, ROWS, WIDTH, Some(&MASK)).unwrap());
        assert_eq!(pick(&grad), sub_grad, "{kind:?}");
        for r in (0..ROWS).filter(|&r| MASK[r] == 0.0) {
            assert!(grad[r * WIDTH..(r + 1) * WIDTH].iter().all(|&g| g == 0.0), "{kind:?} row {r}");
        }
        // Without the mask, the garbage is an error.
        let mut g2 = vec![0.0; ROWS * WIDTH];
        assert!(kind.forward_backward(&pred, t, ROWS, WIDTH, None, &mut g2).is_err());
    }
}

#[test]
fn bad_inputs_give_typed_errors() {
    let pred = values(11, 6, 1.0);
    let y = vec![0.5f32; 6];
    let mut g = vec![0.0f32; 6];
    let code = |r: Result<f32>| r.unwrap_err().code();
    // Shapes.
    assert_eq!(code(mse::forward_backward(&pred, &y[..5], 2, 3, None, &mut g)), "ERR_SHAPE");
    assert_eq!(code(mse::forward_backward(&pred[..5], &y[..5], 2, 3, None, &mut g[..5])), "ERR_SHAPE");
    assert_eq!(code(bce::forward_backward(&pred, &y, 2, 3, None, &mut g[..4])), "ERR_SHAPE");
    assert_eq!(code(bce::forward_backward(&pred, &y, 2, 3, Some(&[1.0]), &mut g)), "ERR_SHAPE");
    assert_eq!(code(cross_entropy::forward_backward(&pred, &[0, 1, 2], 2, 3, None, &mut g)), "ERR_SHAPE");
    assert_eq!(code(mse::forward_backward(&[], &[], 0, 3, None, &mut [])), "ERR_RANGE");
    assert_eq!(code(mse::forward_backward(&[], &[], 2, 0, None, &mut [])), "ERR_RANGE");
    // Non-finite targets and predictions.
    let mut bad = y.clone();
    bad[4] = f32::NAN;
    assert_eq!(
        mse::forward_backward(&pred, &bad, 2, 3, None, &mut g).unwrap_err(),
        Error::NonFinite { what: "mse target".into(), index: 4 }
    );
    assert_eq!(code(bce::forward_backward(&pred, &bad, 2, 3, None, &mut g)), "ERR_NON_FINITE");
    let mut badp = pred.clone();
    badp[1] = f32::NEG_INFINITY;
    assert_eq!(code(cross_entropy::forward_backward(&badp, &[0, 1], 2, 3, None, &mut g)), "ERR_NON_FINITE");
    // BCE targets outside [0, 1].
    let mut out = y.clone();
    out[2] = 1.5;
    assert_eq!(code(bce::forward_backward(&pred, &out, 2, 3, None, &mut g)), "ERR_RANGE");
    out[2] = -0.1;
    assert_eq!(code(bce::forward_backward(&pred, &out, 2, 3, None, &mut g)), "ERR_RANGE");
    // Class index out of range.
    assert_eq!(code(cross_entropy::forward_backward(&pred, &[0, 3], 2, 3, None, &mut g)), "ERR_RANGE");
    // Masks: all masked, or values other than 0/1.
    assert_eq!(code(mse::forward_backward(&pred, &y, 2, 3, Some(&[0.0, 0.0]), &mut g)), "ERR_RANGE");
    assert_eq!(code(cross_entropy::forward_backward(&pred, &[0, 1], 2, 3, Some(&[0.0, 0.0]), &mut g)), "ERR_RANGE");
    assert_eq!(code(mse::forward_backward(&pred, &y, 2, 3, Some(&[0.5, 1.0]), &mut g)), "ERR_RANGE");
    // Target kind that does not fit the loss.
    assert_eq!(
        code(LossKind::Mse.forward_backward(&pred, LossTarget::Classes(&[0, 1]), 2, 3, None, &mut g)),
        "ERR_UNSUPPORTED"
    );
    assert_eq!(
        code(LossKind::CrossEntropy.forward_backward(&pred, LossTarget::Values(&y), 2, 3, None, &mut g)),
        "ERR_UNSUPPORTED"
    );
}

#[test]
fn loss_kind_names() {
    for (name, kind) in
        [("\"mse\"", LossKind::Mse), ("\"cross_entropy\"", LossKind::CrossEntropy), ("\"bce\"", LossKind::Bce)]
    {
        assert_eq!(crate::json::from_str::<LossKind>(name).unwrap(), kind);
        assert_eq!(format!("\"{}\"", kind.name()), name);
    }
    assert!(crate::json::from_str::<LossKind>("\"nll\"").is_err());
}
