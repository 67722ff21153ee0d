//! Typed contexts of a device, a queue, a timer or a work item: values attached to the
//! object's record, found by the address of their type info, each with an optional cleanup
//! callback run when the object is disposed. Each context is boxed on its own, so its address
//! stays while the record lives, and is dropped with the record (see [`record`](super::record):
//! once the object is destroyed and no caller is inside the record).
//!
//! Device and queue records start with the object's cell, their ticket and then these
//! contexts (`repr(C)`), so code that does not know the driver type (a request's device or
//! queue, found from the request) reaches the contexts through [`ObjectHead`].

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::ptr::{self, NonNull};
use core::sync::atomic::AtomicBool;

use super::live::LiveCell;
use super::record::Ticket;
use super::try_box;
use crate::sys::ContextTypeInfo;
use wdm_compat::memory::try_push;
use wdm_compat::{NtResult, NtStatus, SpinLock};

/// A typed context attached to an object, with its cleanup callback.
trait AttachedContext: Send + Sync {
    fn info(&self) -> &'static ContextTypeInfo;
    fn value(&self) -> &(dyn Any + Send + Sync);
    fn cleanup(&self);
}

struct Attached<T> {
    info: &'static ContextTypeInfo,
    value: T,
    cleanup: Option<fn(&T)>,
}

impl<T: Any + Send + Sync> AttachedContext for Attached<T> {
    fn info(&self) -> &'static ContextTypeInfo {
        self.info
    }

    fn value(&self) -> &(dyn Any + Send + Sync) {
        &self.value
    }

    fn cleanup(&self) {
        if let Some(cleanup) = self.cleanup {
            cleanup(&self.value);
        }
    }
}

/// An attached context, owned like a `Box` but held as a raw pointer: guards point into it
/// while the list owns it (a `Box` would assert it is the only way to the value).
struct OwnedContext(NonNull<dyn AttachedContext>);

// SAFETY: it owns a `dyn AttachedContext`, which is `Send + Sync`, and hands out only shared
// references.
unsafe impl Send for OwnedContext {}
// SAFETY: as above.
unsafe impl Sync for OwnedContext {}

impl OwnedContext {
    fn get(&self) -> &dyn AttachedContext {
        // SAFETY: owned by this value until its drop.
        unsafe { self.0.as_ref() }
    }
}

impl Drop for OwnedContext {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `Contexts::allocate` and is freed only
        // here, with the record that owns the list (no guard into the record is left then).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// The contexts of one object, dropped with its record.
pub(super) struct Contexts(SpinLock<Vec<OwnedContext>>);

impl Contexts {
    pub(super) const fn new() -> Self {
        Self(SpinLock::new(Vec::new()))
    }

    /// Attaches a context of type `T`, initialised in place; `STATUS_OBJECT_NAME_EXISTS` when
    /// the object has one of that type already (`init` is not called then). The context's
    /// address stays while the record does.
    pub(super) fn allocate<T: Any + Send + Sync>(
        &self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<NonNull<T>> {
        if self.find::<T>(info).is_some() {
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        // Initialised outside the lock: the initialiser is driver code and may look contexts up.
        let attached = try_box(Attached {
            info,
            value: init(),
            cleanup,
        })
        .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
        let attached: NonNull<Attached<T>> = NonNull::from(Box::leak(attached));
        let value = NonNull::from(
            // SAFETY: just leaked, so valid; only a shared reference is made.
            &unsafe { attached.as_ref() }.value,
        );
        let owned = OwnedContext(attached);
        let mut contexts = self.0.lock();
        // Another caller may have attached one meanwhile (the initialiser ran unlocked).
        if contexts.iter().any(|c| ptr::eq(c.get().info(), info)) {
            drop(contexts);
            drop(owned);
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        // Dropping the refused context (outside the lock) frees it again: nobody saw it.
        if let Err(refused) = try_push(&mut contexts, owned) {
            drop(contexts);
            drop(refused);
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        }
        Ok(value)
    }

    /// The context whose type info is `info`, found by the info's address; its address stays
    /// while the record does.
    pub(super) fn find<T: Any>(&self, info: &'static ContextTypeInfo) -> Option<NonNull<T>> {
        let contexts = self.0.lock();
        let attached = contexts.iter().find(|c| ptr::eq(c.get().info(), info))?;
        attached
            .get()
            .value()
            .downcast_ref::<T>()
            .map(NonNull::from)
    }

    /// Runs each context's cleanup callback (outside the lock: they may look contexts up or
    /// attach new ones). The caller is the object's cleanup, inside its record.
    pub(super) fn cleanup(&self) {
        let mut index = 0;
        loop {
            let Some(context) = self.0.lock().get(index).map(|c| c.0) else {
                return;
            };
            // SAFETY: listed contexts are freed only with the record, which the caller is in;
            // the pointer was copied out so the callback runs without the lock.
            unsafe { context.as_ref() }.cleanup();
            index += 1;
        }
    }
}

/// The start every device and queue record shares: the object's cell, the record's own
/// ticket, then its contexts, then (queues only) whether a synchronous stop or purge is under
/// way.
#[repr(C)]
pub(super) struct ObjectHead<T> {
    pub(super) cell: LiveCell<T>,
    /// The record's ticket (erased: code reading the head does not know the record's type).
    pub(super) ticket: Ticket<()>,
    pub(super) contexts: Contexts,
    /// A `WdfIoQueueStopSynchronously` or `WdfIoQueuePurgeSynchronously` of this queue is under
    /// way: KMDF turns a second idle request into bug check WDF_QUEUE_FATAL_ERROR
    /// (`QueueIdle` refuses a second idle callback), so the seam refuses it first.
    pub(super) transition: AtomicBool,
}

impl<T> ObjectHead<T> {
    pub(super) const fn new(ticket: Ticket<()>) -> Self {
        Self {
            cell: LiveCell::new(),
            ticket,
            contexts: Contexts::new(),
            transition: AtomicBool::new(false),
        }
    }
}
