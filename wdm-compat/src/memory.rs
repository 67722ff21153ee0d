//! Allocating without bug-checking: [`try_box`], [`try_push`] and [`try_collect`] return the
//! value back (or `None`) when memory is short, where `Box::new` and `Vec::push` would panic —
//! a bug check in a driver. Both crates' seams allocate through them and answer
//! `STATUS_INSUFFICIENT_RESOURCES`; drivers can too. Under the host simulation (feature
//! `host`), `IoManager::fail_allocation` makes one of them fail on purpose, as Driver
//! Verifier's low resources simulation does.
//!
//! IRQL: as the pool the global allocator draws from (≤ DISPATCH_LEVEL for non-paged pool).

pub use crate::sys::fallible::{try_box, try_collect, try_push};
