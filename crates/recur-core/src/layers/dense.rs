//! A fully connected layer: PyTorch's `nn.Linear` followed by an optional elementwise
//! [`Activation`].

use super::{check_param, checked_rows, param_name};
use crate::activation::Activation;
use crate::error::{check_finite, check_size, checked_numel, Error, Result, MAX_ELEMENTS};
use crate::kernels::{gemm_nn, gemm_nt, gemm_tn};
use crate::init::DenseInit;
use crate::param::Param;
use crate::rng::Rng;

/// `y = f(x · Wᵀ + b)` on rows, with PyTorch `nn.Linear`'s parameter names, layout and
/// initialization.
///
/// Parameters: `{prefix}.weight` `[out, in]` and, optionally, `{prefix}.bias` `[out]`.
#[derive(Debug, Clone)]
pub struct Dense {
    /// Weight `[out_features, in_features]`.
    pub weight: Param,
    /// Bias `[out_features]`, if the layer has one.
    pub bias: Option<Param>,
    activation: Activation,
    in_features: usize,
    out_features: usize,
    /// Rows of the cached forward pass; `None` before the first `forward`.
    rows: Option<usize>,
    /// Cached input `[rows, in]`.
    x: Vec<f32>,
    /// Cached pre-activation `[rows, out]` (unused for a linear activation).
    z: Vec<f32>,
    /// Cached output `[rows, out]` (unused for a linear activation).
    y: Vec<f32>,
    /// Scratch for `dL/dz` `[rows, out]`.
    dz: Vec<f32>,
}

impl Dense {
    /// A layer `in_features → out_features` with PyTorch's default initialization: weight and
    /// bias both uniform in `[−1/√in, 1/√in)` (what `kaiming_uniform_(a=√5)` reduces to), drawn
    /// from `rng` weight first, row-major, then bias. `prefix` names the parameters (`""` gives
    /// plain `weight` / `bias`).
    pub fn new(
        prefix: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        activation: Activation,
        rng: &mut Rng,
    ) -> Result<Self> {
        Self::with_init(prefix, in_features, out_features, bias, activation, &DenseInit::default(), rng)
    }

    /// A layer initialized by `init` (see [`DenseInit`]; the weight is one `[out, in]` matrix,
    /// `fan_in = in`, `fan_out = out`), drawn from `rng` weight first, then bias. The default
    /// `init` gives exactly [`Dense::new`].
    pub fn with_init(
        prefix: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        activation: Activation,
        init: &DenseInit,
        rng: &mut Rng,
    ) -> Result<Self> {
        check_size("dense in_features", in_features, MAX_ELEMENTS)?;
        check_size("dense out_features", out_features, MAX_ELEMENTS)?;
        let weights = checked_numel("dense weight", &[out_features, in_features])?;
        activation.validate()?;
        init.validate()?;
        // values and gradients of the weight and the bias
        crate::param::check_allocatable("dense weight", weights.saturating_add(out_features).saturating_mul(2))?;
        let bound = 1.0 / (in_features as f32).sqrt();
        let mut weight = Param::zeros(param_name(prefix, "weight"), &[out_features, in_features]);
        init.weight.fill_matrix(&mut weight.value, out_features, in_features, bound, rng);
        let bias = match bias {
            true => {
                let mut b = Param::zeros(param_name(prefix, "bias"), &[out_features]);
                init.bias.fill_vector("dense init.bias", &mut b.value, bound, rng)?;
                Some(b)
            }
            false => None,
        };
        Ok(Dense {
            weight,
            bias,
            activation,
            in_features,
            out_features,
            rows: None,
            x: Vec::new(),
            z: Vec::new(),
            y: Vec::new(),
            dz: Vec::new(),
        })
    }

    /// Input width.
    pub fn in_features(&self) -> usize {
        self.in_features
    }

    /// Output width.
    pub fn out_features(&self) -> usize {
        self.out_features
    }

    /// The activation applied after the affine map.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// The parameters, weight first.
    pub fn params(&self) -> Vec<&Param> {
        std::iter::once(&self.weight).chain(self.bias.as_ref()).collect()
    }

    /// The parameters, mutably, weight first.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        std::iter::once(&mut self.weight).chain(self.bias.as_mut()).collect()
    }

    /// Sets all gradients to zero.
    pub fn zero_grad(&mut self) {
        self.params_mut().into_iter().for_each(Param::zero_grad);
    }

    fn check_params(&self) -> Result<()> {
        check_param(&self.weight, self.out_features * self.in_features)?;
        if let Some(b) = &self.bias {
            check_param(b, self.out_features)?;
        }
        Ok(())
    }

    fn check_input(&self, x: &[f32], rows: usize) -> Result<()> {
        let n = checked_rows("dense x", rows, self.in_features)?;
        checked_numel("dense y", &[rows, self.out_features])?;
        if x.len() != n {
            return Err(Error::shape("dense x", [rows, self.in_features], [x.len()]));
        }
        check_finite("dense x", x)?;
        self.check_params()
    }

    /// `z = x · Wᵀ + b` into `z` (already sized `rows · out`).
    fn affine(&self, x: &[f32], rows: usize, z: &mut [f32]) {
        gemm_nt(rows, self.out_features, self.in_features, x, &self.weight.value, 0.0, z);
        if let Some(b) = &self.bias {
            for row in z.chunks_exact_mut(self.out_features) {
                row.iter_mut().zip(&b.value).for_each(|(v, &bi)| *v += bi);
            }
        }
    }

    /// Inference: `y = f(x · Wᵀ + b)` for `x` of `rows × in_features`; `y` is resized to
    /// `rows × out_features`. Leaves the training caches untouched.
    pub fn infer(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) -> Result<()> {
        self.check_input(x, rows)?;
        crate::buffers::fit(y, rows * self.out_features);
        self.affine(x, rows, y);
        if self.activation != Activation::Linear {
            let act = self.activation;
            y.iter_mut().for_each(|v| *v = act.apply(*v));
        }
        Ok(())
    }

    /// Floats a training forward of `rows` rows adds to the caches beyond what they hold: the
    /// input, and with an activation its pre-activation and output.
    pub(crate) fn cache_growth(&self, rows: usize) -> usize {
        let (n_in, n_out) = (rows.saturating_mul(self.in_features), rows.saturating_mul(self.out_features));
        let activation = if self.activation == Activation::Linear { 0 } else { n_out.saturating_sub(self.z.capacity()) + n_out.saturating_sub(self.y.capacity()) };
        n_in.saturating_sub(self.x.capacity()) + activation
    }

    /// Floats the backward of the last training forward adds to the activation gradient it
    /// keeps, beyond what it holds.
    pub(crate) fn backward_growth(&self) -> usize {
        match self.rows {
            Some(rows) if self.activation != Activation::Linear => (rows * self.out_features).saturating_sub(self.dz.capacity()),
            _ => 0,
        }
    }

    /// Training forward: like [`Dense::infer`], and caches what [`Dense::backward`] needs
    /// (buffers are reused, so a repeating row count does not allocate).
    pub fn forward(&mut self, x: &[f32], rows: usize, y: &mut Vec<f32>) -> Result<()> {
        self.check_input(x, rows)?;
        let n_out = rows * self.out_features;
        crate::buffers::fit(y, n_out);
        self.affine(x, rows, y);
        crate::buffers::copy_into(&mut self.x, x);
        if self.activation != Activation::Linear {
            crate::buffers::copy_into(&mut self.z, y);
            let act = self.activation;
            y.iter_mut().for_each(|v| *v = act.apply(*v));
            crate::buffers::copy_into(&mut self.y, y);
        }
        self.rows = Some(rows);
        Ok(())
    }

    /// Backward of the last [`Dense::forward`] given `dy = dL/dy` (`rows × out_features`):
    /// accumulates into `weight.grad` (and `bias.grad`) and, if `dx` is given, writes
    /// `dL/dx` (`rows × in_features`) into it, resized. The gradient is taken at the current
    /// weights, which are expected to be those of the forward pass.
    pub fn backward(&mut self, dy: &[f32], dx: Option<&mut Vec<f32>>) -> Result<()> {
        let rows = self.rows.ok_or_else(|| Error::state("dense backward before forward"))?;
        let (n_in, n_out) = (self.in_features, self.out_features);
        if dy.len() != rows * n_out {
            return Err(Error::shape("dense dy", [rows, n_out], [dy.len()]));
        }
        check_finite("dense dy", dy)?;
        self.check_params()?;
        let dz: &[f32] = if self.activation == Activation::Linear {
            dy
        } else {
            let act = self.activation;
            crate::buffers::fit(&mut self.dz, dy.len());
            for (d, (&g, (&z, &y))) in self.dz.iter_mut().zip(dy.iter().zip(self.z.iter().zip(&self.y))) {
                *d = g * act.derivative(z, y);
            }
            &self.dz
        };
        // dW[out, in] += dzᵀ · x
        gemm_tn(n_out, n_in, rows, dz, &self.x, 1.0, &mut self.weight.grad);
        if let Some(b) = &mut self.bias {
            for row in dz.chunks_exact(n_out) {
                b.grad.iter_mut().zip(row).for_each(|(g, &d)| *g += d);
            }
        }
        if let Some(dx) = dx {
            dx.resize(rows * n_in, 0.0);
            // dx[rows, in] = dz · W
            gemm_nn(rows, n_in, n_out, dz, &self.weight.value, 0.0, dx);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::*;

    /// The allocation checks count exactly what a training forward adds to the caches and
    /// backward to the activation gradient (more would stay in the wasm heap for good), for
    /// growing, equal and smaller row counts, with and without an activation.
    #[test]
    fn cache_and_backward_growth_are_what_the_passes_allocate() {
        let caps = |d: &Dense| d.x.capacity() + d.z.capacity() + d.y.capacity();
        for act in [Activation::Linear, Activation::Tanh] {
            let mut d = Dense::new("d", 3, 2, true, act, &mut Rng::new(5)).unwrap();
            for rows in [4, 4, 9, 2, 9] {
                let x = vec![0.5f32; rows * 3];
                let (growth, before) = (d.cache_growth(rows), caps(&d));
                let mut y = Vec::new();
                d.forward(&x, rows, &mut y).unwrap();
                assert_eq!(growth, caps(&d) - before, "{act:?}, {rows} rows: forward");
                let (growth, before) = (d.backward_growth(), d.dz.capacity());
                d.backward(&vec![0.25f32; rows * 2], None).unwrap();
                assert_eq!(growth, d.dz.capacity() - before, "{act:?}, {rows} rows: backward");
            }
        }
    }

    const ACTS: [Activation; 6] = [
        Activation::Linear,
        Activation::Tanh,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::LeakyRelu { slope: 0.1 },
        Activation::Elu { alpha: 1.3 },
    ];

    /// Central differences on the f32 forward with eps = 1e-2. Each loss evaluation sums
    /// ~rows·out ≈ 20 products of O(1) terms, so its f32 rounding error is ≲ 20·6e-8 ≈ 1e-6,
    /// i.e. ≲ 1e-4 after dividing by 2·eps; the truncation error of the central difference is
    /// eps²/6·|f'''| ≲ 2e-5 for these smooth activations. atol 1e-3 + rtol 1e-2 leaves a wide
    /// margin over both while still catching any wrong term (errors would be O(0.1)).
    const EPS: f32 = 1e-2;
    const ATOL: f64 = 1e-3;
    const RTOL: f64 = 1e-2;

    /// A random layer and input whose pre-activations all stay at least `2·eps` away from 0.
    /// For the kinked activations (ReLU, leaky ReLU, ELU at 0) a central difference is only
    /// valid if no perturbation (which moves a pre-activation by at most eps·max(|x|,|w|,1) =
    /// eps) crosses the kink, so fixtures violating that are skipped deterministically.
    fn fixture(act: Activation, bias: bool, seed: u64, rows: usize, n_in: usize, n_out: usize) -> (Dense, Vec<f32>) {
        for attempt in 0..100 {
            let mut rng = Rng::new(seed + 1000 * attempt);
            let layer = Dense::new("head", n_in, n_out, bias, act, &mut rng).unwrap();
            let x = rand_vec(&mut rng, rows * n_in, 1.0);
            let mut z = Vec::new();
            Dense { activation: Activation::Linear, ..layer.clone() }.infer(&x, rows, &mut z).unwrap();
            if z.iter().all(|v| v.abs() > 2.0 * EPS) {
                return (layer, x);
            }
        }
        panic!("no fixture without a pre-activation near 0");
    }

    fn check_dense(act: Activation, bias: bool, seed: u64) {
        let (rows, n_in, n_out) = (5, 4, 3);
        let (mut layer, x) = fixture(act, bias, seed, rows, n_in, n_out);
        let w = loss_weights(&mut Rng::new(seed ^ 0x5eed), rows * n_out);
        let mut y = Vec::new();
        layer.forward(&x, rows, &mut y).unwrap();

        let dy = as_f32(&w);
        let mut dx = Vec::new();
        layer.backward(&dy, Some(&mut dx)).unwrap();

        let mut probe = layer.clone();
        let mut out = Vec::new();
        check_grad(&format!("{act:?} dx"), &dx, EPS, ATOL, RTOL, |i, d| {
            let mut xp = x.clone();
            xp[i] += d;
            probe.infer(&xp, rows, &mut out).unwrap();
            loss(&out, &w)
        });
        let gw = layer.weight.grad.clone();
        check_grad(&format!("{act:?} weight"), &gw, EPS, ATOL, RTOL, |i, d| {
            let old = probe.weight.value[i];
            probe.weight.value[i] += d;
            probe.infer(&x, rows, &mut out).unwrap();
            probe.weight.value[i] = old;
            loss(&out, &w)
        });
        if bias {
            let gb = layer.bias.as_ref().unwrap().grad.clone();
            check_grad(&format!("{act:?} bias"), &gb, EPS, ATOL, RTOL, |i, d| {
                let b = probe.bias.as_mut().unwrap();
                let old = b.value[i];
                b.value[i] += d;
                probe.infer(&x, rows, &mut out).unwrap();
                probe.bias.as_mut().unwrap().value[i] = old;
                loss(&out, &w)
            });
        }
    }

    #[test]
    fn gradients_match_finite_differences_for_every_activation_with_and_without_bias() {
        for (k, act) in ACTS.into_iter().enumerate() {
            check_dense(act, true, 100 + k as u64);
            check_dense(act, false, 200 + k as u64);
        }
    }

    #[test]
    fn forward_matches_direct_formula_and_infer() {
        let mut rng = Rng::new(3);
        let mut layer = Dense::new("", 3, 2, true, Activation::Tanh, &mut rng).unwrap();
        assert_eq!(layer.weight.name, "weight");
        assert_eq!(layer.bias.as_ref().unwrap().name, "bias");
        let x = rand_vec(&mut rng, 4 * 3, 2.0);
        let mut y = Vec::new();
        layer.forward(&x, 4, &mut y).unwrap();
        let (w, b) = (&layer.weight.value, &layer.bias.as_ref().unwrap().value);
        for r in 0..4 {
            for o in 0..2 {
                let z: f64 = b[o] as f64 + (0..3).map(|i| x[r * 3 + i] as f64 * w[o * 3 + i] as f64).sum::<f64>();
                assert!((y[r * 2 + o] as f64 - z.tanh()).abs() < 1e-6);
            }
        }
        let mut y2 = Vec::new();
        layer.infer(&x, 4, &mut y2).unwrap();
        assert_eq!(y, y2);
    }

    #[test]
    fn init_is_pytorch_uniform_bound_and_names_use_prefix() {
        let mut rng = Rng::new(9);
        let layer = Dense::new("fc", 16, 64, true, Activation::Linear, &mut rng).unwrap();
        assert_eq!(layer.weight.name, "fc.weight");
        assert_eq!(layer.weight.shape, vec![64, 16]);
        let b = layer.bias.as_ref().unwrap();
        assert_eq!((b.name.as_str(), b.shape.as_slice()), ("fc.bias", &[64][..]));
        let bound = 0.25f32; // 1/√16
        let all: Vec<f32> = layer.weight.value.iter().chain(&b.value).copied().collect();
        assert!(all.iter().all(|v| (-bound..bound).contains(v)));
        // Spread over the whole interval (1088 draws: min/max within 2% of the bound).
        let max = all.iter().cloned().fold(f32::MIN, f32::max);
        let min = all.iter().cloned().fold(f32::MAX, f32::min);
        assert!(max > 0.98 * bound && min < -0.98 * bound, "{min} {max}");
        // Same seed, same weights.
        let again = Dense::new("fc", 16, 64, true, Activation::Linear, &mut Rng::new(9)).unwrap();
        assert_eq!(again.weight.value, layer.weight.value);
    }

    #[test]
    fn backward_accumulates_and_buffers_are_reused() {
        let mut rng = Rng::new(5);
        let mut layer = Dense::new("d", 3, 2, true, Activation::Sigmoid, &mut rng).unwrap();
        let x = rand_vec(&mut rng, 6 * 3, 1.0);
        let dy = rand_vec(&mut rng, 6 * 2, 1.0);
        let (mut y, mut dx) = (Vec::new(), Vec::new());
        layer.forward(&x, 6, &mut y).unwrap();
        layer.backward(&dy, Some(&mut dx)).unwrap();
        let once = layer.weight.grad.clone();
        let caps = (layer.x.as_ptr(), layer.z.as_ptr(), layer.y.as_ptr(), layer.dz.as_ptr(), y.as_ptr(), dx.as_ptr());
        layer.forward(&x, 6, &mut y).unwrap();
        layer.backward(&dy, Some(&mut dx)).unwrap();
        let caps2 = (layer.x.as_ptr(), layer.z.as_ptr(), layer.y.as_ptr(), layer.dz.as_ptr(), y.as_ptr(), dx.as_ptr());
        assert_eq!(caps, caps2, "a repeated row count must not reallocate");
        for (g2, g1) in layer.weight.grad.iter().zip(&once) {
            assert!((g2 - 2.0 * g1).abs() < 1e-6);
        }
        layer.zero_grad();
        assert!(layer.weight.grad.iter().chain(&layer.bias.as_ref().unwrap().grad).all(|&g| g == 0.0));
    }

    #[test]
    fn bad_inputs_return_typed_errors() {
        let mut rng = Rng::new(1);
        assert_eq!(Dense::new("d", 0, 2, true, Activation::Linear, &mut rng).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(Dense::new("d", 2, 0, true, Activation::Linear, &mut rng).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(
            Dense::new("d", 1 << 20, 1 << 20, true, Activation::Linear, &mut rng).unwrap_err().code(),
            "ERR_RANGE"
        );
        assert_eq!(
            Dense::new("d", 2, 2, true, Activation::Elu { alpha: f32::NAN }, &mut rng).unwrap_err().code(),
            "ERR_RANGE"
        );
        let mut layer = Dense::new("d", 3, 2, true, Activation::Tanh, &mut rng).unwrap();
        let mut y = Vec::new();
        assert_eq!(layer.backward(&[0.0; 4], None).unwrap_err().code(), "ERR_STATE");
        assert_eq!(layer.forward(&[0.0; 5], 2, &mut y).unwrap_err().code(), "ERR_SHAPE");
        assert_eq!(layer.forward(&[], 0, &mut y).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(layer.infer(&[0.0; 3], usize::MAX, &mut y).unwrap_err().code(), "ERR_RANGE");
        let mut x = vec![0.5; 6];
        x[4] = f32::NAN;
        let e = layer.forward(&x, 2, &mut y).unwrap_err();
        assert_eq!(e, Error::NonFinite { what: "dense x".into(), index: 4 });
        assert_eq!(layer.infer(&x, 2, &mut y).unwrap_err().code(), "ERR_NON_FINITE");
        layer.forward(&[0.5; 6], 2, &mut y).unwrap();
        assert_eq!(layer.backward(&[0.0; 3], None).unwrap_err().code(), "ERR_SHAPE");
        assert_eq!(layer.backward(&[f32::INFINITY; 4], None).unwrap_err().code(), "ERR_NON_FINITE");
        layer.weight.value.pop();
        assert_eq!(layer.forward(&[0.5; 6], 2, &mut y).unwrap_err().code(), "ERR_SHAPE");
    }
}
