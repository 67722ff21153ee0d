//! The cancel-safe queue behind [`crate::csq::CancelSafeQueue`]: pending IRPs in a list under a
//! spin lock, each with a cancel routine that finds its queue through the IRP.
//!
//! The protocol is IoCsq's (Learn: "Cancel-Safe IRP Queues"; `IoCsqInsertIrp`,
//! `IoCsqRemoveNextIrp`):
//!
//! * An IRP is put in the list, and its cancel routine set, under the list's lock. If it was
//!   cancelled already and clearing the routine again succeeds, nobody else will touch it: it is
//!   handed back as cancelled instead of queued.
//! * Only whoever clears an IRP's cancel routine (`IoSetCancelRoutine(irp, NULL)` returning the
//!   routine) may take it out of the list. When clearing finds no routine, the I/O manager has
//!   taken it to call it: the IRP stays in the list for the cancel routine, which takes the lock
//!   and removes it itself. So every IRP leaves the list exactly once, and is finished by exactly
//!   one party.
//! * The cancel routine gets only the IRP; the queue's address rides in the IRP
//!   (`DriverContext[0]`) together with a reference count on the queue's shared state, so the
//!   state outlives a cancel routine that runs while its owner drops the queue.
//!
//! Nothing is completed with the list's lock held (SDV SpinLockSafe): IRPs are taken out under
//! the lock and finished after it is released.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::spin_lock::SpinLock;
use super::{IrpRef, RawDevice, RawIrp, fallible};

/// What finishes an IRP that was cancelled while queued (the driver's handler, which completes
/// it, normally with `STATUS_CANCELLED`).
pub(crate) type CancelHandler = fn(IrpRef);

/// The state the owner and each queued IRP share.
struct Shared {
    /// One for the owner, one for each IRP in the list or in its cancel routine.
    references: AtomicUsize,
    irps: SpinLock<Vec<IrpRef>>,
    on_cancel: CancelHandler,
}

/// The owner's handle to a cancel-safe queue.
///
/// # Invariants
///
/// `0` points to a `Shared` from `Box::leak`, alive while `references` is non-zero; this handle
/// holds one of those references until it drops. Only shared references to it are made.
pub(crate) struct Csq(NonNull<Shared>);

// SAFETY: the shared state is reached only through `&Shared`, whose list is behind a spin lock
// and whose count is atomic; `IrpRef` is `Send`. The queue is used from any thread, as a device
// extension is.
unsafe impl Send for Csq {}
// SAFETY: as above: every method takes `&self` and synchronizes through the lock.
unsafe impl Sync for Csq {}

/// Why [`Csq::insert`] handed an IRP back instead of queueing it.
pub(crate) enum NotQueued {
    /// It was cancelled before it could be queued; finish it as cancelled.
    Cancelled(IrpRef),
    /// No memory for the list's entry; finish it with `STATUS_INSUFFICIENT_RESOURCES`.
    NoMemory(IrpRef),
}

impl Csq {
    /// An empty queue whose cancelled IRPs go to `on_cancel`; `None` when memory is short.
    pub(crate) fn try_new(on_cancel: CancelHandler) -> Option<Self> {
        let shared = Shared {
            references: AtomicUsize::new(1),
            irps: SpinLock::new(Vec::new()),
            on_cancel,
        };
        let boxed = fallible::try_box(shared).ok()?;
        Some(Self(NonNull::from(Box::leak(boxed))))
    }

    fn shared(&self) -> &Shared {
        // SAFETY: this handle holds a reference, so the state is alive (invariant).
        unsafe { self.0.as_ref() }
    }

    /// Queues `irp`, which the caller marked pending, with a cancel routine.
    pub(crate) fn insert(&self, mut irp: IrpRef) -> Result<(), NotQueued> {
        let shared = self.shared();
        let mut irps = shared.irps.lock();
        if irps.try_reserve(1).is_err() {
            drop(irps);
            return Err(NotQueued::NoMemory(irp));
        }
        // The IRP's reference, taken before the cancel routine (which gives it back) can run.
        shared.references.fetch_add(1, Ordering::Relaxed);
        irp.set_driver_context(self.0.as_ptr().cast::<c_void>());
        irp.set_cancel_routine(Some(cancel_routine));
        if irp.cancel_requested() && irp.set_cancel_routine(None) {
            // Cancelled before it was queued, and the routine is ours again: it will not run.
            irp.set_driver_context(core::ptr::null_mut());
            drop(irps);
            release(self.0);
            return Err(NotQueued::Cancelled(irp));
        }
        // Either not cancelled, or IoCancelIrp took the routine and calls it as soon as the
        // lock is free, and finds the IRP in the list.
        irps.push(irp);
        Ok(())
    }

    /// Takes out the oldest IRP (of `file`'s handle, when given) whose cancel routine this call
    /// clears; IRPs whose cancel routine is about to run are left to it.
    pub(crate) fn remove_next(&self, file: Option<usize>) -> Option<IrpRef> {
        let mut irps = self.shared().irps.lock();
        let mut index = 0;
        while let Some(candidate) = irps.get_mut(index) {
            if file.is_none_or(|file| candidate.file_object() == file)
                && candidate.set_cancel_routine(None)
            {
                let mut irp = irps.remove(index);
                drop(irps);
                irp.set_driver_context(core::ptr::null_mut());
                release(self.0);
                return Some(irp);
            }
            index += 1;
        }
        None
    }

    /// How many IRPs are queued (including any whose cancel routine is about to take them).
    pub(crate) fn len(&self) -> usize {
        self.shared().irps.lock().len()
    }
}

impl Drop for Csq {
    fn drop(&mut self) {
        // The queue's last owner cancels what is left; an IRP whose cancel routine is running
        // keeps the state alive through its own reference until the routine is done.
        let on_cancel = self.shared().on_cancel;
        while let Some(irp) = self.remove_next(None) {
            super::thunk::guarded((), || on_cancel(irp));
        }
        release(self.0);
    }
}

/// Gives back one reference; the last one frees the state.
fn release(shared: NonNull<Shared>) {
    // SAFETY: the caller holds the reference it gives back, so the state is alive here.
    let previous = unsafe { shared.as_ref() }
        .references
        .fetch_sub(1, Ordering::AcqRel);
    if previous == 1 {
        // SAFETY: that was the last reference: no handle, IRP or cancel routine can reach the
        // state any more, and it came from `Box::leak` (invariant of `Csq`).
        drop(unsafe { Box::from_raw(shared.as_ptr()) });
    }
}

/// The cancel routine of every queued IRP: releases the cancel spin lock, takes the IRP out of
/// its queue and hands it to the queue's cancel handler.
///
/// # Safety
///
/// Called only by the I/O manager (`IoCancelIrp`), with the cancel spin lock held, for an IRP
/// that [`Csq::insert`] queued: its `DriverContext[0]` holds the queue's state and one reference
/// to it.
unsafe extern "system" fn cancel_routine(_device: *mut RawDevice, raw: *mut RawIrp) {
    // A handle only to release the cancel spin lock and read the context; no buffer is reached
    // through it, and it is gone before the queue's own handle to the IRP is used.
    let context = {
        // SAFETY: the I/O manager passes the live IRP it is cancelling.
        let Some(borrowed) = (unsafe { IrpRef::from_raw(raw) }) else {
            return;
        };
        borrowed.release_cancel_lock();
        borrowed.driver_context().cast::<Shared>()
    };
    let Some(shared) = NonNull::new(context) else {
        return;
    };
    // SAFETY: `insert` stored the state with a reference that this routine now owns.
    let state = unsafe { shared.as_ref() };
    // Guarded as a whole: on the host a bug check raised in here (or a panic in the handler)
    // must stop at this `extern "system"` frame, not unwind through it.
    super::thunk::guarded((), || {
        let taken = {
            let mut irps = state.irps.lock();
            irps.iter()
                .position(|queued| queued.as_ptr() == raw)
                .map(|index| irps.remove(index))
        };
        if let Some(mut irp) = taken {
            irp.set_driver_context(core::ptr::null_mut());
            (state.on_cancel)(irp);
        }
    });
    release(shared);
}
