//! The JSON-serializable description of a model: an input and a list of layers.

use crate::activation::Activation;
use crate::error::{check_size, Error, Result};
use crate::init::{DenseInit, RecurrentInit};
use crate::recurrent::{CellKind, RecurrentConfig, MAX_FEATURES};
use serde::{Deserialize, Serialize};

/// A whole model: `{"input_size": 3, "seed": 42, "layers": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Features per time step of the input; absent when the first layer is an embedding
    /// (whose inputs are token ids).
    #[serde(default)]
    pub input_size: Option<usize>,
    /// The layers, applied in order.
    pub layers: Vec<LayerConfig>,
    /// Seed of the initialization and of dropout.
    #[serde(default)]
    pub seed: u64,
}

/// One layer of a [`ModelConfig`], tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
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

fn one() -> usize {
    1
}
fn yes() -> bool {
    true
}
fn tanh() -> Activation {
    Activation::Tanh
}
fn linear() -> Activation {
    Activation::Linear
}
fn bn_eps() -> f32 {
    1e-5
}
fn bn_momentum() -> f32 {
    0.1
}

/// Options of an `embedding` layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// Parameter-name prefix (PyTorch's attribute name); default `embedding`.
    #[serde(default)]
    pub name: Option<String>,
    /// Number of distinct token ids.
    pub vocab_size: usize,
    /// Width of each vector.
    pub dim: usize,
}

/// Options of a `batch_norm` layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormConfig {
    /// Parameter-name prefix; default `batch_norm{i}`.
    #[serde(default)]
    pub name: Option<String>,
    /// Added to the variance.
    #[serde(default = "bn_eps")]
    pub eps: f32,
    /// Weight of the new batch in the running statistics.
    #[serde(default = "bn_momentum")]
    pub momentum: f32,
    /// Whether `weight` and `bias` are learned.
    #[serde(default = "yes")]
    pub affine: bool,
}

/// Options of an `rnn`, `lstm` or `gru` layer (PyTorch's constructor arguments, plus
/// `return_sequences` as in Keras).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecurrentLayerConfig {
    /// Parameter-name prefix; default the layer type (`lstm`); `""` gives PyTorch's bare names.
    #[serde(default)]
    pub name: Option<String>,
    /// Hidden features `H`.
    pub hidden_size: usize,
    /// Stacked layers.
    #[serde(default = "one")]
    pub num_layers: usize,
    /// Whether the biases exist.
    #[serde(default = "yes")]
    pub bias: bool,
    /// Whether each layer also reads the sequence backwards.
    #[serde(default)]
    pub bidirectional: bool,
    /// Dropout between stacked layers (training only).
    #[serde(default)]
    pub dropout: f32,
    /// `true`: output every step `[T, B, D·H]`; `false`: only the final states `[B, D·H]`.
    #[serde(default = "yes")]
    pub return_sequences: bool,
    /// RNN only: the nonlinearity (default tanh).
    #[serde(default = "tanh")]
    pub activation: Activation,
    /// LSTM only: ONNX-style peephole connections.
    #[serde(default)]
    pub peephole: bool,
    /// GRU only: PyTorch's reset-after form (default) or the reset-before form.
    #[serde(default = "yes")]
    pub reset_after: bool,
    /// Layer normalization of the gate pre-activations inside the cells.
    #[serde(default)]
    pub layer_norm: bool,
    /// Initialization of the weights (per gate block) and biases, and the LSTM forget-gate
    /// bias: `{"weight_ih": ..., "weight_hh": ..., "bias": ..., "forget_bias": 1.0}`, every
    /// field optional (default PyTorch's `U(−1/√H, 1/√H)`); see [`crate::init`]. Not written
    /// to JSON when at its default.
    #[serde(default, skip_serializing_if = "RecurrentInit::is_default")]
    pub init: RecurrentInit,
}

/// Options of a `dropout` layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DropoutConfig {
    /// Probability of zeroing an element.
    pub p: f32,
}

/// Options of a `dense` layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    /// Parameter-name prefix; default `dense{i}`.
    #[serde(default)]
    pub name: Option<String>,
    /// Output features.
    pub units: usize,
    /// Whether the bias exists.
    #[serde(default = "yes")]
    pub bias: bool,
    /// Activation after the affine map.
    #[serde(default = "linear")]
    pub activation: Activation,
    /// Initialization: `{"weight": ..., "bias": ...}`, each optional (default PyTorch's
    /// `U(−1/√in, 1/√in)`); see [`crate::init`]. Not written to JSON when at its default.
    #[serde(default, skip_serializing_if = "DenseInit::is_default")]
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
    /// Parses a JSON configuration, naming the field that is wrong.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| Error::unsupported(format!("model config: {e}")))
    }

    /// The configuration as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a config always serializes")
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
