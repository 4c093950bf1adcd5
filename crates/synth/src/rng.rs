//! A small, explicitly seeded PRNG (xoshiro256**, seeded through SplitMix64) and the sampling helpers the
//! simulation needs.
//!
//! Hand-written rather than taken from `rand` so that the output of a seed never changes with a dependency
//! upgrade: byte-identical output for a seed is an acceptance criterion. Every person gets an independent
//! stream derived from `(seed, stream tag, index)`, so people can be simulated in parallel and in any order.

/// SplitMix64 step: used to expand seeds and as a general 64-bit mixer.
#[must_use]
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Mixes several words into one well-distributed 64-bit value (order-sensitive).
#[must_use]
pub fn mix(words: &[u64]) -> u64 {
    let mut state = 0x6A09_E667_F3BC_C908_u64;
    let mut out = 0;
    for w in words {
        state ^= w.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        out = splitmix64(&mut state);
    }
    out
}

/// Stream tags: each kind of randomness draws from its own stream so that adding draws to one part of the
/// simulation does not shift the others.
pub mod stream {
    pub const PLACE: u64 = 1;
    pub const PERSON: u64 = 2;
    pub const IDENTITY: u64 = 3;
    pub const IDS: u64 = 4;
}

/// xoshiro256** generator.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for the given seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let s = [
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
            splitmix64(&mut sm),
        ];
        Self { s }
    }

    /// An independent generator for `(seed, stream, index)`.
    #[must_use]
    pub fn derive(seed: u64, stream: u64, index: u64) -> Self {
        Self::new(mix(&[seed, stream, index]))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn f64(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let v = (self.next_u64() >> 11) as f64;
        v * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform integer in `0..n` (`n` > 0; returns 0 for `n` == 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for synthetic data but it is deterministic.
        let m = u128::from(self.next_u64()) * u128::from(n);
        #[allow(clippy::cast_possible_truncation)]
        let r = (m >> 64) as u64;
        r
    }

    /// Uniform index into a slice of length `len`.
    pub fn index(&mut self, len: usize) -> usize {
        #[allow(clippy::cast_possible_truncation)]
        let i = self.below(len as u64) as usize;
        i
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range_i64(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        #[allow(clippy::cast_sign_loss, clippy::cast_possible_wrap)]
        let v = lo + self.below((hi - lo + 1) as u64) as i64;
        v
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A uniformly chosen element (the slice must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index chosen with probability proportional to `weights` (non-negative, not all zero).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// Standard normal deviate (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64();
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential deviate with rate 1.
    pub fn exp1(&mut self) -> f64 {
        -(1.0 - self.f64()).ln()
    }

    /// Log-normal deviate with the given median and log-scale sigma.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Poisson deviate (Knuth for small means, normal approximation above 30).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            let v = (lambda + lambda.sqrt() * self.normal()).round().max(0.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            return v as u32;
        }
        let l = (-lambda).exp();
        let mut k = 0;
        let mut p = 1.0;
        loop {
            p *= self.f64();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

/// Deterministic version-4-shaped UUIDs from a namespace and counter (no randomness consumed from the
/// simulation streams, so ids never shift the data).
#[derive(Debug, Clone)]
pub struct IdGen {
    base: u64,
    counter: u64,
}

impl IdGen {
    /// An id generator for `(seed, namespace, index)`.
    #[must_use]
    pub fn new(seed: u64, namespace: u64, index: u64) -> Self {
        Self {
            base: mix(&[seed, stream::IDS, namespace, index]),
            counter: 0,
        }
    }

    /// The next UUID as lower-case text, e.g. `1b4e28ba-2fa1-41d2-883f-0016d3cca427`.
    pub fn uuid(&mut self) -> String {
        self.counter += 1;
        let hi = mix(&[self.base, self.counter, 1]);
        let lo = mix(&[self.base, self.counter, 2]);
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// The next UUID as a `urn:uuid:` full URL.
    pub fn urn(&mut self) -> String {
        format!("urn:uuid:{}", self.uuid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Rng::derive(7, stream::PERSON, 3);
        let mut b = Rng::derive(7, stream::PERSON, 3);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = Rng::derive(7, stream::PERSON, 4);
        assert_ne!(Rng::derive(7, stream::PERSON, 3).next_u64(), c.next_u64());
    }

    #[test]
    fn uniform_and_normal_moments() {
        let mut r = Rng::new(42);
        let n = 20_000;
        let mut sum = 0.0;
        let mut sq = 0.0;
        for _ in 0..n {
            let x = r.normal();
            sum += x;
            sq += x * x;
        }
        let mean = sum / f64::from(n);
        let var = sq / f64::from(n) - mean * mean;
        assert!(mean.abs() < 0.03, "mean {mean}");
        assert!((var - 1.0).abs() < 0.05, "var {var}");
        let p: f64 = (0..n).map(|_| r.f64()).sum::<f64>() / f64::from(n);
        assert!((p - 0.5).abs() < 0.01);
    }

    #[test]
    fn poisson_mean() {
        let mut r = Rng::new(1);
        let n = 20_000;
        let total: u32 = (0..n).map(|_| r.poisson(2.5)).sum();
        let mean = f64::from(total) / f64::from(n);
        assert!((mean - 2.5).abs() < 0.06, "{mean}");
    }

    #[test]
    fn uuids_are_v4_shaped_and_distinct() {
        let mut g = IdGen::new(1, 2, 3);
        let a = g.uuid();
        let b = g.uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }
}
