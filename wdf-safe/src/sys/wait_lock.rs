//! The wait lock behind [`crate::sync::WaitLock`] (see there).

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use wdm_compat::thread_rules::StaysOnItsThread;

use crate::thread_rules::AWaitLockIsReleasedOnTheThreadThatAcquiredIt;

/// `WdfWaitLockAcquire` with no timeout needs PASSIVE_LEVEL. In the host simulation a call
/// above it is reported as the KMDF verifier would (SDV KmdfIrql); on Windows it is traced.
fn check_passive() {
    let irql = super::current_irql();
    if irql == 0 {
        return;
    }
    #[cfg(feature = "host")]
    {
        let _ = wdm_compat::host::report_framework_violation(
            "KmdfIrql",
            None,
            true,
            &alloc::format!("WdfWaitLockAcquire called at IRQL {irql}; it requires PASSIVE_LEVEL"),
        );
    }
    #[cfg(not(feature = "host"))]
    wdm_compat::kd_print!("WdfWaitLockAcquire called at IRQL {irql}; it requires PASSIVE_LEVEL");
}

/// Data of type `T` guarded by a wait lock (`WDFWAITLOCK`).
pub struct WaitLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: one holder at a time gets access to `T` (the `locked` flag), so sharing the lock moves
// `T` between threads: `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for WaitLock<T> {}

impl<T> WaitLock<T> {
    /// `WdfWaitLockCreate`: a new, unlocked wait lock holding `value`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub const fn new(value: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(value),
        }
    }

    /// `WdfWaitLockAcquire` with no timeout: waits for the lock at PASSIVE_LEVEL and returns
    /// the guard that releases it when dropped. Unlike a spin lock it does not raise the IRQL,
    /// so the holder may block, allocate paged memory, or send requests synchronously.
    ///
    /// IRQL: PASSIVE_LEVEL (the simulated verifier reports a call above it, SDV KmdfIrql).
    pub fn lock(&self) -> WaitLockGuard<'_, T> {
        check_passive();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        WaitLockGuard {
            lock: self,
            _thread: PhantomData,
        }
    }

    /// `WdfWaitLockAcquire` with a zero timeout: the guard if the lock is free now.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn try_lock(&self) -> Option<WaitLockGuard<'_, T>> {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| WaitLockGuard {
                lock: self,
                _thread: PhantomData,
            })
    }
}

/// Access to a [`WaitLock`]'s data; releases the lock when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct WaitLockGuard<'a, T> {
    lock: &'a WaitLock<T>,
    _thread: StaysOnItsThread<dyn AWaitLockIsReleasedOnTheThreadThatAcquiredIt>,
}

impl<T> Deref for WaitLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while it holds `locked`, so no other reference to the
        // data exists; the reference lives no longer than `&self`.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> DerefMut for WaitLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference made through it.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for WaitLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
