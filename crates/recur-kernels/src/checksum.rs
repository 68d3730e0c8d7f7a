//! A cheap checksum of a slice, for the benchmark export `gemmRepeat`: the sums of 16
//! interleaved lanes (element `i` goes to lane `i % 16`). Here, at opt-level 3, LLVM turns the
//! lanes into vector adds; in the bindings' crate, which is compiled for size, the same loop
//! ran element by element and summing a 1024 × 128 product took about 58 µs, 9 % of a timed
//! call of ten such products (the TF.js side of the GEMM table reads nothing back).

/// Adds `data[i]` to `lanes[i % 16]` for every `i`.
#[inline(never)]
pub fn add_lane_sums(data: &[f32], lanes: &mut [f32; 16]) {
    let mut chunks = data.chunks_exact(16);
    for chunk in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter_mut().zip(chunks.remainder()).for_each(|(lane, v)| *lane += v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_i_sums_every_16th_element_from_i() {
        let data: Vec<f32> = (0..37).map(|i| i as f32).collect();
        let mut lanes = [1.0f32; 16];
        add_lane_sums(&data, &mut lanes);
        for (i, &got) in lanes.iter().enumerate() {
            let want = 1.0 + data.iter().skip(i).step_by(16).sum::<f32>();
            assert_eq!(got, want, "lane {i}");
        }
    }
}
