//! One small sort for the orderings outside the hot paths (JSON maps, the safetensors header and
//! its data ranges): std's generic sorts, instantiated per element type and comparator, cost
//! about 18 KB of wasm; this heapsort of indices is compiled once.

/// The indices `0..n` in ascending order by `less` (a strict weak order over indices; break
/// ties by index for a stable order). O(n log n), no allocation besides the result.
pub fn sorted_order(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    // Sift v[root] down within v[..end] (a max-heap by `less`).
    let sift = |v: &mut [usize], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && less(v[child], v[child + 1]) {
            child += 1;
        }
        if !less(v[root], v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    for root in (0..n / 2).rev() {
        sift(&mut v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(&mut v, 0, end);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sorts_like_std() {
        let mut rng = Rng::new(5);
        for n in [0, 1, 2, 3, 7, 64, 1000] {
            let keys: Vec<u32> = (0..n).map(|_| rng.next_u32() % 50).collect();
            let order = sorted_order(n, &|a, b| (keys[a], a) < (keys[b], b));
            let mut want: Vec<usize> = (0..n).collect();
            want.sort_by_key(|&i| keys[i]); // stable
            assert_eq!(order, want, "n = {n}");
        }
    }
}
