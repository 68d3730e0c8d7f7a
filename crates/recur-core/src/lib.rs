//! # recur-core
//!
//! Recurrent neural networks (RNN, LSTM with optional peepholes, GRU in both forms) trained with
//! backpropagation through time, exact to PyTorch's semantics. Pure Rust with no bindings: the
//! `recur-wasm` crate exposes it to JavaScript.
//!
//! Layout: tensors are `f32`, row-major; sequences are time-major `[T, B, F]` inside the core;
//! weights keep PyTorch's `[G·H, in]` layout and names.
#![warn(missing_docs)]
// `memory_atomic_wait32` (the pool's sleep on wasm threads) is still unstable in core::arch.
#![cfg_attr(all(target_arch = "wasm32", target_feature = "atomics"), feature(stdarch_wasm_atomic_wait))]

pub mod activation;
pub mod clip;
pub mod decimal;
pub mod error;
pub mod init;
pub mod json;
pub mod kernels;
pub mod layers;
pub mod loss;
pub mod optim;
pub mod model;
pub mod parallel;
pub mod param;
pub mod recurrent;
pub mod rng;
mod buffers;
mod padding;
mod sort;

pub use error::{Error, Result};
pub use param::Param;
