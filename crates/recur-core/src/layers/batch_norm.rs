//! Batch normalization over features: PyTorch's `nn.BatchNorm1d` on `rows × features`, with an
//! optional row mask so that padding in variable-length sequences is left out of the statistics.

use super::{check_mask, check_param, checked_rows, param_name, Buffer};
use crate::error::{check_finite, check_size, Error, Result, MAX_ELEMENTS};
use crate::param::Param;

/// `nn.BatchNorm1d(features)` applied to rows.
///
/// Training normalizes each feature with the batch mean and biased variance and updates the
/// running estimates `running = (1 − momentum)·running + momentum·batch` using the *unbiased*
/// variance (`momentum = None` gives PyTorch's cumulative average `1/num_batches_tracked`);
/// inference normalizes with the running estimates. `y = (x − mean)/√(var + eps)·weight + bias`.
///
/// Parameters (if affine): `{prefix}.weight` (ones) and `{prefix}.bias` (zeros), `[features]`.
/// Buffers (see [`BatchNorm::buffers`]): `{prefix}.running_mean` (zeros), `{prefix}.running_var`
/// (ones), `{prefix}.num_batches_tracked` (scalar).
///
/// With a row mask (1 = real row, 0 = padding) statistics use only the real rows; padded rows
/// output 0 and receive zero gradient, in both modes.
#[derive(Debug, Clone)]
pub struct BatchNorm {
    /// Scale γ `[features]`, if affine.
    pub weight: Option<Param>,
    /// Shift β `[features]`, if affine.
    pub bias: Option<Param>,
    prefix: String,
    features: usize,
    eps: f32,
    momentum: Option<f32>,
    running_mean: Vec<f32>,
    running_var: Vec<f32>,
    num_batches_tracked: u64,
    /// Rows of the cached forward; `None` before the first forward.
    rows: Option<usize>,
    /// Mode of the cached forward.
    training: bool,
    /// Cached mask of the last forward (empty: every row real).
    mask: Vec<f32>,
    /// Real rows in the last forward.
    count: usize,
    /// Cached normalized input `[rows, features]` (0 on padded rows).
    xhat: Vec<f32>,
    /// Cached `1/√(var + eps)` per feature (batch variance in training, running in inference).
    rstd: Vec<f32>,
    /// f64 scratch per feature.
    acc1: Vec<f64>,
    acc2: Vec<f64>,
}

impl BatchNorm {
    /// `BatchNorm1d(features, eps=1e-5, momentum=0.1, affine)`.
    pub fn new(prefix: &str, features: usize, affine: bool) -> Result<Self> {
        Self::with_config(prefix, features, affine, 1e-5, Some(0.1))
    }

    /// Like [`BatchNorm::new`] with explicit `eps` (finite, > 0) and `momentum` (in `[0, 1]`, or
    /// `None` for the cumulative moving average).
    pub fn with_config(prefix: &str, features: usize, affine: bool, eps: f32, momentum: Option<f32>) -> Result<Self> {
        check_size("batch_norm features", features, MAX_ELEMENTS)?;
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::range("batch_norm eps", eps, "finite and > 0"));
        }
        if let Some(m) = momentum {
            if !(0.0..=1.0).contains(&m) {
                return Err(Error::range("batch_norm momentum", m, "[0, 1] or None"));
            }
        }
        let (weight, bias) = if affine {
            let mut w = Param::zeros(param_name(prefix, "weight"), &[features]);
            w.value.iter_mut().for_each(|v| *v = 1.0);
            (Some(w), Some(Param::zeros(param_name(prefix, "bias"), &[features])))
        } else {
            (None, None)
        };
        Ok(BatchNorm {
            weight,
            bias,
            prefix: prefix.to_string(),
            features,
            eps,
            momentum,
            running_mean: vec![0.0; features],
            running_var: vec![1.0; features],
            num_batches_tracked: 0,
            rows: None,
            training: false,
            mask: Vec::new(),
            count: 0,
            xhat: Vec::new(),
            rstd: vec![0.0; features],
            acc1: vec![0.0; features],
            acc2: vec![0.0; features],
        })
    }

    /// Number of features (channels).
    pub fn features(&self) -> usize {
        self.features
    }

    /// The epsilon added to the variance.
    pub fn eps(&self) -> f32 {
        self.eps
    }

    /// The running-average momentum (`None`: cumulative average).
    pub fn momentum(&self) -> Option<f32> {
        self.momentum
    }

    /// Whether the layer has the affine `weight` and `bias`.
    pub fn affine(&self) -> bool {
        self.weight.is_some()
    }

    /// Running mean per feature.
    pub fn running_mean(&self) -> &[f32] {
        &self.running_mean
    }

    /// Running (unbiased) variance per feature.
    pub fn running_var(&self) -> &[f32] {
        &self.running_var
    }

    /// Number of training batches seen.
    pub fn num_batches_tracked(&self) -> u64 {
        self.num_batches_tracked
    }

    /// The trainable parameters (weight then bias; none if not affine).
    pub fn params(&self) -> Vec<&Param> {
        self.weight.iter().chain(self.bias.iter()).collect()
    }

    /// The trainable parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.weight.iter_mut().chain(self.bias.iter_mut()).collect()
    }

    /// Sets all gradients to zero.
    pub fn zero_grad(&mut self) {
        self.params_mut().into_iter().for_each(Param::zero_grad);
    }

    /// The saved, non-trainable state in PyTorch's `state_dict` names: running mean, running
    /// variance (both `[features]`) and `num_batches_tracked` (shape `[]`, one element; exact
    /// as f32 up to 2^24 batches).
    pub fn buffers(&self) -> Vec<Buffer> {
        vec![
            Buffer {
                name: param_name(&self.prefix, "running_mean"),
                shape: vec![self.features],
                data: self.running_mean.clone(),
            },
            Buffer {
                name: param_name(&self.prefix, "running_var"),
                shape: vec![self.features],
                data: self.running_var.clone(),
            },
            Buffer {
                name: param_name(&self.prefix, "num_batches_tracked"),
                shape: vec![],
                data: vec![self.num_batches_tracked as f32],
            },
        ]
    }

    /// Restores one buffer by its full name (as given by [`BatchNorm::buffers`]). Values must be
    /// finite, the variance non-negative and the batch count a non-negative integer.
    pub fn set_buffer(&mut self, name: &str, data: &[f32]) -> Result<()> {
        let is = |n: &str| name == param_name(&self.prefix, n);
        if is("running_mean") || is("running_var") {
            if data.len() != self.features {
                return Err(Error::shape(name, [self.features], [data.len()]));
            }
            check_finite(name, data)?;
            if is("running_var") {
                if let Some(v) = data.iter().find(|&&v| v < 0.0) {
                    return Err(Error::range(name, v, "≥ 0"));
                }
                self.running_var.copy_from_slice(data);
            } else {
                self.running_mean.copy_from_slice(data);
            }
            Ok(())
        } else if is("num_batches_tracked") {
            match data {
                [v] if v.is_finite() && *v >= 0.0 && v.fract() == 0.0 => {
                    self.num_batches_tracked = *v as u64;
                    Ok(())
                }
                [v] => Err(Error::range(name, v, "a non-negative integer")),
                _ => Err(Error::shape(name, [1], [data.len()])),
            }
        } else {
            Err(Error::unsupported(format!("batch norm buffer \"{name}\"")))
        }
    }

    fn check_params(&self) -> Result<()> {
        for p in self.params() {
            check_param(p, self.features)?;
        }
        Ok(())
    }

    /// Validates an input; returns the number of real rows.
    fn check_input(&self, x: &[f32], rows: usize, mask: Option<&[f32]>) -> Result<usize> {
        let n = checked_rows("batch_norm x", rows, self.features)?;
        if x.len() != n {
            return Err(Error::shape("batch_norm x", [rows, self.features], [x.len()]));
        }
        check_finite("batch_norm x", x)?;
        self.check_params()?;
        match mask {
            Some(m) => check_mask(m, rows),
            None => Ok(rows),
        }
    }

    fn gamma_beta(&self, j: usize) -> (f32, f32) {
        (self.weight.as_ref().map_or(1.0, |w| w.value[j]), self.bias.as_ref().map_or(0.0, |b| b.value[j]))
    }

    /// Inference with the running statistics; `y` resized to `rows × features`; padded rows
    /// (mask 0) output 0. Leaves caches and statistics untouched.
    pub fn infer(&self, x: &[f32], rows: usize, mask: Option<&[f32]>, y: &mut Vec<f32>) -> Result<()> {
        self.check_input(x, rows, mask)?;
        let f = self.features;
        crate::buffers::fit(y, rows * f);
        for (r, (xr, yr)) in x.chunks_exact(f).zip(y.chunks_exact_mut(f)).enumerate() {
            if mask.is_some_and(|m| m[r] == 0.0) {
                yr.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            for j in 0..f {
                // Rounded to f32 like the cached rstd, so that `infer` equals an inference
                // `forward` bit for bit.
                let rs = (1.0 / (self.running_var[j] as f64 + self.eps as f64).sqrt()) as f32 as f64;
                let h = ((xr[j] as f64 - self.running_mean[j] as f64) * rs) as f32;
                let (g, b) = self.gamma_beta(j);
                yr[j] = g * h + b;
            }
        }
        Ok(())
    }

    /// Forward pass, caching what [`BatchNorm::backward`] needs. With `training`, normalizes with
    /// the statistics of the real rows (at least 2 are required, as PyTorch refuses a single
    /// value per channel) and updates the running estimates and `num_batches_tracked`; without,
    /// behaves like [`BatchNorm::infer`]. On error nothing is changed.
    pub fn forward(
        &mut self,
        x: &[f32],
        rows: usize,
        mask: Option<&[f32]>,
        training: bool,
        y: &mut Vec<f32>,
    ) -> Result<()> {
        let count = self.check_input(x, rows, mask)?;
        if training && count < 2 {
            return Err(Error::range(
                "batch_norm real rows in training",
                count,
                "at least 2 (one value per channel has no variance)",
            ));
        }
        let f = self.features;
        let real = |r: usize| mask.is_none_or(|m| m[r] != 0.0);
        if training {
            // Two-pass mean and biased variance in f64 over the real rows.
            self.acc1.iter_mut().for_each(|v| *v = 0.0);
            self.acc2.iter_mut().for_each(|v| *v = 0.0);
            for (r, xr) in x.chunks_exact(f).enumerate() {
                if real(r) {
                    self.acc1.iter_mut().zip(xr).for_each(|(s, &v)| *s += v as f64);
                }
            }
            let n = count as f64;
            self.acc1.iter_mut().for_each(|s| *s /= n);
            for (r, xr) in x.chunks_exact(f).enumerate() {
                if real(r) {
                    for ((s2, &mean), &v) in self.acc2.iter_mut().zip(&self.acc1).zip(xr) {
                        let d = v as f64 - mean;
                        *s2 += d * d;
                    }
                }
            }
            self.acc2.iter_mut().for_each(|s| *s /= n);
            self.num_batches_tracked += 1;
            let factor = self.momentum.map_or(1.0 / self.num_batches_tracked as f64, |m| m as f64);
            for j in 0..f {
                let (mean, var) = (self.acc1[j], self.acc2[j]);
                self.rstd[j] = (1.0 / (var + self.eps as f64).sqrt()) as f32;
                let unbiased = var * n / (n - 1.0);
                self.running_mean[j] = ((1.0 - factor) * self.running_mean[j] as f64 + factor * mean) as f32;
                self.running_var[j] = ((1.0 - factor) * self.running_var[j] as f64 + factor * unbiased) as f32;
            }
        } else {
            for j in 0..f {
                self.acc1[j] = self.running_mean[j] as f64;
                self.rstd[j] = (1.0 / (self.running_var[j] as f64 + self.eps as f64).sqrt()) as f32;
            }
        }
        crate::buffers::fit(&mut self.xhat, rows * f);
        crate::buffers::fit(y, rows * f);
        let rows_iter = x.chunks_exact(f).zip(self.xhat.chunks_exact_mut(f)).zip(y.chunks_exact_mut(f));
        for (r, ((xr, hr), yr)) in rows_iter.enumerate() {
            if !real(r) {
                hr.iter_mut().for_each(|v| *v = 0.0);
                yr.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            for j in 0..f {
                let h = ((xr[j] as f64 - self.acc1[j]) * self.rstd[j] as f64) as f32;
                hr[j] = h;
                let g = self.weight.as_ref().map_or(1.0, |w| w.value[j]);
                let b = self.bias.as_ref().map_or(0.0, |b| b.value[j]);
                yr[j] = g * h + b;
            }
        }
        self.mask.clear();
        if let Some(m) = mask {
            self.mask.extend_from_slice(m);
        }
        self.rows = Some(rows);
        self.training = training;
        self.count = count;
        Ok(())
    }

    /// Floats a training forward of `rows` rows adds to the normalized input it keeps for
    /// backward, beyond what it holds.
    pub(crate) fn cache_growth(&self, rows: usize) -> usize {
        rows.saturating_mul(self.features).saturating_sub(self.xhat.capacity())
    }

    /// Backward of the last [`BatchNorm::forward`] given `dy` (`rows × features`): accumulates
    /// `weight.grad += Σ dy·xhat` and `bias.grad += Σ dy` over real rows and, if asked, writes
    /// `dx` (resized). In training mode the gradient flows through the batch mean and variance:
    /// `dx = rstd·(g − mean(g) − xhat·mean(g·xhat))` with `g = dy·weight`, means over real rows;
    /// in inference mode `dx = dy·weight·rstd`. Padded rows get `dx = 0`.
    pub fn backward(&mut self, dy: &[f32], dx: Option<&mut Vec<f32>>) -> Result<()> {
        let rows = self.rows.ok_or_else(|| Error::state("batch_norm backward before forward"))?;
        let f = self.features;
        if dy.len() != rows * f {
            return Err(Error::shape("batch_norm dy", [rows, f], [dy.len()]));
        }
        check_finite("batch_norm dy", dy)?;
        self.check_params()?;
        let mask = &self.mask;
        let real = |r: usize| mask.is_empty() || mask[r] != 0.0;
        // acc1 = Σ dy, acc2 = Σ dy·xhat over real rows, per feature.
        self.acc1.iter_mut().for_each(|v| *v = 0.0);
        self.acc2.iter_mut().for_each(|v| *v = 0.0);
        for (r, (dr, hr)) in dy.chunks_exact(f).zip(self.xhat.chunks_exact(f)).enumerate() {
            if real(r) {
                for j in 0..f {
                    self.acc1[j] += dr[j] as f64;
                    self.acc2[j] += dr[j] as f64 * hr[j] as f64;
                }
            }
        }
        if let Some(w) = &mut self.weight {
            w.grad.iter_mut().zip(&self.acc2).for_each(|(g, &s)| *g += s as f32);
        }
        if let Some(b) = &mut self.bias {
            b.grad.iter_mut().zip(&self.acc1).for_each(|(g, &s)| *g += s as f32);
        }
        let Some(dx) = dx else { return Ok(()) };
        dx.resize(rows * f, 0.0);
        let n = self.count as f64;
        let rows_iter = dy.chunks_exact(f).zip(self.xhat.chunks_exact(f)).zip(dx.chunks_exact_mut(f));
        for (r, ((dr, hr), xr)) in rows_iter.enumerate() {
            if !real(r) {
                xr.iter_mut().for_each(|v| *v = 0.0);
                continue;
            }
            for j in 0..f {
                let g = self.weight.as_ref().map_or(1.0, |w| w.value[j] as f64);
                let rs = self.rstd[j] as f64;
                xr[j] = if self.training {
                    // mean(dy·γ) = γ·Σdy/n and mean(dy·γ·xhat) = γ·Σdy·xhat/n.
                    (rs * g * (dr[j] as f64 - self.acc1[j] / n - hr[j] as f64 * self.acc2[j] / n)) as f32
                } else {
                    (dr[j] as f64 * g * rs) as f32
                };
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::*;
    use crate::rng::Rng;

    /// The allocation check counts exactly what a training forward adds to the kept `xhat`.
    #[test]
    fn cache_growth_is_what_a_training_forward_allocates() {
        let mut bn = BatchNorm::new("bn", 3, true).unwrap();
        for rows in [4, 4, 10, 2] {
            let x: Vec<f32> = (0..rows * 3).map(|i| i as f32).collect();
            let (growth, before) = (bn.cache_growth(rows), bn.xhat.capacity());
            bn.forward(&x, rows, None, true, &mut Vec::new()).unwrap();
            assert_eq!(growth, bn.xhat.capacity() - before, "{rows} rows");
        }
    }

    /// A layer with non-trivial affine parameters and running statistics.
    fn layer(affine: bool, features: usize, rng: &mut Rng) -> BatchNorm {
        let mut bn = BatchNorm::new("bn", features, affine).unwrap();
        if let (Some(w), Some(b)) = (&mut bn.weight, &mut bn.bias) {
            w.value.iter_mut().for_each(|v| *v = rng.uniform_range(0.5, 1.5));
            b.value.iter_mut().for_each(|v| *v = rng.uniform_range(-0.5, 0.5));
        }
        bn.running_mean.iter_mut().for_each(|v| *v = rng.uniform_range(-0.3, 0.3));
        bn.running_var.iter_mut().for_each(|v| *v = rng.uniform_range(0.5, 2.0));
        bn
    }

    /// Central differences with eps = 1e-2 on inputs of spread ≈ 1.15 (U(−2, 2)): rstd ≈ 0.9
    /// (at least ~0.5 with 4 real rows), so third derivatives of the normalized output are
    /// O(rstd³) and the truncation error eps²/6·O(1) ≲ 1e-4; the f32 rounding of an 18-term
    /// loss adds ≲ 1e-4 after dividing by 2·eps. atol 2e-3 + rtol 1e-2 leaves ~10× margin
    /// while a wrong statistics term would be off by O(0.1).
    const EPS: f32 = 1e-2;
    const ATOL: f64 = 2e-3;
    const RTOL: f64 = 1e-2;

    fn check_bn(affine: bool, masked: bool, training: bool, seed: u64) {
        let (rows, f) = (6, 3);
        let mut rng = Rng::new(seed);
        let mut bn = layer(affine, f, &mut rng);
        let x = rand_vec(&mut rng, rows * f, 2.0);
        let mask_v = [1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
        let mask = masked.then_some(&mask_v[..]);
        let w = loss_weights(&mut rng, rows * f);
        let label = format!("affine={affine} masked={masked} training={training}");
        let mut probe = bn.clone();
        let (mut y, mut dx) = (Vec::new(), Vec::new());
        bn.forward(&x, rows, mask, training, &mut y).unwrap();
        bn.backward(&as_f32(&w), Some(&mut dx)).unwrap();
        if masked {
            for r in [1, 4] {
                assert!(y[r * f..(r + 1) * f].iter().chain(&dx[r * f..(r + 1) * f]).all(|&v| v == 0.0));
            }
        }
        // The probe's running statistics drift with every training forward, but in training
        // mode they do not affect the output, and in inference mode they are not updated.
        check_grad(&format!("{label} dx"), &dx, EPS, ATOL, RTOL, |i, d| {
            let mut xp = x.clone();
            xp[i] += d;
            probe.forward(&xp, rows, mask, training, &mut y).unwrap();
            loss(&y, &w)
        });
        if affine {
            for which in 0..2 {
                let grad = if which == 0 { &bn.weight } else { &bn.bias }.as_ref().unwrap().grad.clone();
                check_grad(&format!("{label} param {which}"), &grad, EPS, ATOL, RTOL, |i, d| {
                    let p = if which == 0 { &mut probe.weight } else { &mut probe.bias }.as_mut().unwrap();
                    let old = p.value[i];
                    p.value[i] += d;
                    probe.forward(&x, rows, mask, training, &mut y).unwrap();
                    let p = if which == 0 { &mut probe.weight } else { &mut probe.bias }.as_mut().unwrap();
                    p.value[i] = old;
                    loss(&y, &w)
                });
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences_in_every_mode() {
        let mut seed = 30;
        for affine in [true, false] {
            for masked in [false, true] {
                for training in [true, false] {
                    check_bn(affine, masked, training, seed);
                    seed += 1;
                }
            }
        }
    }

    #[test]
    fn pytorch_example_by_hand() {
        // torch.nn.BatchNorm1d(1)(torch.tensor([[1.], [2.], [3.]])) in train mode:
        // mean 2, biased var 2/3 → y = (x − 2)/√(2/3 + 1e-5); unbiased var 1 →
        // running_mean = 0.1·2 = 0.2, running_var = 0.9·1 + 0.1·1 = 1.0, num_batches_tracked 1.
        let mut bn = BatchNorm::new("", 1, true).unwrap();
        let mut y = Vec::new();
        bn.forward(&[1.0, 2.0, 3.0], 3, None, true, &mut y).unwrap();
        let s = (2.0f64 / 3.0 + 1e-5).sqrt();
        for (got, want) in y.iter().zip([-1.0 / s, 0.0, 1.0 / s]) {
            assert!((*got as f64 - want).abs() < 1e-6, "{got} vs {want}");
        }
        assert!((bn.running_mean()[0] - 0.2).abs() < 1e-7);
        assert!((bn.running_var()[0] - 1.0).abs() < 1e-7);
        assert_eq!(bn.num_batches_tracked(), 1);
        // Eval: (x − 0.2)/√(1 + 1e-5).
        bn.infer(&[1.2], 1, None, &mut y).unwrap();
        assert!((y[0] as f64 - 1.0 / (1.0f64 + 1e-5).sqrt()).abs() < 1e-6);
    }

    /// Running statistics after several steps, recomputed by hand in f64.
    #[test]
    fn running_statistics_match_hand_computation() {
        for (masked, momentum) in [(false, Some(0.1)), (true, Some(0.1)), (true, None), (false, Some(0.3))] {
            let (rows, f) = (5, 2);
            let mut bn = BatchNorm::with_config("enc.bn", f, true, 1e-5, momentum).unwrap();
            let mut rng = Rng::new(77);
            let mut want_mean = vec![0.0f64; f];
            let mut want_var = vec![1.0f64; f];
            let mask_v = [1.0, 1.0, 0.0, 1.0, 0.0];
            let mask = masked.then_some(&mask_v[..]);
            let mut y = Vec::new();
            for step in 1..=4u64 {
                let x = rand_vec(&mut rng, rows * f, 3.0);
                let x: Vec<f32> = x.iter().map(|v| v + step as f32).collect(); // drifting mean
                bn.forward(&x, rows, mask, true, &mut y).unwrap();
                let real: Vec<usize> = (0..rows).filter(|&r| !masked || mask_v[r] == 1.0).collect();
                let n = real.len() as f64;
                let m = momentum.map_or(1.0 / step as f64, |m| m as f64);
                for j in 0..f {
                    let mean = real.iter().map(|&r| x[r * f + j] as f64).sum::<f64>() / n;
                    let ss = real.iter().map(|&r| (x[r * f + j] as f64 - mean).powi(2)).sum::<f64>();
                    want_mean[j] = (1.0 - m) * want_mean[j] + m * mean;
                    want_var[j] = (1.0 - m) * want_var[j] + m * ss / (n - 1.0);
                    // The output uses the biased variance.
                    for &r in &real {
                        let want_y = (x[r * f + j] as f64 - mean) / (ss / n + 1e-5).sqrt();
                        assert!((y[r * f + j] as f64 - want_y).abs() < 1e-5);
                    }
                }
                for j in 0..f {
                    let tol = 1e-6 * want_var[j].abs().max(1.0) * 4.0;
                    assert!((bn.running_mean()[j] as f64 - want_mean[j]).abs() < tol, "step {step} mean");
                    assert!((bn.running_var()[j] as f64 - want_var[j]).abs() < tol, "step {step} var");
                }
                assert_eq!(bn.num_batches_tracked(), step);
            }
            // Inference uses exactly these statistics, and does not change them.
            let x = rand_vec(&mut rng, rows * f, 1.0);
            let before = bn.buffers();
            let mut y2 = Vec::new();
            bn.infer(&x, rows, mask, &mut y2).unwrap();
            bn.forward(&x, rows, mask, false, &mut y).unwrap();
            assert_eq!(y, y2);
            assert_eq!(bn.buffers(), before);
            for r in 0..rows {
                for j in 0..f {
                    let want = if masked && mask_v[r] == 0.0 {
                        0.0
                    } else {
                        (x[r * f + j] as f64 - bn.running_mean()[j] as f64) / (bn.running_var()[j] as f64 + 1e-5).sqrt()
                    };
                    assert!((y[r * f + j] as f64 - want).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn padded_rows_do_not_change_the_result() {
        // Same real rows with and without extra padding rows holding arbitrary values.
        let mut rng = Rng::new(8);
        let f = 3;
        let real = rand_vec(&mut rng, 4 * f, 1.0);
        let junk = rand_vec(&mut rng, 2 * f, 50.0);
        let mut padded = real[..2 * f].to_vec();
        padded.extend_from_slice(&junk);
        padded.extend_from_slice(&real[2 * f..]);
        let mask = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0];
        let (mut a, mut b) = (layer(true, f, &mut Rng::new(1)), layer(true, f, &mut Rng::new(1)));
        let (mut ya, mut yb) = (Vec::new(), Vec::new());
        a.forward(&real, 4, None, true, &mut ya).unwrap();
        b.forward(&padded, 6, Some(&mask), true, &mut yb).unwrap();
        let yb_real: Vec<f32> = yb[..2 * f].iter().chain(&yb[4 * f..]).copied().collect();
        assert_eq!(ya, yb_real);
        assert_eq!(a.buffers(), b.buffers());
    }

    #[test]
    fn buffers_round_trip_with_pytorch_names() {
        let mut bn = BatchNorm::new("enc.norm", 2, false).unwrap();
        assert!(bn.params().is_empty() && !bn.affine());
        let names: Vec<String> = bn.buffers().into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["enc.norm.running_mean", "enc.norm.running_var", "enc.norm.num_batches_tracked"]);
        assert_eq!(bn.buffers()[2].shape, Vec::<usize>::new());
        assert_eq!(bn.buffers()[1].data, vec![1.0, 1.0]);
        bn.set_buffer("enc.norm.running_mean", &[0.5, -1.0]).unwrap();
        bn.set_buffer("enc.norm.running_var", &[2.0, 0.25]).unwrap();
        bn.set_buffer("enc.norm.num_batches_tracked", &[12.0]).unwrap();
        assert_eq!(bn.running_mean(), &[0.5, -1.0]);
        assert_eq!(bn.running_var(), &[2.0, 0.25]);
        assert_eq!(bn.num_batches_tracked(), 12);
        let mut other = BatchNorm::new("enc.norm", 2, false).unwrap();
        for b in bn.buffers() {
            other.set_buffer(&b.name, &b.data).unwrap();
        }
        assert_eq!(other.buffers(), bn.buffers());
        let affine = BatchNorm::new("", 2, true).unwrap();
        assert_eq!(affine.weight.as_ref().unwrap().name, "weight");
        assert_eq!(affine.weight.as_ref().unwrap().value, vec![1.0, 1.0]);
        assert_eq!(affine.bias.as_ref().unwrap().value, vec![0.0, 0.0]);
        assert_eq!(affine.buffers()[0].name, "running_mean");
    }

    #[test]
    fn bad_inputs_return_typed_errors_and_change_nothing() {
        assert_eq!(BatchNorm::new("b", 0, true).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(BatchNorm::with_config("b", 2, true, 0.0, Some(0.1)).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(BatchNorm::with_config("b", 2, true, 1e-5, Some(1.5)).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(BatchNorm::with_config("b", 2, true, 1e-5, Some(f32::NAN)).unwrap_err().code(), "ERR_RANGE");
        let mut bn = BatchNorm::new("b", 2, true).unwrap();
        let before = bn.buffers();
        let mut y = Vec::new();
        let code = |r: Result<()>| r.unwrap_err().code();
        assert_eq!(code(bn.backward(&[0.0; 4], None)), "ERR_STATE");
        assert_eq!(code(bn.forward(&[1.0, 2.0], 1, None, true, &mut y)), "ERR_RANGE"); // 1 value per channel
        assert_eq!(code(bn.forward(&[1.0, 2.0, 3.0, 4.0], 2, Some(&[1.0, 0.0]), true, &mut y)), "ERR_RANGE");
        assert_eq!(code(bn.forward(&[1.0; 4], 2, Some(&[1.0, 0.5]), true, &mut y)), "ERR_RANGE");
        assert_eq!(code(bn.forward(&[1.0; 4], 2, Some(&[1.0]), true, &mut y)), "ERR_SHAPE");
        assert_eq!(code(bn.forward(&[1.0; 5], 2, None, true, &mut y)), "ERR_SHAPE");
        assert_eq!(code(bn.forward(&[], 0, None, true, &mut y)), "ERR_RANGE");
        assert_eq!(code(bn.infer(&[1.0; 4], usize::MAX, None, &mut y)), "ERR_RANGE");
        assert_eq!(code(bn.forward(&[1.0, f32::NAN, 0.0, 2.0], 2, None, true, &mut y)), "ERR_NON_FINITE");
        assert_eq!(code(bn.infer(&[1.0, f32::NAN], 1, None, &mut y)), "ERR_NON_FINITE");
        assert_eq!(bn.buffers(), before, "failed forwards must not touch the statistics");
        // A single real row is fine in inference.
        bn.forward(&[1.0, 2.0], 1, None, false, &mut y).unwrap();
        bn.forward(&[1.0, 2.0, 3.0, 5.0], 2, None, true, &mut y).unwrap();
        assert_eq!(code(bn.backward(&[0.0; 3], None)), "ERR_SHAPE");
        assert_eq!(code(bn.backward(&[0.0, 0.0, f32::NAN, 0.0], None)), "ERR_NON_FINITE");
        assert_eq!(code(bn.set_buffer("b.running_var", &[1.0, -0.5])), "ERR_RANGE");
        assert_eq!(code(bn.set_buffer("b.running_mean", &[1.0])), "ERR_SHAPE");
        assert_eq!(code(bn.set_buffer("b.running_mean", &[1.0, f32::INFINITY])), "ERR_NON_FINITE");
        assert_eq!(code(bn.set_buffer("b.num_batches_tracked", &[1.5])), "ERR_RANGE");
        assert_eq!(code(bn.set_buffer("b.num_batches_tracked", &[])), "ERR_SHAPE");
        assert_eq!(code(bn.set_buffer("running_mean", &[0.0, 0.0])), "ERR_UNSUPPORTED");
        bn.weight.as_mut().unwrap().grad.clear();
        assert_eq!(code(bn.backward(&[0.0; 4], None)), "ERR_SHAPE");
    }
}
