//! Adam, PyTorch's `torch.optim.Adam`: weight decay is an L2 penalty added to the gradient.
//! The update itself is shared with [`super::adamw`].

use super::{check_hyper, check_non_negative};
use crate::error::{Error, Result};
use crate::kernels::adam::{adam_update, AdamCoeffs};
use crate::parallel;
use std::sync::Mutex;

/// Hyperparameters of [`torch.optim.Adam`](https://pytorch.org/docs/stable/generated/torch.optim.Adam.html),
/// with PyTorch's names and defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f64,
    /// Decay rates of the first and second moment averages (default `[0.9, 0.999]`).
    pub betas: [f64; 2],
    /// Added to the denominator, outside the square root (default 1e-8).
    pub eps: f64,
    /// L2 penalty: `wd · p` is added to the gradient (default 0).
    pub weight_decay: f64,
    /// Use the AMSGrad variant, dividing by the running maximum of the second moment (default false).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        AdamConfig { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.0, amsgrad: false }
    }
}

impl AdamConfig {
    /// Checks the hyperparameters as PyTorch's constructor does (plus finiteness).
    pub fn validate(&self) -> Result<()> {
        validate_adam("adam", self.lr, self.betas, self.eps, self.weight_decay)
    }
}

/// The checks shared by Adam and AdamW.
pub(crate) fn validate_adam(opt: &str, lr: f64, betas: [f64; 2], eps: f64, wd: f64) -> Result<()> {
    check_hyper(&format!("{opt}.lr"), lr)?;
    check_hyper(&format!("{opt}.betas[0]"), betas[0])?;
    check_hyper(&format!("{opt}.betas[1]"), betas[1])?;
    check_hyper(&format!("{opt}.eps"), eps)?;
    check_hyper(&format!("{opt}.weight_decay"), wd)?;
    check_non_negative(&format!("{opt}.lr"), lr)?;
    check_non_negative(&format!("{opt}.eps"), eps)?;
    for (i, &b) in betas.iter().enumerate() {
        if !(0.0..1.0).contains(&b) {
            return Err(Error::range(format!("{opt}.betas[{i}]"), b, "0 <= beta < 1"));
        }
    }
    check_non_negative(&format!("{opt}.weight_decay"), wd)?;
    Ok(())
}

/// Buffer names of Adam and AdamW, in the order of the state's buffers.
pub(crate) fn buffer_names(amsgrad: bool) -> &'static [&'static str] {
    if amsgrad {
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    } else {
        &["exp_avg", "exp_avg_sq"]
    }
}

/// Hyperparameters of one Adam/AdamW update.
pub(crate) struct AdamStep {
    pub lr: f64,
    pub betas: [f64; 2],
    pub eps: f64,
    /// L2 weight decay added to the gradient (Adam).
    pub l2: f64,
    /// Decoupled weight decay `p *= 1 - lr·wd` (AdamW).
    pub decoupled: f64,
    pub amsgrad: bool,
}

/// One parameter's part of an Adam/AdamW update: its step count (1 on its first update), values,
/// gradient and buffers (`exp_avg`, `exp_avg_sq`, and AMSGrad's maximum).
pub(crate) struct Item<'a> {
    pub step: u64,
    pub p: &'a mut [f32],
    pub g: &'a [f32],
    pub bufs: &'a mut [Vec<f32>],
}

/// A contiguous run of one item's elements: the index of its coefficients and its slices.
struct Segment<'a> {
    item: usize,
    p: &'a mut [f32],
    g: &'a [f32],
    m: &'a mut [f32],
    v: &'a mut [f32],
    vmax: Option<&'a mut [f32]>,
}

impl AdamStep {
    /// The constants of the update at step count `step`, following PyTorch's
    /// `_single_tensor_adam`.
    fn coeffs(&self, step: u64) -> AdamCoeffs {
        let [b1, b2] = self.betas;
        let t = step.min(i32::MAX as u64) as i32;
        let bc1 = 1.0 - b1.powi(t);
        AdamCoeffs {
            b1,
            b2,
            bc2_sqrt: (1.0 - b2.powi(t)).sqrt(),
            step_size: self.lr / bc1,
            decay: 1.0 - self.lr * self.decoupled,
            l2: self.l2,
            eps: self.eps,
        }
    }

    /// One update of every item. With a pool and enough elements, one job: the elements of all
    /// items, in order, are cut into one contiguous share per thread (a share may span several
    /// parameters and end inside one). Each element's update is independent of the others, so
    /// any split gives the same bits.
    pub(crate) fn update_all(&self, items: Vec<Item<'_>>) {
        let decoupled = self.decoupled != 0.0;
        let coeffs: Vec<AdamCoeffs> = items.iter().map(|i| self.coeffs(i.step)).collect();
        let total: usize = items.iter().map(|i| i.p.len()).sum();
        let tasks = parallel::threads().min(total / SPLIT_MIN).max(1);
        let share = total.div_ceil(tasks);
        let mut parts: Vec<Vec<Segment<'_>>> = (0..tasks).map(|_| Vec::new()).collect();
        let (mut task, mut room) = (0, share);
        for (k, item) in items.into_iter().enumerate() {
            let n = item.p.len();
            let (m, rest) = item.bufs.split_at_mut(1);
            let (v, vmax) = rest.split_at_mut(1);
            let (mut p, mut g, mut m, mut v) = (&mut item.p[..n], &item.g[..n], &mut m[0][..n], &mut v[0][..n]);
            let mut vmax = if self.amsgrad { Some(&mut vmax[0][..n]) } else { None };
            while !p.is_empty() {
                if room == 0 {
                    task = (task + 1).min(tasks - 1);
                    room = share;
                }
                let c = room.min(p.len());
                room -= c;
                let (p0, p1) = p.split_at_mut(c);
                let (g0, g1) = g.split_at(c);
                let (m0, m1) = m.split_at_mut(c);
                let (v0, v1) = v.split_at_mut(c);
                let (x0, x1) = match vmax {
                    Some(x) => {
                        let (x0, x1) = x.split_at_mut(c);
                        (Some(x0), Some(x1))
                    }
                    None => (None, None),
                };
                parts[task].push(Segment { item: k, p: p0, g: g0, m: m0, v: v0, vmax: x0 });
                (p, g, m, v, vmax) = (p1, g1, m1, v1, x1);
            }
        }
        let parts: Vec<Mutex<Vec<Segment<'_>>>> = parts.into_iter().map(Mutex::new).collect();
        parallel::run(tasks, &|i| {
            let segments = std::mem::take(&mut *parts[i].lock().unwrap_or_else(|e| e.into_inner()));
            for s in segments {
                adam_update(&coeffs[s.item], decoupled, s.p, s.g, s.m, s.v, s.vmax);
            }
        });
    }
}

/// Elements per thread from which an update is split over the pool (a job costs a few
/// microseconds; an element's update a few nanoseconds).
const SPLIT_MIN: usize = 16 * 1024;
