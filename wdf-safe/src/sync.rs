//! Locks with RAII guards; there is no bare acquire or release, so acquire and release always
//! pair up (SDV WdfSpinlock, WdfSpinlockRelease, WdfWaitlock, WdfWaitlockRelease).
//!
//! * [`SpinLock<T>`]: raises to DISPATCH_LEVEL while held (shared with `wdm-compat`); never
//!   complete or send a request while holding one (SDV ReqSendWhileSpinlock: the simulated
//!   verifier reports it).
//! * [`WaitLock<T>`]: a `WDFWAITLOCK`, acquired at PASSIVE_LEVEL; waiters sleep, the IRQL is
//!   not raised.
//!
//! Both guards are `!Send`: a lock is released by the thread that acquired it (bug check 0x10D,
//! 0xB otherwise).

pub use crate::sys::wait_lock::{WaitLock, WaitLockGuard};
pub use wdm_compat::{SpinLock, SpinLockGuard};

static_assertions::assert_not_impl_any!(WaitLockGuard<'static, u32>: Send);
static_assertions::assert_not_impl_any!(SpinLockGuard<'static, u32>: Send);
static_assertions::assert_impl_all!(SpinLock<u32>: Send, Sync);
static_assertions::assert_impl_all!(WaitLock<u32>: Send, Sync);
