//! The global allocator and how it is tuned.
//!
//! mimalloc hands freed memory back to the OS after a delay (1 s in
//! mimalloc 3, which the `mimalloc` crate builds; 10 ms in mimalloc 2).
//! `analyze` frees a batch's worth of buckets and source-days and allocates
//! as much again soon after, so purging made batches fault their pages back
//! in (huge pages, zeroed by the kernel): on a 5.7M-packet capture ~10,000
//! page faults against ~420 without purging, and up to 0.9 s of system time
//! against ~0.15 s, for ~10% more peak memory (the freed memory is reused,
//! not added to). The process holds steady state or ends soon, so keeping
//! what it freed costs little.

// The one place the binary calls C: mimalloc's option setter.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mimalloc.h`'s `mi_option_e` (the same in
/// mimalloc 2 and 3; `libmimalloc-sys` names no constant for it). The test
/// below checks it against the documented defaults.
const MI_OPTION_PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
    #[cfg(test)]
    fn mi_option_get(option: c_int) -> c_long;
}

/// Keeps freed memory for reuse instead of handing it back to the OS.
/// Call first thing in `main`; `MIMALLOC_PURGE_DELAY` in the environment
/// still wins, for experiments.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; mimalloc reads it at each
        // purge, so setting it at any time is sound.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_index_is_the_purge_delay() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an integer option.
        let before = unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) };
        // mimalloc 3's default is 1000 ms, mimalloc 2's 10 ms.
        assert!(
            before == 1000 || before == 10,
            "not the purge delay: {before}"
        );
        tune();
        // SAFETY: as above.
        assert_eq!(unsafe { mi_option_get(MI_OPTION_PURGE_DELAY) }, -1);
    }
}
