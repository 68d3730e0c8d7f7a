//! Parameter initializations: PyTorch's default and the schemes of `torch.nn.init`
//! (`xavier_uniform_`, `xavier_normal_`, `kaiming_uniform_`, `kaiming_normal_`, `orthogonal_`,
//! `zeros_`, `constant_`, `uniform_`, `normal_`), chosen per parameter group of a layer with
//! the layer's `init` option, and drawn from the model's seeded generator (so a seed fixes the
//! weights on every platform).
//!
//! # JSON
//!
//! An [`Init`] is written as its name when it has no parameters or all of them are at their
//! defaults, and otherwise as an object with one key, the name, holding the parameters (each
//! optional, defaulting like `torch.nn.init`):
//!
//! ```json
//! "pytorch_default"
//! "xavier_uniform"            {"xavier_uniform": {"gain": 1.0}}
//! "xavier_normal"             {"xavier_normal": {"gain": 1.0}}
//! "kaiming_uniform"           {"kaiming_uniform": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"}}
//! "kaiming_normal"            {"kaiming_normal": {"a": 0.0, "mode": "fan_out", "nonlinearity": "relu"}}
//! "orthogonal"                {"orthogonal": {"gain": 1.0}}
//! "zeros"                     {"constant": {"value": 0.5}}   (constant has no default value)
//! "uniform" (U(0, 1))         {"uniform": {"a": -0.1, "b": 0.1}}
//! "normal" (N(0, 1))          {"normal": {"mean": 0.0, "std": 0.02}}
//! ```
//!
//! A recurrent layer takes `"init": {"weight_ih": ..., "weight_hh": ..., "bias": ...,
//! "forget_bias": 1.0}` ([`RecurrentInit`]), a dense layer `"init": {"weight": ..., "bias": ...}`
//! ([`DenseInit`]); every field is optional and defaults to PyTorch's initialization, so a model
//! without `init` is built exactly (bit for bit) as before the option existed.
//!
//! # Formulas (fan_in = columns, fan_out = rows of the `[rows, cols]` matrix)
//!
//! | kind | distribution |
//! |---|---|
//! | `pytorch_default` | `U(−1/√H, 1/√H)` in recurrent layers, `U(−1/√in, 1/√in)` in dense layers |
//! | `xavier_uniform` | `U(−a, a)`, `a = gain·√(6/(fan_in+fan_out))` |
//! | `xavier_normal` | `N(0, std²)`, `std = gain·√(2/(fan_in+fan_out))` |
//! | `kaiming_uniform` | `U(−b, b)`, `b = √3·gain(nonlinearity, a)/√fan` |
//! | `kaiming_normal` | `N(0, std²)`, `std = gain(nonlinearity, a)/√fan` |
//! | `orthogonal` | `gain·Q`, `Q` from the QR decomposition of a standard normal matrix (of its transpose when rows < cols), signs fixed so that `diag(R) > 0` |
//! | `zeros`, `constant` | the value |
//! | `uniform`, `normal` | `U(a, b)`, `N(mean, std²)` |
//!
//! `fan` is `fan_in` or `fan_out` by `mode`; `gain(nonlinearity, a)` is PyTorch's
//! `calculate_gain`: 1 for `linear` and `sigmoid`, 5/3 for `tanh`, √2 for `relu`,
//! `√(2/(1+a²))` for `leaky_relu` (the default, with `a = 0`: √2), 3/4 for `selu`.
//!
//! Recurrent weights (`[G·H, in]` and `[G·H, H]`, gates stacked) are initialized **per gate
//! block**: each `[H, in]` / `[H, H]` block is its own matrix for the fans and for
//! orthogonality, as Keras does (so `orthogonal` makes every gate's `W_hh` block orthogonal, and
//! `xavier_*` uses `fan_out = H`, not `G·H`). The fan-based and orthogonal kinds need a matrix:
//! on a bias they are an error.

use crate::decimal::Text;
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::json::read::JResult;
use crate::json::{map_entries, Fields, FromJson, JsonError, Kind, Value, Writer};

/// Which fan the Kaiming schemes divide by (`torch.nn.init`'s `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FanMode {
    /// The number of columns (inputs): preserves the forward variance (default).
    #[default]
    FanIn,
    /// The number of rows (outputs): preserves the backward variance.
    FanOut,
}

/// The nonlinearity whose gain a Kaiming scheme uses (`torch.nn.init.calculate_gain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Nonlinearity {
    /// Gain 1.
    Linear,
    /// Gain 1.
    Sigmoid,
    /// Gain 5/3.
    Tanh,
    /// Gain √2.
    Relu,
    /// Gain `√(2/(1+a²))` with the scheme's `a` (PyTorch's default).
    #[default]
    LeakyRelu,
    /// Gain 3/4.
    Selu,
}

impl Nonlinearity {
    const NAMES: [(&'static str, Nonlinearity); 6] = [
        ("linear", Nonlinearity::Linear),
        ("sigmoid", Nonlinearity::Sigmoid),
        ("tanh", Nonlinearity::Tanh),
        ("relu", Nonlinearity::Relu),
        ("leaky_relu", Nonlinearity::LeakyRelu),
        ("selu", Nonlinearity::Selu),
    ];

    fn name(self) -> &'static str {
        Self::NAMES.iter().find(|(_, n)| *n == self).map(|(s, _)| *s).expect("every nonlinearity is named")
    }

    /// PyTorch's `calculate_gain(nonlinearity, a)`.
    pub fn gain(self, a: f32) -> f64 {
        match self {
            Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
            Nonlinearity::Tanh => 5.0 / 3.0,
            Nonlinearity::Relu => 2f64.sqrt(),
            Nonlinearity::LeakyRelu => (2.0 / (1.0 + (a as f64) * (a as f64))).sqrt(),
            Nonlinearity::Selu => 0.75,
        }
    }
}

/// How to initialize one parameter (see the [module docs](self) for the JSON form and the
/// formulas).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Init {
    /// PyTorch's default for the layer: `U(−1/√H, 1/√H)` (recurrent), `U(−1/√in, 1/√in)` (dense).
    #[default]
    PytorchDefault,
    /// Glorot uniform: `U(−a, a)`, `a = gain·√(6/(fan_in+fan_out))`.
    XavierUniform {
        /// Scale factor (default 1).
        gain: f32,
    },
    /// Glorot normal: `N(0, std²)`, `std = gain·√(2/(fan_in+fan_out))`.
    XavierNormal {
        /// Scale factor (default 1).
        gain: f32,
    },
    /// He uniform: `U(−b, b)`, `b = √3·gain(nonlinearity, a)/√fan`.
    KaimingUniform {
        /// Negative slope of the rectifier (default 0), used by `leaky_relu`.
        a: f32,
        /// Which fan (default `fan_in`).
        mode: FanMode,
        /// Whose gain (default `leaky_relu`).
        nonlinearity: Nonlinearity,
    },
    /// He normal: `N(0, std²)`, `std = gain(nonlinearity, a)/√fan`.
    KaimingNormal {
        /// Negative slope of the rectifier (default 0), used by `leaky_relu`.
        a: f32,
        /// Which fan (default `fan_in`).
        mode: FanMode,
        /// Whose gain (default `leaky_relu`).
        nonlinearity: Nonlinearity,
    },
    /// A (semi-)orthogonal matrix times `gain` (Saxe et al., 2013).
    Orthogonal {
        /// Scale factor (default 1).
        gain: f32,
    },
    /// All zeros.
    Zeros,
    /// Every element `value`.
    Constant {
        /// The value.
        value: f32,
    },
    /// `U(a, b)` (default `U(0, 1)`).
    Uniform {
        /// Lower bound.
        a: f32,
        /// Upper bound.
        b: f32,
    },
    /// `N(mean, std²)` (default `N(0, 1)`).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation (≥ 0).
        std: f32,
    },
}

/// The kind names, as written in JSON.
pub const INIT_KINDS: [&str; 10] = [
    "pytorch_default",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "zeros",
    "constant",
    "uniform",
    "normal",
];

impl Init {
    /// The kind's JSON name.
    pub fn kind(&self) -> &'static str {
        match self {
            Init::PytorchDefault => "pytorch_default",
            Init::XavierUniform { .. } => "xavier_uniform",
            Init::XavierNormal { .. } => "xavier_normal",
            Init::KaimingUniform { .. } => "kaiming_uniform",
            Init::KaimingNormal { .. } => "kaiming_normal",
            Init::Orthogonal { .. } => "orthogonal",
            Init::Zeros => "zeros",
            Init::Constant { .. } => "constant",
            Init::Uniform { .. } => "uniform",
            Init::Normal { .. } => "normal",
        }
    }

    /// Whether this is PyTorch's default (what an absent option means).
    pub fn is_default(&self) -> bool {
        *self == Init::PytorchDefault
    }

    /// Whether the kind needs a matrix (fans or orthogonality), so cannot fill a vector.
    pub fn needs_matrix(&self) -> bool {
        matches!(
            self,
            Init::XavierUniform { .. } | Init::XavierNormal { .. } | Init::KaimingUniform { .. } | Init::KaimingNormal { .. } | Init::Orthogonal { .. }
        )
    }

    /// The kind with every parameter at its `torch.nn.init` default, for a name.
    fn from_name(name: &str) -> Option<Init> {
        Some(match name {
            "pytorch_default" => Init::PytorchDefault,
            "xavier_uniform" => Init::XavierUniform { gain: 1.0 },
            "xavier_normal" => Init::XavierNormal { gain: 1.0 },
            "kaiming_uniform" => Init::KaimingUniform { a: 0.0, mode: FanMode::FanIn, nonlinearity: Nonlinearity::LeakyRelu },
            "kaiming_normal" => Init::KaimingNormal { a: 0.0, mode: FanMode::FanIn, nonlinearity: Nonlinearity::LeakyRelu },
            "orthogonal" => Init::Orthogonal { gain: 1.0 },
            "zeros" => Init::Zeros,
            "constant" => Init::Constant { value: 0.0 },
            "uniform" => Init::Uniform { a: 0.0, b: 1.0 },
            "normal" => Init::Normal { mean: 0.0, std: 1.0 },
            _ => return None,
        })
    }

    /// Checks the parameters: finite numbers, `std ≥ 0`, `a ≤ b`. `what` names the option in
    /// the error (e.g. `"init.weight_hh"`).
    pub fn validate(&self, what: &str) -> Result<()> {
        let finite = |name: &str, v: f32| {
            if v.is_finite() {
                Ok(())
            } else {
                Err(Error::range(format!("{what} {} {name}", self.kind()), v, "a finite number"))
            }
        };
        match *self {
            Init::PytorchDefault | Init::Zeros => Ok(()),
            Init::XavierUniform { gain } | Init::XavierNormal { gain } | Init::Orthogonal { gain } => finite("gain", gain),
            Init::KaimingUniform { a, .. } | Init::KaimingNormal { a, .. } => finite("a", a),
            Init::Constant { value } => finite("value", value),
            Init::Uniform { a, b } => {
                finite("a", a)?;
                finite("b", b)?;
                if a > b {
                    return Err(Error::range(format!("{what} uniform"), format!("a = {}, b = {}", a.text(), b.text()), "a <= b"));
                }
                if !(b - a).is_finite() {
                    return Err(Error::range(format!("{what} uniform"), format!("a = {}, b = {}", a.text(), b.text()), "b - a finite"));
                }
                Ok(())
            }
            Init::Normal { mean, std } => {
                finite("mean", mean)?;
                finite("std", std)?;
                if std < 0.0 {
                    return Err(Error::range(format!("{what} normal std"), std, "std >= 0"));
                }
                Ok(())
            }
        }
    }

    /// Fills `out`, a row-major `[rows, cols]` matrix, drawing from `rng` in row-major order
    /// (orthogonal: a `[rows, cols]` standard normal matrix, row-major). `default_bound` is the
    /// bound of [`Init::PytorchDefault`]'s `U(−bound, bound)`.
    pub fn fill_matrix(&self, out: &mut [f32], rows: usize, cols: usize, default_bound: f32, rng: &mut Rng) {
        debug_assert_eq!(out.len(), rows * cols);
        let (fan_in, fan_out) = (cols as f64, rows as f64);
        match *self {
            Init::XavierUniform { gain } => {
                let a = (gain as f64 * (6.0 / (fan_in + fan_out)).sqrt()) as f32;
                out.iter_mut().for_each(|v| *v = rng.uniform_range(-a, a));
            }
            Init::XavierNormal { gain } => {
                let std = (gain as f64 * (2.0 / (fan_in + fan_out)).sqrt()) as f32;
                out.iter_mut().for_each(|v| *v = std * rng.normal());
            }
            Init::KaimingUniform { a, mode, nonlinearity } => {
                let fan = if mode == FanMode::FanIn { fan_in } else { fan_out };
                let bound = (3f64.sqrt() * nonlinearity.gain(a) / fan.sqrt()) as f32;
                out.iter_mut().for_each(|v| *v = rng.uniform_range(-bound, bound));
            }
            Init::KaimingNormal { a, mode, nonlinearity } => {
                let fan = if mode == FanMode::FanIn { fan_in } else { fan_out };
                let std = (nonlinearity.gain(a) / fan.sqrt()) as f32;
                out.iter_mut().for_each(|v| *v = std * rng.normal());
            }
            Init::Orthogonal { gain } => orthogonal(out, rows, cols, gain, rng),
            _ => self.fill_elementwise(out, default_bound, rng),
        }
    }

    /// Fills a vector (a bias). The fan-based and orthogonal kinds are an error here.
    pub fn fill_vector(&self, what: &str, out: &mut [f32], default_bound: f32, rng: &mut Rng) -> Result<()> {
        if self.needs_matrix() {
            return Err(Error::unsupported(format!("{what}: '{}' needs a matrix (use pytorch_default, zeros, constant, uniform or normal)", self.kind())));
        }
        self.fill_elementwise(out, default_bound, rng);
        Ok(())
    }

    fn fill_elementwise(&self, out: &mut [f32], default_bound: f32, rng: &mut Rng) {
        match *self {
            Init::PytorchDefault => out.iter_mut().for_each(|v| *v = rng.uniform_range(-default_bound, default_bound)),
            Init::Zeros => out.iter_mut().for_each(|v| *v = 0.0),
            Init::Constant { value } => out.iter_mut().for_each(|v| *v = value),
            Init::Uniform { a, b } => out.iter_mut().for_each(|v| *v = rng.uniform_range(a, b)),
            Init::Normal { mean, std } => out.iter_mut().for_each(|v| *v = mean + std * rng.normal()),
            _ => unreachable!("matrix kinds are handled by fill_matrix"),
        }
    }

    /// Writes the JSON form (see the module docs): the name alone when every parameter is at
    /// its default, else `{"<kind>": {params}}` (parameters written as `f64`s, as earlier
    /// versions did).
    pub fn write_json(self, w: &mut Writer) {
        let params: &[(&str, f32)] = match self {
            Init::XavierUniform { gain } | Init::XavierNormal { gain } | Init::Orthogonal { gain } => &[("gain", gain)],
            Init::KaimingUniform { a, .. } | Init::KaimingNormal { a, .. } => &[("a", a)],
            Init::Constant { value } => &[("value", value)],
            Init::Uniform { a, b } => &[("a", a), ("b", b)],
            Init::Normal { mean, std } => &[("mean", mean), ("std", std)],
            Init::PytorchDefault | Init::Zeros => &[],
        };
        // `constant` has no default value, so it is always written with it.
        if params.is_empty() || (!matches!(self, Init::Constant { .. }) && Init::from_name(self.kind()) == Some(self)) {
            w.string(self.kind());
            return;
        }
        w.open_object().key(self.kind()).open_object();
        for &(k, v) in params {
            w.key(k).f32_as_f64(v);
        }
        if let Init::KaimingUniform { mode, nonlinearity, .. } | Init::KaimingNormal { mode, nonlinearity, .. } = self {
            w.key("mode").string(if mode == FanMode::FanIn { "fan_in" } else { "fan_out" });
            w.key("nonlinearity").string(nonlinearity.name());
        }
        w.close_object().close_object();
    }

    fn from_json(v: &Value) -> std::result::Result<Init, String> {
        let known = || INIT_KINDS.join(", ");
        let (name, params) = match &v.kind {
            Kind::Str(s) => (s.as_str(), None),
            Kind::Object(m) if map_entries(m).len() == 1 => {
                let (k, p) = map_entries(m)[0];
                (k.as_str(), Some(p))
            }
            _ => return Err(format!("an init must be a kind name or {{\"<kind>\": {{...}}}} with one key, got {v} (kinds: {})", known())),
        };
        let mut init = Init::from_name(name).ok_or_else(|| format!("unknown init kind '{name}' (kinds: {})", known()))?;
        let Some(params) = params else {
            if matches!(init, Init::Constant { .. }) {
                return Err("init 'constant' needs its value: {\"constant\": {\"value\": ...}}".to_string());
            }
            return Ok(init);
        };
        let Kind::Object(members) = &params.kind else {
            return Err(format!("init '{name}': its parameters must be an object, got {params}"));
        };
        let members = map_entries(members);
        let allowed: &[&str] = match init {
            Init::PytorchDefault | Init::Zeros => &[],
            Init::XavierUniform { .. } | Init::XavierNormal { .. } | Init::Orthogonal { .. } => &["gain"],
            Init::KaimingUniform { .. } | Init::KaimingNormal { .. } => &["a", "mode", "nonlinearity"],
            Init::Constant { .. } => &["value"],
            Init::Uniform { .. } => &["a", "b"],
            Init::Normal { .. } => &["mean", "std"],
        };
        for (k, _) in &members {
            if !allowed.contains(&k.as_str()) {
                return Err(format!("init '{name}': unknown parameter '{k}' (known: {})", allowed.join(", ")));
            }
        }
        let num = |key: &str, default: f32| -> std::result::Result<f32, String> {
            match params.get(key) {
                None => Ok(default),
                Some(v) => v.to_f64().map(|x| x as f32).map_err(|_| format!("init '{name}': '{key}' must be a number, got {v}")),
            }
        };
        if matches!(init, Init::Constant { .. }) && params.get("value").is_none() {
            return Err(format!("init '{name}': missing parameter 'value'"));
        }
        init = match init {
            Init::XavierUniform { gain } => Init::XavierUniform { gain: num("gain", gain)? },
            Init::XavierNormal { gain } => Init::XavierNormal { gain: num("gain", gain)? },
            Init::Orthogonal { gain } => Init::Orthogonal { gain: num("gain", gain)? },
            Init::KaimingUniform { a, mode, nonlinearity } | Init::KaimingNormal { a, mode, nonlinearity } => {
                let a = num("a", a)?;
                let mode = match params.get("mode") {
                    None => mode,
                    Some(v) if v.as_str() == Some("fan_in") => FanMode::FanIn,
                    Some(v) if v.as_str() == Some("fan_out") => FanMode::FanOut,
                    Some(other) => return Err(format!("init '{name}': unknown mode {other} (fan_in, fan_out)")),
                };
                let nonlinearity = match params.get("nonlinearity").map(|v| (v, v.as_str())) {
                    None => nonlinearity,
                    Some((_, Some(s))) => Nonlinearity::NAMES.iter().find(|(n, _)| *n == s).map(|(_, nl)| *nl).ok_or_else(|| {
                        let names: Vec<&str> = Nonlinearity::NAMES.iter().map(|(n, _)| *n).collect();
                        format!("init '{name}': unknown nonlinearity '{s}' ({})", names.join(", "))
                    })?,
                    Some((other, None)) => return Err(format!("init '{name}': 'nonlinearity' must be a string, got {other}")),
                };
                if matches!(init, Init::KaimingUniform { .. }) {
                    Init::KaimingUniform { a, mode, nonlinearity }
                } else {
                    Init::KaimingNormal { a, mode, nonlinearity }
                }
            }
            Init::Constant { value } => Init::Constant { value: num("value", value)? },
            Init::Uniform { a, b } => Init::Uniform { a: num("a", a)?, b: num("b", b)? },
            Init::Normal { mean, std } => Init::Normal { mean: num("mean", mean)?, std: num("std", std)? },
            other => other,
        };
        Ok(init)
    }
}

impl FromJson for Init {
    fn from_value(v: &Value) -> JResult<Self> {
        Init::from_json(v).map_err(|msg| JsonError::new(msg, v.at))
    }
}

/// `gain · Q` for a `[rows, cols]` matrix: the Q factor (thin, `max × min`) of a standard normal
/// matrix — drawn `[rows, cols]` row-major, transposed first when `rows < cols` — with the
/// column signs chosen so that `diag(R) > 0` (PyTorch's `orthogonal_`; with that sign rule the
/// factorization is unique, and it is computed here by twice-repeated modified Gram–Schmidt in
/// f64). The result has orthonormal rows (rows ≤ cols) or columns (rows ≥ cols), times `gain`.
fn orthogonal(out: &mut [f32], rows: usize, cols: usize, gain: f32, rng: &mut Rng) {
    let a: Vec<f64> = (0..rows * cols).map(|_| rng.normal() as f64).collect();
    let transposed = rows < cols;
    let (m, n) = if transposed { (cols, rows) } else { (rows, cols) };
    // q[j*m .. (j+1)*m]: column j of the tall m × n matrix (A, or Aᵀ when transposed).
    let mut q: Vec<f64> = vec![0.0; m * n];
    for j in 0..n {
        for i in 0..m {
            q[j * m + i] = if transposed { a[j * cols + i] } else { a[i * cols + j] };
        }
    }
    for j in 0..n {
        let (done, rest) = q.split_at_mut(j * m);
        let col = &mut rest[..m];
        for _pass in 0..2 {
            for k in 0..j {
                let qk = &done[k * m..(k + 1) * m];
                let d: f64 = qk.iter().zip(col.iter()).map(|(x, y)| x * y).sum();
                col.iter_mut().zip(qk).for_each(|(c, x)| *c -= d * x);
            }
        }
        let norm = col.iter().map(|x| x * x).sum::<f64>().sqrt();
        // A zero column (probability zero) stays zero, as PyTorch's sign(0) = 0 leaves it.
        if norm > 0.0 {
            col.iter_mut().for_each(|c| *c /= norm);
        }
    }
    let g = gain as f64;
    for j in 0..n {
        for i in 0..m {
            let idx = if transposed { j * cols + i } else { i * cols + j };
            out[idx] = (g * q[j * m + i]) as f32;
        }
    }
}

/// The `init` option of an `rnn`, `lstm` or `gru` layer. Weights are initialized per gate
/// block (`[H, in]` blocks of `weight_ih`, `[H, H]` blocks of `weight_hh`); `bias` applies to
/// both `bias_ih` and `bias_hh`. Peepholes and layer-norm γ/β keep their initialization
/// (`U(−1/√H, 1/√H)`, 1 and 0). Parameters are drawn in PyTorch's order: every block of
/// `weight_ih`, of `weight_hh`, then `bias_ih`, `bias_hh`, layer by layer and direction by
/// direction; kinds that draw nothing (zeros, constant) consume nothing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RecurrentInit {
    /// Input-to-hidden weights, per gate block (default PyTorch's).
    pub weight_ih: Init,
    /// Hidden-to-hidden weights, per gate block (default PyTorch's).
    pub weight_hh: Init,
    /// Both biases (default PyTorch's); the fan-based and orthogonal kinds are not allowed.
    pub bias: Init,
    /// LSTM only: the forget-gate block of `bias_ih` is set to this value and that of
    /// `bias_hh` to 0 (after `bias`), so the forget gate starts at `σ(value)` (Jozefowicz et
    /// al., 2015 recommend 1).
    pub forget_bias: Option<f32>,
}

impl RecurrentInit {
    /// Whether every field is at its default (then the option is not written to JSON).
    pub fn is_default(&self) -> bool {
        *self == RecurrentInit::default()
    }

    /// Checks the kinds and values for a layer of `cell` with or without biases.
    pub fn validate(&self, cell: crate::recurrent::CellKind, bias: bool) -> Result<()> {
        self.weight_ih.validate("init.weight_ih")?;
        self.weight_hh.validate("init.weight_hh")?;
        self.bias.validate("init.bias")?;
        if self.bias.needs_matrix() {
            return Err(Error::unsupported(format!(
                "init.bias: '{}' needs a matrix (use pytorch_default, zeros, constant, uniform or normal)",
                self.bias.kind()
            )));
        }
        if let Some(v) = self.forget_bias {
            if !cell.has_cell_state() {
                return Err(Error::unsupported("init.forget_bias on a layer without a forget gate (lstm only)"));
            }
            if !bias {
                return Err(Error::unsupported("init.forget_bias on a layer with bias: false"));
            }
            if !v.is_finite() {
                return Err(Error::range("init.forget_bias", v, "a finite number"));
            }
        }
        Ok(())
    }
}

/// The `init` option of a `dense` layer: the whole `[out, in]` weight is one matrix
/// (`fan_in = in`, `fan_out = out`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct DenseInit {
    /// The weight (default PyTorch's `U(−1/√in, 1/√in)`).
    pub weight: Init,
    /// The bias (default PyTorch's `U(−1/√in, 1/√in)`); the fan-based and orthogonal kinds are
    /// not allowed.
    pub bias: Init,
}

impl DenseInit {
    /// Whether every field is at its default (then the option is not written to JSON).
    pub fn is_default(&self) -> bool {
        *self == DenseInit::default()
    }

    /// Checks the kinds and values.
    pub fn validate(&self) -> Result<()> {
        self.weight.validate("init.weight")?;
        self.bias.validate("init.bias")?;
        if self.bias.needs_matrix() {
            return Err(Error::unsupported(format!(
                "init.bias: '{}' needs a matrix (use pytorch_default, zeros, constant, uniform or normal)",
                self.bias.kind()
            )));
        }
        Ok(())
    }
}

/// Reads `{"weight_ih": ..., "weight_hh": ..., "bias": ..., "forget_bias": ...}`: every field
/// optional, unknown ones rejected.
impl FromJson for RecurrentInit {
    fn from_value(v: &Value) -> JResult<Self> {
        let mut f = Fields::of(v, "struct RecurrentInit")?;
        f.deny_unknown(&["weight_ih", "weight_hh", "bias", "forget_bias"])?;
        Ok(RecurrentInit {
            weight_ih: f.or("weight_ih", Init::PytorchDefault, Init::from_value)?,
            weight_hh: f.or("weight_hh", Init::PytorchDefault, Init::from_value)?,
            bias: f.or("bias", Init::PytorchDefault, Init::from_value)?,
            forget_bias: f.opt("forget_bias", Value::to_f32)?,
        })
    }
}

impl RecurrentInit {
    /// Writes the fields that are not at their defaults.
    pub fn write_json(&self, w: &mut Writer) {
        w.open_object();
        for (k, init) in [("weight_ih", self.weight_ih), ("weight_hh", self.weight_hh), ("bias", self.bias)] {
            if !init.is_default() {
                init.write_json(w.key(k));
            }
        }
        if let Some(v) = self.forget_bias {
            w.key("forget_bias").f32(v);
        }
        w.close_object();
    }
}

/// Reads `{"weight": ..., "bias": ...}`: both optional, unknown fields rejected.
impl FromJson for DenseInit {
    fn from_value(v: &Value) -> JResult<Self> {
        let mut f = Fields::of(v, "struct DenseInit")?;
        f.deny_unknown(&["weight", "bias"])?;
        Ok(DenseInit {
            weight: f.or("weight", Init::PytorchDefault, Init::from_value)?,
            bias: f.or("bias", Init::PytorchDefault, Init::from_value)?,
        })
    }
}

impl DenseInit {
    /// Writes the fields that are not at their defaults.
    pub fn write_json(&self, w: &mut Writer) {
        w.open_object();
        for (k, init) in [("weight", self.weight), ("bias", self.bias)] {
            if !init.is_default() {
                init.write_json(w.key(k));
            }
        }
        w.close_object();
    }
}
