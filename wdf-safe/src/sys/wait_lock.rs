//! The wait lock behind [`crate::sync::WaitLock`] (see there): data guarded by a `WDFWAITLOCK`.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use wdm_compat::thread_rules::StaysOnItsThread;
use wdm_compat::{NtResult, NtStatus};

use super::WaitLockHandle;
use crate::thread_rules::AWaitLockIsReleasedOnTheThreadThatAcquiredIt;

/// `WdfWaitLockAcquire` with no timeout needs PASSIVE_LEVEL; the crate refuses it above that
/// before the framework sees it (KMDF's verifier would break). In the host simulation the
/// refusal is reported as the KMDF verifier would report the call (SDV KmdfIrql); on Windows it
/// is traced.
fn refused_above_passive() -> bool {
    let irql = super::current_irql();
    if irql == 0 {
        return false;
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
    wdm_compat::kd_print!("WdfWaitLockAcquire refused at IRQL {irql}: it requires PASSIVE_LEVEL");
    true
}

/// Data of type `T` guarded by a wait lock (`WDFWAITLOCK`).
pub struct WaitLock<T> {
    lock: WaitLockHandle,
    data: UnsafeCell<T>,
}

// SAFETY: one holder at a time gets access to `T` (the framework's lock), so sharing the lock
// moves `T` between threads: `T: Send` suffices, as for `std::sync::Mutex`.
unsafe impl<T: Send> Sync for WaitLock<T> {}

impl<T> WaitLock<T> {
    /// `WdfWaitLockCreate`: a new, unlocked wait lock holding `value`, parented to the driver
    /// (KMDF's default). Dropping it deletes the framework object; one still alive when the
    /// driver unloads goes with the driver.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL, in driver code (`DriverEntry` or a callback).
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES`, or what `WdfWaitLockCreate` returned.
    pub fn new(value: T) -> NtResult<Self> {
        Ok(Self {
            lock: WaitLockHandle::create()?,
            data: UnsafeCell::new(value),
        })
    }

    /// `WdfWaitLockAcquire` with no timeout: waits for the lock and returns the guard that
    /// releases it when dropped. The thread sleeps while it waits, and holds the lock inside a
    /// critical region (no user-mode APC suspends it meanwhile). Unlike a spin lock it does not
    /// raise the IRQL, so the holder may block, allocate paged memory, or send requests
    /// synchronously.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL (the simulated verifier reports it,
    /// SDV KmdfIrql), or what `WdfWaitLockAcquire` returned.
    pub fn lock(&self) -> NtResult<WaitLockGuard<'_, T>> {
        if refused_above_passive() {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        self.lock.acquire()?;
        Ok(WaitLockGuard {
            lock: self,
            _thread: PhantomData,
        })
    }

    /// `WdfWaitLockAcquire` with a zero timeout: the guard if the lock is free now.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn try_lock(&self) -> Option<WaitLockGuard<'_, T>> {
        self.lock.try_acquire().then(|| WaitLockGuard {
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
        // SAFETY: the guard exists only while this thread holds the framework's lock, so no
        // other reference to the data exists; the reference lives no longer than `&self`.
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
        // `!Send`: the thread that acquired the lock releases it.
        self.lock.lock.release();
    }
}
