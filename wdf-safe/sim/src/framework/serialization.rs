//! Callback serialization (`SynchronizationScope` and `AutomaticSerialization`,
//! shared/object/fxobject.cpp `_GetEffectiveLock`, shared/inc/private/common/fxcallbackspinlock.hpp):
//! a queue whose attributes ask for `WdfSynchronizationScopeQueue` has a callback lock (a queue
//! inheriting its scope from a device that asked for `WdfSynchronizationScopeDevice` shares the
//! device's, as every such queue of the device does), held
//! around each of its `EvtIo*` callbacks (`EvtIoStop`, `EvtIoResume` and
//! `EvtIoCanceledOnQueue` included: KMDF's `FxLockedCallback`s in fxioqueuecallbacks.hpp), the
//! cancel routines of its requests
//! (`m_IoCancelCallbackLockPtr`), and the callbacks of timers created under it with
//! `AutomaticSerialization`. The queue's callbacks run at DISPATCH_LEVEL, as under KMDF's
//! callback spin lock. A parent without a scope gives no lock: the timer is not serialized.
//!
//! The lock is not recursive: a thread that already holds it is reported (KMDF's
//! `FxCallbackSpinLock::Lock` breaks on a recursive acquire) and goes on without waiting.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::ThreadId;

use super::Cx;

/// DISPATCH_LEVEL: a callback lock is a spin lock.
const DISPATCH: u8 = 2;

/// `FxCallbackSpinLock`: which thread holds it, and who waits.
#[derive(Default)]
pub(crate) struct CallbackLock {
    owner: Mutex<Option<ThreadId>>,
    released: Condvar,
}

/// Held while it lives: the lock, and the IRQL raised for it.
pub(crate) struct Held<'a> {
    lock: Option<&'a CallbackLock>,
    cx: &'a Cx,
    old_irql: u8,
}

impl CallbackLock {
    /// Acquires the lock for a callback on this thread (waiting while another thread holds
    /// it) at DISPATCH_LEVEL.
    pub(crate) fn acquire<'a>(&'a self, cx: &'a Cx) -> Held<'a> {
        let me = std::thread::current().id();
        let mut owner = self.owner.lock().unwrap_or_else(PoisonError::into_inner);
        if *owner == Some(me) {
            drop(owner);
            cx.verifier_break(
                None,
                "a callback lock (SynchronizationScope / AutomaticSerialization) acquired again by \
                 the thread that holds it",
            );
            let old_irql = cx.kernel.raise_irql(DISPATCH);
            return Held {
                lock: None,
                cx,
                old_irql,
            };
        }
        if owner.is_some() {
            let waiters = &cx.fx().lock_waiters;
            waiters.fetch_add(1, Ordering::SeqCst);
            while owner.is_some() {
                owner = self
                    .released
                    .wait(owner)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            waiters.fetch_sub(1, Ordering::SeqCst);
        }
        *owner = Some(me);
        drop(owner);
        let old_irql = cx.kernel.raise_irql(DISPATCH);
        Held {
            lock: Some(self),
            cx,
            old_irql,
        }
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.cx.kernel.lower_irql(self.old_irql);
        if let Some(lock) = self.lock {
            *lock.owner.lock().unwrap_or_else(PoisonError::into_inner) = None;
            lock.released.notify_all();
        }
    }
}

/// The callback lock of `object` (a queue, or a device), if its attributes asked for one or
/// a queue inherited its device's.
pub(crate) fn of_queue(cx: &Cx, object: super::objects::Handle) -> Option<Arc<CallbackLock>> {
    let state = cx.lock();
    let object = state.objects.get(object)?;
    object
        .queue()
        .and_then(|q| q.lock.clone())
        .or_else(|| object.device().and_then(|d| d.lock.clone()))
}
