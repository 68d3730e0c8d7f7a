//! Named parameters with their gradients, in PyTorch's names and layouts.

/// One trainable tensor: its PyTorch-style name, shape, values and accumulated gradient.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// PyTorch's name, e.g. `weight_ih_l0_reverse` or `head.weight`.
    pub name: String,
    /// Row-major shape.
    pub shape: Vec<usize>,
    /// Values, row-major.
    pub value: Vec<f32>,
    /// Gradient of the loss, same layout; accumulated by backward, cleared by [`Param::zero_grad`].
    pub grad: Vec<f32>,
}

impl Param {
    /// A parameter of zeros.
    pub fn zeros(name: impl Into<String>, shape: &[usize]) -> Self {
        let n = shape.iter().product();
        Param { name: name.into(), shape: shape.to_vec(), value: vec![0.0; n], grad: vec![0.0; n] }
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.value.len()
    }

    /// Sets the gradient to zero.
    pub fn zero_grad(&mut self) {
        self.grad.iter_mut().for_each(|g| *g = 0.0);
    }
}
