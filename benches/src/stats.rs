//! Statistics over latency samples.

/// The `p`-quantile (0..=1) of samples, nearest rank.
pub fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The median of samples.
pub fn median(samples: &[f64]) -> f64 {
    percentile(samples, 0.5)
}
