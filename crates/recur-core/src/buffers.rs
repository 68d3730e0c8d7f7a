//! Sizing of the buffers that layers and workspaces reuse from call to call.

/// Sizes `buf` to `len` elements without clearing it, for buffers that are written before they
/// are read. Growing frees the old buffer first and allocates exactly `len`: no growth slack
/// (`Vec`'s amortized growth may double), and never the old and the new buffer at once, so the
/// memory the allocation probes count is what it takes.
pub(crate) fn fit<T: Copy + Default>(buf: &mut Vec<T>, len: usize) {
    if len > buf.capacity() {
        *buf = Vec::new();
        buf.reserve_exact(len);
    }
    buf.resize(len, T::default());
}

/// Sizes `buf` to `len` zeros (for buffers read before they are written: carried gradients).
pub(crate) fn zeroed<T: Copy + Default>(buf: &mut Vec<T>, len: usize) {
    fit(buf, len);
    buf.fill(T::default());
}

/// Sizes `buf` to `src.len()` and copies `src` into it (see [`fit`]).
pub(crate) fn copy_into<T: Copy + Default>(buf: &mut Vec<T>, src: &[T]) {
    fit(buf, src.len());
    buf.copy_from_slice(src);
}
