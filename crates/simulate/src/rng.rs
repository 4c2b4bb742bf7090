//! Deterministic randomness owned by this crate.
//!
//! The generator and its samplers live here rather than in `rand`: captures
//! made by this crate are golden inputs for other crates' tests, so a
//! dependency update must never change one byte of the output for a seed.

/// xoshiro256++: fast, small state, good enough for traffic synthesis.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

/// SplitMix64's finalizer: a bijective 64-bit mix, used both to seed
/// generators and to derive per-source attributes from an index.
pub(crate) const fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// A hash of two words; order matters.
pub(crate) const fn hash2(a: u64, b: u64) -> u64 {
    mix64(a ^ mix64(b).rotate_left(17))
}

impl Rng {
    /// A generator for one independent stream of a run. Streams keep the
    /// background identical whether or not campaigns are added.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let mut x = hash2(seed, stream);
        let mut s = [0u64; 4];
        for w in &mut s {
            x = mix64(x);
            *w = x;
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    pub(crate) fn next_u16(&mut self) -> u16 {
        (self.next_u64() >> 48) as u16
    }

    /// Uniform in `0..n` (`n > 0`). Multiply-shift without rejection: the
    /// bias is below 2^-32 for every `n` used here.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range_u16(&mut self, lo: u16, hi: u16) -> u16 {
        lo + self.below(u64::from(hi - lo) + 1) as u16
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe to take the logarithm of.
    pub(crate) fn open_unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Exponential with mean 1: the gap between Poisson arrivals.
    pub(crate) fn exp1(&mut self) -> f64 {
        -self.open_unit().ln()
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
}

/// A keyed bijection on u32 (four Feistel rounds on 16-bit halves). Walking a
/// counter through it yields addresses that look random but never repeat.
#[derive(Debug, Clone)]
pub(crate) struct Feistel32 {
    keys: [u64; 4],
}

impl Feistel32 {
    pub(crate) fn new(key: u64) -> Self {
        Feistel32 {
            keys: [hash2(key, 1), hash2(key, 2), hash2(key, 3), hash2(key, 4)],
        }
    }

    pub(crate) fn permute(&self, x: u32) -> u32 {
        let (mut l, mut r) = ((x >> 16) as u16, x as u16);
        for k in self.keys {
            // Any round function keeps a Feistel network bijective; one
            // multiply is enough to scatter addresses and keeps this cheap
            // enough to run per packet.
            let f = ((u64::from(r) ^ k).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as u16;
            (l, r) = (r, l ^ f);
        }
        (u32::from(l) << 16) | u32::from(r)
    }
}

/// Ranks `0..n` with probability falling off like `(1 + rank)^-s`: a
/// continuous stand-in for Zipf, sampled by inversion with no table. A few
/// ranks take a large share, the many others a little each.
#[derive(Debug, Clone)]
pub(crate) struct PowerLaw {
    n: u64,
    s: f64,
    /// `ln(n + 1)` when `s == 1`, else `(n + 1)^(1 - s) - 1`.
    c: f64,
}

impl PowerLaw {
    pub(crate) fn new(n: u64, s: f64) -> Self {
        let n1 = n as f64 + 1.0;
        let c = if (s - 1.0).abs() < 1e-9 {
            n1.ln()
        } else {
            n1.powf(1.0 - s) - 1.0
        };
        PowerLaw { n, s, c }
    }

    pub(crate) fn sample(&self, rng: &mut Rng) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        let u = rng.unit();
        let x = if (self.s - 1.0).abs() < 1e-9 {
            (u * self.c).exp() - 1.0
        } else {
            (1.0 + u * self.c).powf(1.0 / (1.0 - self.s)) - 1.0
        };
        (x as u64).min(self.n - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_independent() {
        let a: Vec<u64> = (0..4)
            .scan(Rng::new(7, 1), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .scan(Rng::new(7, 1), |r, _| Some(r.next_u64()))
            .collect();
        let c: Vec<u64> = (0..4)
            .scan(Rng::new(7, 2), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn unit_intervals_hold() {
        let mut r = Rng::new(1, 1);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let o = r.open_unit();
            assert!(o > 0.0 && o <= 1.0);
            assert!(r.below(3) < 3);
            let v = r.range_u16(5, 9);
            assert!((5..=9).contains(&v));
        }
    }

    #[test]
    fn feistel_is_a_bijection_on_a_sample() {
        let f = Feistel32::new(42);
        let mut seen: Vec<u32> = (0..100_000u32).map(|x| f.permute(x)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 100_000);
    }

    #[test]
    fn power_law_is_heavy_tailed() {
        let p = PowerLaw::new(200_000, 1.0);
        let mut r = Rng::new(3, 3);
        let mut top = 0u32;
        let n = 200_000;
        for _ in 0..n {
            let x = p.sample(&mut r);
            assert!(x < 200_000);
            if x < 2_000 {
                top += 1;
            }
        }
        // The top 1% of ranks take ln(2001)/ln(200001) ≈ 62% of the draws.
        let share = f64::from(top) / f64::from(n);
        assert!((0.58..0.66).contains(&share), "{share}");
    }
}
