//! A cache hint for code that walks structures too large for the cache.

/// Asks for the cache lines holding `value` to be loaded, without waiting
/// for them. Large lookups issue these for a run of keys before using any,
/// so that the misses overlap; a plain load for the same purpose stalled
/// the thread until the line arrived once the CPU's window of reordered
/// loads filled up. Only a hint: it reads and changes nothing, cannot fault,
/// and does nothing on targets without a prefetch instruction.
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    // From the start of the line the value begins in, through its last byte.
    let first = std::ptr::from_ref(value).cast::<u8>();
    let lead = first.addr() % LINE;
    let first = first.wrapping_sub(lead);
    let mut offset = 0;
    while offset < lead + size_of::<T>().max(1) {
        hint(first.wrapping_add(offset));
        offset += LINE;
    }
}

/// The cache line size of the CPUs this runs on.
const LINE: usize = 64;

#[inline(always)]
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn hint(p: *const u8) {
    // SAFETY: PREFETCHT0 never dereferences its operand in the language's
    // sense: it cannot fault and has no effect a program can observe other
    // than timing, for any address. The intrinsic is `unsafe` only because
    // it is an SSE instruction, and SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
}

#[inline(always)]
#[cfg(not(target_arch = "x86_64"))]
fn hint(_: *const u8) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let v: Vec<u64> = (0..1000).collect();
        for x in &v {
            prefetch(x);
        }
        prefetch(&v);
        prefetch(&());
        let big = [7u8; 1000];
        prefetch(&big);
        assert_eq!(v.iter().sum::<u64>(), 999 * 1000 / 2);
        assert!(big.iter().all(|&b| b == 7));
    }
}
