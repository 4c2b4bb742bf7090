//! The dense form: 2^14 HyperLogLog registers and Ertl's improved estimator.
//!
//! Ertl, "New cardinality estimation algorithms for HyperLogLog sketches"
//! (2017), section 4: the estimator folds the register histogram with the
//! `sigma` and `tau` series and needs no empirical bias tables, so it is
//! accurate from a handful of elements up to far past 2^32.

use crate::SketchError;
use crate::wire::Reader;

/// Index bits taken from the top of the hash.
pub(crate) const P: u32 = 14;
/// Number of registers.
pub(crate) const M: usize = 1 << P;
/// Bits left for the rank once the index is taken.
const Q: u32 = 64 - P;
/// Largest register value: all `Q` rank bits zero.
pub(crate) const MAX_RANK: u8 = (Q + 1) as u8;
/// Bytes of the 6-bit packed serialized registers.
pub(crate) const PACKED_LEN: usize = M * 6 / 8;

/// Dense HyperLogLog registers, one byte each so updates are a single store.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Registers(Box<[u8; M]>);

impl std::fmt::Debug for Registers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let filled = self.0.iter().filter(|&&r| r != 0).count();
        write!(f, "Registers {{ filled: {filled}/{M} }}")
    }
}

impl Registers {
    pub(crate) fn new() -> Self {
        Registers(Box::new([0u8; M]))
    }

    /// The register an insert of `h` updates.
    #[inline]
    pub(crate) fn register(&self, h: u64) -> &u8 {
        &self.0[(h >> Q) as usize]
    }

    #[inline]
    pub(crate) fn insert(&mut self, h: u64) {
        let idx = (h >> Q) as usize;
        // A guard bit just below the rank bits caps the rank at Q + 1.
        let rank = ((h << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
        let r = &mut self.0[idx];
        if rank > *r {
            *r = rank;
        }
    }

    pub(crate) fn merge(&mut self, other: &Registers) {
        for (a, &b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = (*a).max(b);
        }
    }

    pub(crate) fn estimate(&self) -> f64 {
        let mut hist = [0u32; MAX_RANK as usize + 1];
        for &r in self.0.iter() {
            hist[r as usize] += 1;
        }
        ertl_estimate(&hist)
    }

    /// Four registers of 6 bits each go into three bytes, little-endian.
    pub(crate) fn write_packed(&self, out: &mut Vec<u8>) {
        for quad in self.0.chunks_exact(4) {
            let v = u32::from(quad[0])
                | u32::from(quad[1]) << 6
                | u32::from(quad[2]) << 12
                | u32::from(quad[3]) << 18;
            out.extend_from_slice(&v.to_le_bytes()[..3]);
        }
    }

    pub(crate) fn read_packed(r: &mut Reader<'_>) -> Result<Self, SketchError> {
        let start = r.offset();
        let packed = r.take(PACKED_LEN, "dense registers")?;
        let mut regs = Registers::new();
        for (i, (quad, bytes)) in regs
            .0
            .chunks_exact_mut(4)
            .zip(packed.chunks_exact(3))
            .enumerate()
        {
            let v = u32::from(bytes[0]) | u32::from(bytes[1]) << 8 | u32::from(bytes[2]) << 16;
            for (j, reg) in quad.iter_mut().enumerate() {
                let value = ((v >> (6 * j)) & 0x3f) as u8;
                if value > MAX_RANK {
                    return Err(Reader::invalid(
                        start + 3 * i,
                        "dense register",
                        "value above the largest possible rank (51)",
                    ));
                }
                *reg = value;
            }
        }
        Ok(regs)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        M
    }
}

/// Ertl's improved raw estimator (Algorithm 6 of the paper) over a register
/// histogram `hist[k]` = number of registers equal to `k`.
fn ertl_estimate(hist: &[u32; MAX_RANK as usize + 1]) -> f64 {
    let m = M as f64;
    let q = Q as usize;
    let mut z = m * tau((m - f64::from(hist[q + 1])) / m);
    for k in (1..=q).rev() {
        z = 0.5 * (z + f64::from(hist[k]));
    }
    z += m * sigma(f64::from(hist[0]) / m);
    // alpha_inf = 1 / (2 ln 2)
    let alpha = 0.5 / std::f64::consts::LN_2;
    alpha * m * m / z
}

/// sigma(x) = x + sum_{k>=1} x^(2^k) 2^(k-1); infinite when every register is 0.
fn sigma(mut x: f64) -> f64 {
    if x >= 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if z == prev {
            return z;
        }
    }
}

/// tau(x) = (1 - x - sum_{k>=1} (1 - x^(2^-k))^2 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
        if z == prev {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_and_index_come_from_the_right_bits() {
        let mut r = Registers::new();
        // Index 0, rank bits 1 followed by zeros: rank 1.
        r.insert(1 << (Q - 1));
        assert_eq!(r.0[0], 1);
        // Index M-1, all rank bits zero: the guard caps it at Q + 1.
        r.insert(u64::MAX << Q);
        assert_eq!(r.0[M - 1], MAX_RANK);
        // Index 5, lowest rank bit set: rank Q.
        r.insert((5 << Q) | 1);
        assert_eq!(r.0[5], Q as u8);
    }

    #[test]
    fn empty_estimates_zero_and_small_counts_are_close() {
        assert_eq!(Registers::new().estimate(), 0.0);
        let mut r = Registers::new();
        for i in 0..100u64 {
            r.insert(xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes()));
        }
        let e = r.estimate();
        assert!((e - 100.0).abs() < 2.0, "estimate {e}");
    }

    #[test]
    fn packing_round_trips_every_value() {
        let mut r = Registers::new();
        for (i, reg) in r.0.iter_mut().enumerate() {
            *reg = (i % (MAX_RANK as usize + 1)) as u8;
        }
        let mut out = Vec::new();
        r.write_packed(&mut out);
        assert_eq!(out.len(), PACKED_LEN);
        let back = Registers::read_packed(&mut Reader::new(&out)).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn packing_rejects_a_rank_too_large() {
        let mut out = vec![0u8; PACKED_LEN];
        // Second register of the second group = 63.
        out[3] = 0xc0;
        out[4] = 0x0f;
        let err = Registers::read_packed(&mut Reader::new(&out)).unwrap_err();
        assert!(
            matches!(err, SketchError::Invalid { offset: 3, .. }),
            "{err}"
        );
    }
}
