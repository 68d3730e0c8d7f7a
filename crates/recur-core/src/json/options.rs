//! The JSON forms of the options outside the model configuration: optimizers, training
//! options, losses, the non-finite policy and activations. They are the forms
//! the serde derives of earlier versions read and wrote, field for field:
//!
//! - optimizers: `{"type": "adam", "lr": 0.01}`, every hyperparameter optional (PyTorch's
//!   default), unknown names rejected;
//! - training options: `{"loss": "mse", "clip_value": null, "clip_norm": 1.0, "non_finite":
//!   "skip", "tbptt": 20, "stateful": false}`, only `loss` required, unknown names rejected;
//! - activations: `{"type": "tanh"}`, `{"type": "leaky_relu", "slope": 0.01}`,
//!   `{"type": "elu", "alpha": 1.0}` (other members are ignored).

use super::read::{one_of, JResult};
use super::{from_str, Fields, FromJson, JsonError, Value, Writer};
use crate::activation::Activation;
use crate::clip::NonFinitePolicy;
use crate::error::{Error, Result};
use crate::loss::LossKind;
use crate::model::TrainOptions;
use crate::optim::{AdamConfig, AdamWConfig, OptimizerConfig, RmspropConfig, SgdConfig};

/// A unit variant written as its name (`"skip"`): the index of `v` in `names`.
fn unit_variant(v: &Value, names: &[&str], expected: &str) -> JResult<usize> {
    let s = v.as_str().ok_or_else(|| v.invalid_type(expected))?;
    names.iter().position(|&n| n == s).ok_or_else(|| JsonError::new(format!("unknown variant `{s}`, {}", one_of(names)), v.at))
}

const LOSSES: [&str; 3] = ["mse", "cross_entropy", "bce"];

impl LossKind {
    /// The loss named `name` in configurations (`"mse"`, `"cross_entropy"`, `"bce"`).
    pub fn from_name(name: &str) -> Option<LossKind> {
        LOSSES.iter().position(|&n| n == name).map(|i| [LossKind::Mse, LossKind::CrossEntropy, LossKind::Bce][i])
    }

    /// The name used in configurations.
    pub fn name(&self) -> &'static str {
        LOSSES[*self as usize]
    }
}

impl FromJson for LossKind {
    fn from_value(v: &Value) -> JResult<Self> {
        unit_variant(v, &LOSSES, "enum LossKind").map(|i| [LossKind::Mse, LossKind::CrossEntropy, LossKind::Bce][i])
    }
}

impl FromJson for NonFinitePolicy {
    fn from_value(v: &Value) -> JResult<Self> {
        unit_variant(v, &["error", "skip"], "enum NonFinitePolicy").map(|i| [NonFinitePolicy::Error, NonFinitePolicy::Skip][i])
    }
}

const ACTIVATIONS: [&str; 6] = ["linear", "tanh", "relu", "sigmoid", "leaky_relu", "elu"];

impl FromJson for Activation {
    fn from_value(v: &Value) -> JResult<Self> {
        let (mut f, i) = Fields::tagged(v, "type", "internally tagged enum Activation", &ACTIVATIONS)?;
        Ok(match i {
            0 => Activation::Linear,
            1 => Activation::Tanh,
            2 => Activation::Relu,
            3 => Activation::Sigmoid,
            4 => Activation::LeakyRelu { slope: f.req("slope", Value::to_f32)? },
            _ => Activation::Elu { alpha: f.req("alpha", Value::to_f32)? },
        })
    }
}

impl Activation {
    /// Writes `{"type": ...}` with the parameter, if any.
    pub fn write_json(&self, w: &mut Writer) {
        let (name, param) = match *self {
            Activation::Linear => ("linear", None),
            Activation::Tanh => ("tanh", None),
            Activation::Relu => ("relu", None),
            Activation::Sigmoid => ("sigmoid", None),
            Activation::LeakyRelu { slope } => ("leaky_relu", Some(("slope", slope))),
            Activation::Elu { alpha } => ("elu", Some(("alpha", alpha))),
        };
        w.open_object().key("type").string(name);
        if let Some((k, v)) = param {
            w.key(k).f32(v);
        }
        w.close_object();
    }
}

const OPTIMIZERS: [&str; 4] = ["sgd", "adam", "adamw", "rmsprop"];

impl FromJson for OptimizerConfig {
    fn from_value(v: &Value) -> JResult<Self> {
        let (mut f, i) = Fields::tagged(v, "type", "internally tagged enum OptimizerConfig", &OPTIMIZERS)?;
        let config = match i {
            0 => {
                let d = SgdConfig::default();
                f.deny_unknown(&["lr", "momentum", "dampening", "weight_decay", "nesterov"])?;
                OptimizerConfig::Sgd(SgdConfig {
                    lr: f.or("lr", d.lr, Value::to_f64)?,
                    momentum: f.or("momentum", d.momentum, Value::to_f64)?,
                    dampening: f.or("dampening", d.dampening, Value::to_f64)?,
                    weight_decay: f.or("weight_decay", d.weight_decay, Value::to_f64)?,
                    nesterov: f.or("nesterov", d.nesterov, Value::to_bool)?,
                })
            }
            1 | 2 => {
                let (lr, betas, eps, weight_decay, amsgrad) = if i == 1 {
                    let d = AdamConfig::default();
                    (d.lr, d.betas, d.eps, d.weight_decay, d.amsgrad)
                } else {
                    let d = AdamWConfig::default();
                    (d.lr, d.betas, d.eps, d.weight_decay, d.amsgrad)
                };
                f.deny_unknown(&["lr", "betas", "eps", "weight_decay", "amsgrad"])?;
                let lr = f.or("lr", lr, Value::to_f64)?;
                let betas = f.or("betas", betas, |v| v.to_array(Value::to_f64))?;
                let eps = f.or("eps", eps, Value::to_f64)?;
                let weight_decay = f.or("weight_decay", weight_decay, Value::to_f64)?;
                let amsgrad = f.or("amsgrad", amsgrad, Value::to_bool)?;
                if i == 1 {
                    OptimizerConfig::Adam(AdamConfig { lr, betas, eps, weight_decay, amsgrad })
                } else {
                    OptimizerConfig::Adamw(AdamWConfig { lr, betas, eps, weight_decay, amsgrad })
                }
            }
            _ => {
                let d = RmspropConfig::default();
                f.deny_unknown(&["lr", "alpha", "eps", "weight_decay", "momentum", "centered"])?;
                OptimizerConfig::Rmsprop(RmspropConfig {
                    lr: f.or("lr", d.lr, Value::to_f64)?,
                    alpha: f.or("alpha", d.alpha, Value::to_f64)?,
                    eps: f.or("eps", d.eps, Value::to_f64)?,
                    weight_decay: f.or("weight_decay", d.weight_decay, Value::to_f64)?,
                    momentum: f.or("momentum", d.momentum, Value::to_f64)?,
                    centered: f.or("centered", d.centered, Value::to_bool)?,
                })
            }
        };
        Ok(config)
    }
}

impl OptimizerConfig {
    /// Parses `{"type": "adam", "lr": 0.01, ...}`; a malformed or unknown option is
    /// [`Error::Unsupported`] naming it (the values are checked by [`OptimizerConfig::validate`]).
    pub fn from_json(text: &str) -> Result<Self> {
        from_str(text).map_err(|e| Error::unsupported(format!("optimizer config: {e}")))
    }

    /// The configuration as JSON, every hyperparameter written.
    pub fn to_json(&self) -> String {
        let mut w = Writer::new();
        w.open_object().key("type").string(OPTIMIZERS[self.index()]);
        match *self {
            OptimizerConfig::Sgd(c) => {
                w.key("lr").f64(c.lr).key("momentum").f64(c.momentum).key("dampening").f64(c.dampening);
                w.key("weight_decay").f64(c.weight_decay).key("nesterov").bool(c.nesterov);
            }
            OptimizerConfig::Adam(AdamConfig { lr, betas, eps, weight_decay, amsgrad })
            | OptimizerConfig::Adamw(AdamWConfig { lr, betas, eps, weight_decay, amsgrad }) => {
                w.key("lr").f64(lr).key("betas").open_array().f64(betas[0]).f64(betas[1]).close_array();
                w.key("eps").f64(eps).key("weight_decay").f64(weight_decay).key("amsgrad").bool(amsgrad);
            }
            OptimizerConfig::Rmsprop(c) => {
                w.key("lr").f64(c.lr).key("alpha").f64(c.alpha).key("eps").f64(c.eps);
                w.key("weight_decay").f64(c.weight_decay).key("momentum").f64(c.momentum).key("centered").bool(c.centered);
            }
        }
        w.close_object();
        w.finish()
    }

    fn index(&self) -> usize {
        match self {
            OptimizerConfig::Sgd(_) => 0,
            OptimizerConfig::Adam(_) => 1,
            OptimizerConfig::Adamw(_) => 2,
            OptimizerConfig::Rmsprop(_) => 3,
        }
    }
}

impl FromJson for TrainOptions {
    fn from_value(v: &Value) -> JResult<Self> {
        let mut f = Fields::of(v, "struct TrainOptions")?;
        f.deny_unknown(&["loss", "clip_value", "clip_norm", "non_finite", "tbptt", "stateful"])?;
        Ok(TrainOptions {
            loss: f.req("loss", LossKind::from_value)?,
            clip_value: f.opt("clip_value", Value::to_f32)?,
            clip_norm: f.opt("clip_norm", Value::to_f32)?,
            non_finite: f.or("non_finite", NonFinitePolicy::Error, NonFinitePolicy::from_value)?,
            tbptt: f.opt("tbptt", Value::to_usize)?,
            stateful: f.or("stateful", false, Value::to_bool)?,
        })
    }
}

impl TrainOptions {
    /// Parses `{"loss": "mse", "clip_norm": 1.0, ...}` (only `loss` is required); a malformed
    /// or unknown option is [`Error::Unsupported`] naming it.
    pub fn from_json(text: &str) -> Result<Self> {
        from_str(text).map_err(|e| Error::unsupported(format!("training options: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimizers_read_and_write() {
        let o = OptimizerConfig::from_json(r#"{"type": "adamw", "betas": [0.5, 0.6], "amsgrad": true}"#).unwrap();
        assert_eq!(o, OptimizerConfig::Adamw(AdamWConfig { betas: [0.5, 0.6], amsgrad: true, ..AdamWConfig::default() }));
        assert_eq!(o.to_json(), r#"{"type":"adamw","lr":0.001,"betas":[0.5,0.6],"eps":1e-8,"weight_decay":0.01,"amsgrad":true}"#);
        for o in [
            OptimizerConfig::Sgd(SgdConfig { momentum: 0.9, nesterov: true, ..SgdConfig::default() }),
            OptimizerConfig::Adam(AdamConfig::default()),
            OptimizerConfig::Rmsprop(RmspropConfig { centered: true, ..RmspropConfig::default() }),
        ] {
            assert_eq!(OptimizerConfig::from_json(&o.to_json()), Ok(o));
        }
        for bad in [
            r#"{"type": "adam", "momentum": 0.9}"#,
            r#"{"type": "adagrad"}"#,
            r#"{"lr": 0.1}"#,
            r#"{"type": "sgd", "lr": "fast"}"#,
            r#"{"type": "adam", "betas": [0.9]}"#,
            r#"{"type": "sgd", "lr": null}"#,
            r#"{"type": "sgd", "lr": 1, "lr": 2}"#,
            r#"{"type": "sgd", "type": "sgd"}"#,
        ] {
            assert_eq!(OptimizerConfig::from_json(bad).unwrap_err().code(), "ERR_UNSUPPORTED", "{bad}");
        }
    }

    #[test]
    fn train_options_read() {
        let o = TrainOptions::from_json(r#"{"loss": "bce", "clip_norm": 1, "clip_value": null, "non_finite": "skip", "tbptt": 5}"#).unwrap();
        assert_eq!(o, TrainOptions { clip_norm: Some(1.0), non_finite: NonFinitePolicy::Skip, tbptt: Some(5), ..TrainOptions::new(LossKind::Bce) });
        for bad in [r#"{}"#, r#"{"loss": "l1"}"#, r#"{"loss": "mse", "tbptt": -1}"#, r#"{"loss": "mse", "lr": 1}"#, r#"{"loss": "mse", "stateful": null}"#] {
            assert_eq!(TrainOptions::from_json(bad).unwrap_err().code(), "ERR_UNSUPPORTED", "{bad}");
        }
        let e = TrainOptions::from_json("{\"loss\": \"mse\",\n \"tbptt\": 2.5}").unwrap_err().to_string();
        assert_eq!(e, "unsupported: training options: invalid type: floating point `2.5`, expected usize at line 2 column 11");
    }

    #[test]
    fn activations_and_reports() {
        let read = |t: &str| super::super::from_str::<Activation>(t);
        assert_eq!(read(r#"{"type": "leaky_relu", "slope": 0.2, "other": 1}"#), Ok(Activation::LeakyRelu { slope: 0.2 }));
        assert!(read(r#"{"type": "elu"}"#).unwrap_err().contains("missing field `alpha`"));
        assert!(read(r#""tanh""#).is_err());
        let mut w = Writer::new();
        Activation::Elu { alpha: 1.5 }.write_json(&mut w);
        assert_eq!(w.finish(), r#"{"type":"elu","alpha":1.5}"#);
        assert_eq!(LossKind::from_name("cross_entropy"), Some(LossKind::CrossEntropy));
        assert_eq!(super::super::from_str::<NonFinitePolicy>("\"skip\""), Ok(NonFinitePolicy::Skip));
    }
}
