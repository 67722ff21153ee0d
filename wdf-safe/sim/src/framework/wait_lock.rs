//! `WDFWAITLOCK` (shared/support/fxwaitlockapi.cpp, shared/inc/private/common/fxwaitlock.hpp):
//! a synchronization event, initially signalled, that the acquiring thread waits on and owns
//! until it releases it. Waiters sleep here (a condition variable), never holding the
//! framework's lock.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::ThreadId;
use std::time::Duration;

use wdm_compat::NtStatus;

use super::Cx;
use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle};

/// `STATUS_TIMEOUT`, which `NtStatus` does not name (it is a success code).
pub(crate) const STATUS_TIMEOUT: i32 = 0x102;

/// The event and its owner (`m_OwningThread`).
#[derive(Default)]
pub(crate) struct WaitLockState {
    owner: Mutex<Option<ThreadId>>,
    released: Condvar,
}

/// `WdfWaitLockCreate`: a new lock under `parent` (the driver when none is given).
pub(crate) fn create(
    cx: &Cx,
    parent: Option<Handle>,
    attributes: Option<&Attributes>,
) -> Result<Handle, NtStatus> {
    let parent = parent.or_else(|| cx.image.driver());
    lifecycle::create_object(
        cx,
        parent,
        attributes,
        Body::WaitLock(Arc::new(WaitLockState::default())),
    )
}

/// The lock's state, read under the framework's lock and then used without it.
fn state(cx: &Cx, lock: Handle) -> Option<Arc<WaitLockState>> {
    cx.lock()
        .objects
        .get(lock)
        .and_then(|o| o.wait_lock())
        .map(Arc::clone)
}

/// `FxWaitLock::AcquireLock`: `None` waits as long as it takes, `Some(0)` only tries, a
/// negative value waits at most that many 100 ns (a positive, absolute time is taken as already
/// passed). Returns the status the DDI returns.
pub(crate) fn acquire(cx: &Cx, ddi: &str, lock: Handle, timeout: Option<i64>) -> i32 {
    let Some(state) = state(cx, lock) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let me = std::thread::current().id();
    let mut owner = state.owner.lock().unwrap_or_else(PoisonError::into_inner);
    if *owner == Some(me) && timeout.is_none_or(|t| t != 0) {
        // KMDF asserts (ASSERT(m_OwningThread != Mx::MxGetCurrentThread())) and the thread
        // then waits for itself forever.
        drop(owner);
        cx.verifier_break(
            Some("WdfWaitlock"),
            &format!("{ddi}: the calling thread already holds this wait lock: it would wait for itself forever"),
        );
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    match timeout {
        None => {
            while owner.is_some() {
                owner = state
                    .released
                    .wait(owner)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        Some(limit) => {
            let wait = Duration::from_nanos(limit.min(0).unsigned_abs().saturating_mul(100));
            if owner.is_some() && !wait.is_zero() {
                owner = state
                    .released
                    .wait_timeout_while(owner, wait, |owner| owner.is_some())
                    .map_or_else(|poisoned| poisoned.into_inner().0, |(owner, _)| owner);
            }
            if owner.is_some() {
                return STATUS_TIMEOUT;
            }
        }
    }
    *owner = Some(me);
    NtStatus::SUCCESS.to_raw()
}

/// `FxWaitLock::ReleaseLock`: by the owning thread only (KMDF asserts it; the simulation
/// reports it and leaves the lock as it was).
pub(crate) fn release(cx: &Cx, ddi: &str, lock: Handle) {
    let Some(state) = state(cx, lock) else {
        return;
    };
    let mut owner = state.owner.lock().unwrap_or_else(PoisonError::into_inner);
    if *owner != Some(std::thread::current().id()) {
        drop(owner);
        cx.verifier_break(
            Some("WdfWaitlockRelease"),
            &format!("{ddi}: the calling thread does not hold this wait lock"),
        );
        return;
    }
    *owner = None;
    drop(owner);
    state.released.notify_one();
}
