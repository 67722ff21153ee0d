//! [`SpinLock<T>`]: data guarded by a spin lock, reachable only through an RAII guard.
//!
//! It works like `KeAcquireSpinLockRaiseToDpc` / `KeReleaseSpinLock`: acquiring raises the IRQL
//! to DISPATCH_LEVEL (so the holder cannot be preempted on its processor) and spins on an atomic
//! flag (so no other processor gets in); releasing clears the flag and restores the IRQL saved
//! at acquisition. Because it is built only on atomics and the IRQL calls of the seam, the same
//! lock serves WDM and KMDF drivers alike, and the host simulation sees the raised IRQL: its
//! verifier reports completing an IRP while a spin lock is held (SDV SpinLockSafe).
//!
//! There is no bare acquire or release: the guard releases on drop, on every path, so the
//! pairing rules (SDV SpinLock, SpinlockRelease) hold by construction. The guard is `!Send`: a
//! spin lock is released on the processor that acquired it.

pub use crate::sys::spin_lock::{SpinLock, SpinLockGuard};
