//! Recurrent layers: RNN, LSTM (optionally with peepholes) and GRU (reset-after or
//! reset-before), stacked and optionally bidirectional, with full and truncated BPTT.
//!
//! The work is organized as cuDNN does it: the input projection of every time step is one
//! GEMM before the time loop; inside the loop there is one recurrent GEMM per step followed by a
//! fused elementwise kernel per cell type (`cells`); after the backward time loop the weight
//! gradients are single GEMMs over all steps. Every buffer lives in a per-shape workspace, so the
//! time loop never allocates.

mod cells;
mod direction;
mod norm;
mod stack;

pub use direction::{Direction, DirectionSpec};
pub use stack::{RecurrentStack, SequenceInput, StackGradients, MAX_STEPS};

use crate::activation::Activation;
use crate::error::{Error, Result};

/// Which recurrent cell a layer uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CellKind {
    /// Elman RNN: `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
    Rnn {
        /// The nonlinearity.
        activation: Activation,
    },
    /// LSTM with PyTorch's gate order `i, f, g, o`; with `peephole`, ONNX-style peepholes
    /// (`i`, `f` see `c_{t-1}`, `o` sees `c_t`).
    Lstm {
        /// Whether the peephole vectors `peephole_{i,f,o}` are used.
        peephole: bool,
    },
    /// GRU with PyTorch's gate order `r, z, n`.
    Gru {
        /// `true`: PyTorch's form `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`;
        /// `false`: the reset-before form `n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn)`.
        reset_after: bool,
    },
}

impl CellKind {
    /// Number of gate blocks `G` stacked in the weight matrices.
    pub fn gates(&self) -> usize {
        match self {
            CellKind::Rnn { .. } => 1,
            CellKind::Lstm { .. } => 4,
            CellKind::Gru { .. } => 3,
        }
    }

    /// Whether the cell carries a cell state `c` besides `h`.
    pub fn has_cell_state(&self) -> bool {
        matches!(self, CellKind::Lstm { .. })
    }
}

/// Shape and options of a stack of recurrent layers (PyTorch's `nn.RNN/LSTM/GRU` arguments).
#[derive(Debug, Clone, PartialEq)]
pub struct RecurrentConfig {
    /// Cell type and its options.
    pub cell: CellKind,
    /// Features of the input sequence.
    pub input_size: usize,
    /// Features of the hidden state `H`.
    pub hidden_size: usize,
    /// Number of stacked layers `L`.
    pub num_layers: usize,
    /// Whether `bias_ih`/`bias_hh` exist.
    pub bias: bool,
    /// Whether every layer also runs from the end of the sequence.
    pub bidirectional: bool,
    /// Dropout probability on the outputs of every layer but the last (training only).
    pub dropout: f32,
    /// Layer normalization of the gate pre-activations inside the cells: each gate block of
    /// `W_ih x` and of `W_hh h` is normalized separately (with its own γ, β) before the biases
    /// are added (Ba et al., 2016).
    pub layer_norm: bool,
}

/// Largest hidden or input size accepted (keeps every buffer addressable in wasm32).
pub const MAX_FEATURES: usize = 1 << 16;

impl RecurrentConfig {
    /// Checks every field, naming the first problem.
    pub fn validate(&self) -> Result<()> {
        crate::error::check_size("input_size", self.input_size, MAX_FEATURES)?;
        crate::error::check_size("hidden_size", self.hidden_size, MAX_FEATURES)?;
        crate::error::check_size("num_layers", self.num_layers, 64)?;
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::range("dropout", self.dropout, "0 <= p < 1"));
        }
        if let CellKind::Rnn { activation } = self.cell {
            if activation == Activation::Linear {
                return Err(Error::unsupported("rnn activation 'linear' (use tanh, relu, sigmoid, leaky_relu or elu)"));
            }
            activation.validate()?;
        }
        let g = self.cell.gates();
        crate::error::checked_numel("weight_hh", &[g, self.hidden_size, self.hidden_size])?;
        crate::error::checked_numel("weight_ih", &[g, self.hidden_size, self.input_size.max(2 * self.hidden_size)])?;
        Ok(())
    }

    /// Number of directions `D` (1 or 2).
    pub fn directions(&self) -> usize {
        if self.bidirectional {
            2
        } else {
            1
        }
    }

    /// Width of the stack's output sequence, `D·H`.
    pub fn output_size(&self) -> usize {
        self.directions() * self.hidden_size
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod packing_tests;
