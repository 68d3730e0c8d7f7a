//! A lookup table of token vectors: PyTorch's `nn.Embedding`.

use super::{check_param, param_name};
use crate::error::{check_finite, check_size, checked_numel, Error, Result, MAX_ELEMENTS};
use crate::param::Param;
use crate::rng::Rng;

/// Maps token ids to rows of `{prefix}.weight` `[vocab, dim]`, initialized N(0, 1) like
/// `nn.Embedding`. One id gives one output row, so `ids.len()` is the row count.
#[derive(Debug, Clone)]
pub struct Embedding {
    /// The table `[vocab, dim]`.
    pub weight: Param,
    vocab: usize,
    dim: usize,
    /// Ids of the last training forward; `None` before the first one.
    ids: Option<Vec<u32>>,
}

impl Embedding {
    /// A `vocab × dim` table with entries drawn N(0, 1) from `rng`, row-major.
    pub fn new(prefix: &str, vocab: usize, dim: usize, rng: &mut Rng) -> Result<Self> {
        // Ids are u32, so a larger vocabulary could never be addressed.
        check_size("embedding vocab", vocab, MAX_ELEMENTS.min(u32::MAX as usize))?;
        check_size("embedding dim", dim, MAX_ELEMENTS)?;
        let weights = checked_numel("embedding weight", &[vocab, dim])?;
        crate::param::check_allocatable("embedding weight", weights.saturating_mul(2))?;
        let mut weight = Param::zeros(param_name(prefix, "weight"), &[vocab, dim]);
        weight.value.iter_mut().for_each(|w| *w = rng.normal());
        Ok(Embedding { weight, vocab, dim, ids: None })
    }

    /// Number of token ids.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// Width of each vector.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The parameters (just the table).
    pub fn params(&self) -> Vec<&Param> {
        vec![&self.weight]
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight]
    }

    /// Sets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.weight.zero_grad();
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::range("embedding rows", 0, "at least 1"));
        }
        checked_numel("embedding y", &[ids.len(), self.dim])?;
        if let Some(i) = ids.iter().position(|&id| id as usize >= self.vocab) {
            return Err(Error::range(format!("embedding id [{i}]"), ids[i], format!("0..{}", self.vocab)));
        }
        check_param(&self.weight, self.vocab * self.dim)
    }

    /// Inference: row `r` of `y` (resized to `ids.len() × dim`) is the table row `ids[r]`.
    pub fn infer(&self, ids: &[u32], y: &mut Vec<f32>) -> Result<()> {
        self.check_ids(ids)?;
        crate::buffers::fit(y, ids.len() * self.dim);
        for (&id, row) in ids.iter().zip(y.chunks_exact_mut(self.dim)) {
            let start = id as usize * self.dim;
            row.copy_from_slice(&self.weight.value[start..start + self.dim]);
        }
        Ok(())
    }

    /// Values (4 bytes each, as floats) a training forward of `rows` ids adds to the ids it
    /// keeps for backward, beyond what it holds.
    pub(crate) fn cache_growth(&self, rows: usize) -> usize {
        rows.saturating_sub(self.ids.as_ref().map_or(0, Vec::capacity))
    }

    /// Training forward: like [`Embedding::infer`], and remembers the ids for
    /// [`Embedding::backward`].
    pub fn forward(&mut self, ids: &[u32], y: &mut Vec<f32>) -> Result<()> {
        self.infer(ids, y)?;
        crate::buffers::copy_into(self.ids.get_or_insert_with(Vec::new), ids);
        Ok(())
    }

    /// Backward of the last [`Embedding::forward`]: adds row `r` of `dy` (`rows × dim`) to the
    /// gradient row of `ids[r]` (repeated ids accumulate, as in PyTorch).
    pub fn backward(&mut self, dy: &[f32]) -> Result<()> {
        let ids = self.ids.as_ref().ok_or_else(|| Error::state("embedding backward before forward"))?;
        if dy.len() != ids.len() * self.dim {
            return Err(Error::shape("embedding dy", [ids.len(), self.dim], [dy.len()]));
        }
        check_finite("embedding dy", dy)?;
        check_param(&self.weight, self.vocab * self.dim)?;
        for (&id, row) in ids.iter().zip(dy.chunks_exact(self.dim)) {
            let start = id as usize * self.dim;
            self.weight.grad[start..start + self.dim].iter_mut().zip(row).for_each(|(g, &d)| *g += d);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::testutil::*;

    /// The allocation check counts exactly what a training forward adds to the kept ids.
    #[test]
    fn cache_growth_is_what_a_training_forward_allocates() {
        let mut emb = Embedding::new("emb", 5, 3, &mut Rng::new(2)).unwrap();
        let cap = |e: &Embedding| e.ids.as_ref().map_or(0, Vec::capacity);
        for n in [4, 4, 11, 2] {
            let (growth, before) = (emb.cache_growth(n), cap(&emb));
            emb.forward(&vec![1u32; n], &mut Vec::new()).unwrap();
            assert_eq!(growth, cap(&emb) - before, "{n} ids");
        }
    }

    #[test]
    fn gradient_matches_finite_differences_with_repeated_ids() {
        let mut rng = Rng::new(11);
        let mut emb = Embedding::new("emb", 5, 3, &mut rng).unwrap();
        let ids = [4u32, 0, 2, 4, 4, 1];
        let w = loss_weights(&mut rng, ids.len() * 3);
        let mut y = Vec::new();
        emb.forward(&ids, &mut y).unwrap();
        emb.backward(&as_f32(&w)).unwrap();
        let grad = emb.weight.grad.clone();
        // The output is linear in the table, so the central difference is exact up to f32
        // rounding of the ±eps perturbation (~|w|·6e-8 / 2eps ≈ 1e-5 at eps = 1e-2).
        let mut probe = emb.clone();
        check_grad("embedding weight", &grad, 1e-2, 1e-4, 1e-4, |i, d| {
            let old = probe.weight.value[i];
            probe.weight.value[i] += d;
            probe.infer(&ids, &mut y).unwrap();
            probe.weight.value[i] = old;
            loss(&y, &w)
        });
        // Row 3 is never looked up: no gradient.
        assert!(grad[9..12].iter().all(|&g| g == 0.0));
    }

    #[test]
    fn lookup_names_and_normal_init() {
        let mut rng = Rng::new(2);
        let emb = Embedding::new("", 1000, 8, &mut rng).unwrap();
        assert_eq!(emb.weight.name, "weight");
        assert_eq!(emb.weight.shape, vec![1000, 8]);
        let n = emb.weight.numel() as f64;
        let mean = emb.weight.value.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = emb.weight.value.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        // 8000 N(0,1) draws: standard errors ≈ 0.011 (mean) and 0.016 (variance).
        assert!(mean.abs() < 0.05 && (var - 1.0).abs() < 0.08, "mean {mean} var {var}");
        let mut y = Vec::new();
        emb.infer(&[7, 999], &mut y).unwrap();
        assert_eq!(&y[..8], &emb.weight.value[56..64]);
        assert_eq!(&y[8..], &emb.weight.value[999 * 8..]);
        assert_eq!(Embedding::new("tok", 3, 2, &mut rng).unwrap().weight.name, "tok.weight");
    }

    #[test]
    fn bad_inputs_return_typed_errors() {
        let mut rng = Rng::new(1);
        assert_eq!(Embedding::new("e", 0, 3, &mut rng).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(Embedding::new("e", 3, 0, &mut rng).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(Embedding::new("e", 1 << 20, 1 << 20, &mut rng).unwrap_err().code(), "ERR_RANGE");
        let mut emb = Embedding::new("e", 4, 2, &mut rng).unwrap();
        let mut y = Vec::new();
        assert_eq!(emb.backward(&[0.0; 2]).unwrap_err().code(), "ERR_STATE");
        let e = emb.forward(&[0, 4], &mut y).unwrap_err();
        assert_eq!(e.code(), "ERR_RANGE");
        assert!(e.to_string().contains("embedding id [1]"), "{e}");
        assert_eq!(emb.infer(&[u32::MAX], &mut y).unwrap_err().code(), "ERR_RANGE");
        assert_eq!(emb.forward(&[], &mut y).unwrap_err().code(), "ERR_RANGE");
        emb.forward(&[3, 3], &mut y).unwrap();
        assert_eq!(emb.backward(&[0.0; 3]).unwrap_err().code(), "ERR_SHAPE");
        assert_eq!(emb.backward(&[0.0, f32::NAN, 0.0, 0.0]).unwrap_err().code(), "ERR_NON_FINITE");
        assert!(emb.weight.grad.iter().all(|&g| g == 0.0), "a failed backward must not touch the gradient");
    }
}
