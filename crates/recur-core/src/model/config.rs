//! The JSON-serializable description of a model: an input and a list of layers.

use crate::activation::Activation;
use crate::error::{check_size, Error, Result};
use crate::init::{DenseInit, RecurrentInit};
use crate::json::read::JResult;
use crate::json::{from_str, Fields, FromJson, Value, Writer};
use crate::recurrent::{CellKind, RecurrentConfig, MAX_FEATURES};

/// A whole model: `{"input_size": 3, "seed": 42, "layers": [...]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Features per time step of the input; absent when the first layer is an embedding
    /// (whose inputs are token ids).
    pub input_size: Option<usize>,
    /// The layers, applied in order.
    pub layers: Vec<LayerConfig>,
    /// Seed of the initialization and of dropout.
    pub seed: u64,
}

/// One layer of a [`ModelConfig`], tagged by `type`.
#[derive(Debug, Clone, PartialEq)]
pub enum LayerConfig {
    /// Token ids → vectors (`nn.Embedding`); only as the first layer.
    Embedding(EmbeddingConfig),
    /// `nn.BatchNorm1d` over the features of every row.
    BatchNorm(BatchNormConfig),
    /// Elman RNN stack (`nn.RNN`).
    Rnn(RecurrentLayerConfig),
    /// LSTM stack (`nn.LSTM`), optionally with peepholes.
    Lstm(RecurrentLayerConfig),
    /// GRU stack (`nn.GRU`), reset-after (PyTorch) or reset-before.
    Gru(RecurrentLayerConfig),
    /// Inverted dropout (`nn.Dropout`), active in training only.
    Dropout(DropoutConfig),
    /// A linear layer (`nn.Linear`) with an optional activation, applied to every row.
    Dense(DenseConfig),
}

/// Options of an `embedding` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingConfig {
    /// Parameter-name prefix (PyTorch's attribute name); default `embedding`.
    pub name: Option<String>,
    /// Number of distinct token ids.
    pub vocab_size: usize,
    /// Width of each vector.
    pub dim: usize,
}

/// Options of a `batch_norm` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormConfig {
    /// Parameter-name prefix; default `batch_norm{i}`.
    pub name: Option<String>,
    /// Added to the variance.
    pub eps: f32,
    /// Weight of the new batch in the running statistics.
    pub momentum: f32,
    /// Whether `weight` and `bias` are learned.
    pub affine: bool,
}

/// Options of an `rnn`, `lstm` or `gru` layer (PyTorch's constructor arguments, plus
/// `return_sequences` as in Keras).
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentLayerConfig {
    /// Parameter-name prefix; default the layer type (`lstm`); `""` gives PyTorch's bare names.
    pub name: Option<String>,
    /// Hidden features `H`.
    pub hidden_size: usize,
    /// Stacked layers.
    pub num_layers: usize,
    /// Whether the biases exist.
    pub bias: bool,
    /// Whether each layer also reads the sequence backwards.
    pub bidirectional: bool,
    /// Dropout between stacked layers (training only).
    pub dropout: f32,
    /// `true`: output every step `[T, B, D·H]`; `false`: only the final states `[B, D·H]`.
    pub return_sequences: bool,
    /// RNN only: the nonlinearity (default tanh).
    pub activation: Activation,
    /// LSTM only: ONNX-style peephole connections.
    pub peephole: bool,
    /// GRU only: PyTorch's reset-after form (default) or the reset-before form.
    pub reset_after: bool,
    /// Layer normalization of the gate pre-activations inside the cells.
    pub layer_norm: bool,
    /// Initialization of the weights (per gate block) and biases, and the LSTM forget-gate
    /// bias: `{"weight_ih": ..., "weight_hh": ..., "bias": ..., "forget_bias": 1.0}`, every
    /// field optional (default PyTorch's `U(−1/√H, 1/√H)`); see [`crate::init`]. Not written
    /// to JSON when at its default.
    pub init: RecurrentInit,
}

/// Options of a `dropout` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DropoutConfig {
    /// Probability of zeroing an element.
    pub p: f32,
}

/// Options of a `dense` layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseConfig {
    /// Parameter-name prefix; default `dense{i}`.
    pub name: Option<String>,
    /// Output features.
    pub units: usize,
    /// Whether the bias exists.
    pub bias: bool,
    /// Activation after the affine map.
    pub activation: Activation,
    /// Initialization: `{"weight": ..., "bias": ...}`, each optional (default PyTorch's
    /// `U(−1/√in, 1/√in)`); see [`crate::init`]. Not written to JSON when at its default.
    pub init: DenseInit,
}

impl RecurrentLayerConfig {
    /// The core's recurrent configuration for a layer of type `kind` (`rnn`/`lstm`/`gru`)
    /// reading `input_size` features, after checking options that do not apply.
    pub fn to_recurrent(&self, kind: &str, input_size: usize) -> Result<RecurrentConfig> {
        if kind != "rnn" && self.activation != Activation::Tanh {
            return Err(Error::unsupported(format!("'activation' on a {kind} layer (only rnn has it)")));
        }
        if kind != "lstm" && self.peephole {
            return Err(Error::unsupported(format!("'peephole' on a {kind} layer (only lstm has it)")));
        }
        if kind != "gru" && !self.reset_after {
            return Err(Error::unsupported(format!("'reset_after' on a {kind} layer (only gru has it)")));
        }
        let cell = match kind {
            "rnn" => CellKind::Rnn { activation: self.activation },
            "lstm" => CellKind::Lstm { peephole: self.peephole },
            _ => CellKind::Gru { reset_after: self.reset_after },
        };
        let config = RecurrentConfig {
            cell,
            input_size,
            hidden_size: self.hidden_size,
            num_layers: self.num_layers,
            bias: self.bias,
            bidirectional: self.bidirectional,
            dropout: self.dropout,
            layer_norm: self.layer_norm,
        };
        config.validate()?;
        self.init.validate(config.cell, config.bias)?;
        Ok(config)
    }
}

impl ModelConfig {
    /// Parses a JSON configuration, naming the field that is wrong (and where).
    pub fn from_json(json: &str) -> Result<Self> {
        from_str(json).map_err(|e| Error::unsupported(format!("model config: {e}")))
    }

    /// The configuration as JSON: every field written (absent options as `null`), except an
    /// `init` at its default.
    pub fn to_json(&self) -> String {
        let mut w = Writer::new();
        w.open_object().key("input_size").option(self.input_size, |w, n| {
            w.u64(n as u64);
        });
        w.key("layers").open_array();
        self.layers.iter().for_each(|l| l.write_json(&mut w));
        w.close_array().key("seed").u64(self.seed).close_object();
        w.finish()
    }

    /// Checks the parts that do not depend on the layers' input widths.
    pub fn validate_top(&self) -> Result<()> {
        check_size("number of layers", self.layers.len(), 256)?;
        let embeds = matches!(self.layers.first(), Some(LayerConfig::Embedding(_)));
        match (self.input_size, embeds) {
            (Some(_), true) => Err(Error::unsupported("input_size with an embedding first layer (its input is token ids)")),
            (None, false) => Err(Error::unsupported("input_size is required unless the first layer is an embedding")),
            (Some(n), false) => check_size("input_size", n, MAX_FEATURES),
            (None, true) => Ok(()),
        }?;
        if self.layers.iter().skip(1).any(|l| matches!(l, LayerConfig::Embedding(_))) {
            return Err(Error::unsupported("an embedding layer anywhere but first"));
        }
        Ok(())
    }
}

/// Reads `{"input_size": ..., "layers": [...], "seed": ...}` (unknown fields rejected).
impl FromJson for ModelConfig {
    fn from_value(v: &Value) -> JResult<Self> {
        let mut f = Fields::of(v, "struct ModelConfig")?;
        f.deny_unknown(&["input_size", "layers", "seed"])?;
        Ok(ModelConfig {
            input_size: f.opt("input_size", Value::to_usize)?,
            layers: f.req("layers", |v| v.to_vec(LayerConfig::from_value))?,
            seed: f.or("seed", 0, Value::to_u64)?,
        })
    }
}

const LAYER_TYPES: [&str; 7] = ["embedding", "batch_norm", "rnn", "lstm", "gru", "dropout", "dense"];

/// The optional `name` of a layer (`null` = absent).
fn name(f: &mut Fields) -> JResult<Option<String>> {
    f.opt("name", Value::to_string_value)
}

/// Reads `{"type": "<layer type>", ...options}`: each type's own options, the unknown ones
/// rejected, the absent ones at their defaults.
impl FromJson for LayerConfig {
    fn from_value(v: &Value) -> JResult<Self> {
        let (mut f, i) = Fields::tagged(v, "type", "internally tagged enum LayerConfig", &LAYER_TYPES)?;
        Ok(match LAYER_TYPES[i] {
            "embedding" => {
                f.deny_unknown(&["name", "vocab_size", "dim"])?;
                LayerConfig::Embedding(EmbeddingConfig { name: name(&mut f)?, vocab_size: f.req("vocab_size", Value::to_usize)?, dim: f.req("dim", Value::to_usize)? })
            }
            "batch_norm" => {
                f.deny_unknown(&["name", "eps", "momentum", "affine"])?;
                LayerConfig::BatchNorm(BatchNormConfig {
                    name: name(&mut f)?,
                    eps: f.or("eps", 1e-5, Value::to_f32)?,
                    momentum: f.or("momentum", 0.1, Value::to_f32)?,
                    affine: f.or("affine", true, Value::to_bool)?,
                })
            }
            "dropout" => {
                f.deny_unknown(&["p"])?;
                LayerConfig::Dropout(DropoutConfig { p: f.req("p", Value::to_f32)? })
            }
            "dense" => {
                f.deny_unknown(&["name", "units", "bias", "activation", "init"])?;
                LayerConfig::Dense(DenseConfig {
                    name: name(&mut f)?,
                    units: f.req("units", Value::to_usize)?,
                    bias: f.or("bias", true, Value::to_bool)?,
                    activation: f.or("activation", Activation::Linear, Activation::from_value)?,
                    init: f.or("init", DenseInit::default(), DenseInit::from_value)?,
                })
            }
            kind => {
                let c = RecurrentLayerConfig::read(&mut f)?;
                match kind {
                    "rnn" => LayerConfig::Rnn(c),
                    "lstm" => LayerConfig::Lstm(c),
                    _ => LayerConfig::Gru(c),
                }
            }
        })
    }
}

impl RecurrentLayerConfig {
    fn read(f: &mut Fields) -> JResult<Self> {
        f.deny_unknown(&[
            "name",
            "hidden_size",
            "num_layers",
            "bias",
            "bidirectional",
            "dropout",
            "return_sequences",
            "activation",
            "peephole",
            "reset_after",
            "layer_norm",
            "init",
        ])?;
        Ok(RecurrentLayerConfig {
            name: name(f)?,
            hidden_size: f.req("hidden_size", Value::to_usize)?,
            num_layers: f.or("num_layers", 1, Value::to_usize)?,
            bias: f.or("bias", true, Value::to_bool)?,
            bidirectional: f.or("bidirectional", false, Value::to_bool)?,
            dropout: f.or("dropout", 0.0, Value::to_f32)?,
            return_sequences: f.or("return_sequences", true, Value::to_bool)?,
            activation: f.or("activation", Activation::Tanh, Activation::from_value)?,
            peephole: f.or("peephole", false, Value::to_bool)?,
            reset_after: f.or("reset_after", true, Value::to_bool)?,
            layer_norm: f.or("layer_norm", false, Value::to_bool)?,
            init: f.or("init", RecurrentInit::default(), RecurrentInit::from_value)?,
        })
    }

    fn write_json(&self, w: &mut Writer) {
        write_name(w, &self.name);
        w.key("hidden_size").u64(self.hidden_size as u64).key("num_layers").u64(self.num_layers as u64);
        w.key("bias").bool(self.bias).key("bidirectional").bool(self.bidirectional).key("dropout").f32(self.dropout);
        w.key("return_sequences").bool(self.return_sequences);
        self.activation.write_json(w.key("activation"));
        w.key("peephole").bool(self.peephole).key("reset_after").bool(self.reset_after).key("layer_norm").bool(self.layer_norm);
        if !self.init.is_default() {
            self.init.write_json(w.key("init"));
        }
    }
}

fn write_name(w: &mut Writer, name: &Option<String>) {
    w.key("name").option(name.as_deref(), |w, n| {
        w.string(n);
    });
}

impl LayerConfig {
    /// Writes `{"type": ..., every option}` in the order of the fields.
    fn write_json(&self, w: &mut Writer) {
        let kind = match self {
            LayerConfig::Embedding(_) => "embedding",
            LayerConfig::BatchNorm(_) => "batch_norm",
            LayerConfig::Rnn(_) => "rnn",
            LayerConfig::Lstm(_) => "lstm",
            LayerConfig::Gru(_) => "gru",
            LayerConfig::Dropout(_) => "dropout",
            LayerConfig::Dense(_) => "dense",
        };
        w.open_object().key("type").string(kind);
        match self {
            LayerConfig::Embedding(c) => {
                write_name(w, &c.name);
                w.key("vocab_size").u64(c.vocab_size as u64).key("dim").u64(c.dim as u64);
            }
            LayerConfig::BatchNorm(c) => {
                write_name(w, &c.name);
                w.key("eps").f32(c.eps).key("momentum").f32(c.momentum).key("affine").bool(c.affine);
            }
            LayerConfig::Rnn(c) | LayerConfig::Lstm(c) | LayerConfig::Gru(c) => c.write_json(w),
            LayerConfig::Dropout(c) => {
                w.key("p").f32(c.p);
            }
            LayerConfig::Dense(c) => {
                write_name(w, &c.name);
                w.key("units").u64(c.units as u64).key("bias").bool(c.bias);
                c.activation.write_json(w.key("activation"));
                if !c.init.is_default() {
                    c.init.write_json(w.key("init"));
                }
            }
        }
        w.close_object();
    }
}
