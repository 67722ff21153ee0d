//! `WDFWAITLOCK`: the framework's wait lock, a kernel synchronization event the holder owns
//! inside a critical region (`FxWaitLock::AcquireLock`, shared/inc/private/common/fxwaitlock.hpp):
//! waiters sleep instead of spinning, and a holder cannot be suspended by a user-mode APC while
//! others wait for it.

use core::ptr::{self, NonNull};
use core::sync::atomic::Ordering;

use super::image;
use super::wdk_sys::{self, call_unsafe_wdf_function_binding};
use wdm_compat::{NtResult, NtStatus};

/// `STATUS_TIMEOUT`: a zero-timeout acquire found the lock taken.
const STATUS_TIMEOUT: i32 = 0x102;

/// A `WDFWAITLOCK` the crate created, parented to the driver (KMDF's default parent).
pub(crate) struct WaitLockHandle(NonNull<wdk_sys::WDFWAITLOCK__>);

// SAFETY: a framework handle, usable from any thread; the framework serialises the lock itself.
unsafe impl Send for WaitLockHandle {}
// SAFETY: as above.
unsafe impl Sync for WaitLockHandle {}

impl WaitLockHandle {
    /// `WdfWaitLockCreate` with no attributes: the driver is the parent.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub(crate) fn create() -> NtResult<Self> {
        let mut lock: wdk_sys::WDFWAITLOCK = ptr::null_mut();
        // SAFETY: no attributes; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfWaitLockCreate, ptr::null_mut(), &mut lock)
        };
        NtStatus::from_raw(status).ok()?;
        NonNull::new(lock)
            .map(Self)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)
    }

    /// `WdfWaitLockAcquire` with no timeout: waits until the lock is this thread's.
    ///
    /// IRQL: PASSIVE_LEVEL (the framework refuses the call above it).
    pub(crate) fn acquire(&self) -> NtResult {
        // SAFETY: a lock the crate created and deletes only on drop; no timeout.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfWaitLockAcquire, self.0.as_ptr(), ptr::null_mut())
        };
        NtStatus::from_raw(status).ok()
    }

    /// `WdfWaitLockAcquire` with a zero timeout: whether the lock is this thread's now.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub(crate) fn try_acquire(&self) -> bool {
        let mut timeout: i64 = 0;
        // SAFETY: as in `acquire`; the timeout outlives the call.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfWaitLockAcquire, self.0.as_ptr(), &mut timeout)
        };
        status != STATUS_TIMEOUT && NtStatus::from_raw(status).ok().is_ok()
    }

    /// `WdfWaitLockRelease`, by the thread that acquired it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub(crate) fn release(&self) {
        // SAFETY: the caller holds the lock, acquired on this thread.
        unsafe { call_unsafe_wdf_function_binding!(WdfWaitLockRelease, self.0.as_ptr()) };
    }
}

impl Drop for WaitLockHandle {
    fn drop(&mut self) {
        // When the driver goes, KMDF deletes its children, this lock among them, before the
        // driver's destroy callback drops the driver's value (and the lock in it): deleting it
        // again then would name a freed object. Dropped earlier, the driver still owns it.
        if image().is_some_and(|image| !image.torn_down.load(Ordering::Acquire)) {
            // SAFETY: a lock the crate created, not deleted yet (the driver is not being torn
            // down), deleted once here.
            unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, self.0.as_ptr().cast()) };
        }
    }
}
