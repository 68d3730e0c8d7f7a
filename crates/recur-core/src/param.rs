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

use crate::error::{Error, Result};

/// Checks that this runtime can allocate `floats` more `f32`s at once, else a range error naming
/// `what`: a probe allocation, freed at once. Buffers whose size comes from the caller are
/// checked through this before they are made: in wasm an allocation that fails aborts (a trap,
/// not an error), e.g. for a dense layer of 10^9 units, whose element count is within
/// `MAX_ELEMENTS` but whose 4 GB are not. After a probe succeeds the memory it took is free in
/// the allocator, so the buffers made next fit in it.
pub fn check_allocatable(what: &str, floats: usize) -> Result<()> {
    reserved::<f32>(what, floats).map(drop)
}

/// An empty vector with room for `len` elements, allocated now, or a range error naming `what`
/// when this runtime cannot allocate them. For buffers whose size comes from the caller and that
/// must be allocated before anything changes (a copy returned after a call that changed state).
#[inline(never)]
pub fn reserved<T>(what: &str, len: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    match v.try_reserve_exact(len) {
        Ok(()) => Ok(v),
        Err(_) => Err(Error::range(what, len, "a number of values this runtime can allocate")),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_allocation_beyond_the_address_space_is_a_range_error() {
        assert_eq!(check_allocatable("w", 16), Ok(()));
        let e = check_allocatable("w", usize::MAX).unwrap_err();
        assert_eq!(e.code(), "ERR_RANGE");
        assert!(e.to_string().contains('w'), "{e}");
    }

    #[test]
    fn reserved_gives_room_for_what_was_asked_or_a_range_error() {
        let v = reserved::<f32>("out", 1000).unwrap();
        assert!(v.is_empty() && v.capacity() >= 1000);
        let e = reserved::<u8>("bytes", usize::MAX).unwrap_err();
        assert_eq!(e.code(), "ERR_RANGE");
        assert!(e.to_string().starts_with("bytes"), "{e}");
    }
}
