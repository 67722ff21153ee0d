//! Typed contexts of a device or a queue: values attached to the object's record, found by the
//! address of their type info, each with an optional cleanup callback run when the object is
//! disposed. The record is kept until the driver unloads, and so is each context (a
//! `&'static` to one never dangles while driver code runs).
//!
//! Both records start with the object's cell and then these contexts (`repr(C)`), so code that
//! does not know the driver type (a request's device or queue, found from the request) reaches
//! the contexts through [`ObjectHead`].

use alloc::vec::Vec;
use core::any::Any;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use super::keep;
use super::live::LiveCell;
use crate::sys::ContextTypeInfo;
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

/// The contexts of one object.
pub(super) struct Contexts(SpinLock<Vec<&'static dyn AttachedContext>>);

impl Contexts {
    pub(super) const fn new() -> Self {
        Self(SpinLock::new(Vec::new()))
    }

    /// Attaches a context of type `T`, initialised in place; `STATUS_OBJECT_NAME_EXISTS` when
    /// the object has one of that type already (`init` is not called then).
    pub(super) fn allocate<T: Any + Send + Sync>(
        &self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<&'static T> {
        if self.find::<T>(info).is_some() {
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        // Initialised outside the lock: the initialiser is driver code and may look contexts up.
        let value = init();
        let mut contexts = self.0.lock();
        // Another caller may have attached one meanwhile (the initialiser ran unlocked).
        if contexts.iter().any(|c| ptr::eq(c.info(), info)) {
            return Err(NtStatus::OBJECT_NAME_EXISTS);
        }
        // Room first, so the context is listed (and its cleanup runs) once it is kept.
        contexts
            .try_reserve(1)
            .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
        let attached = keep(Attached {
            info,
            value,
            cleanup,
        })?;
        contexts.push(attached);
        Ok(&attached.value)
    }

    /// The context whose type info is `info`, found by the info's address.
    pub(super) fn find<T: Any>(&self, info: &'static ContextTypeInfo) -> Option<&'static T> {
        let attached: &'static dyn AttachedContext = self
            .0
            .lock()
            .iter()
            .copied()
            .find(|c| ptr::eq(c.info(), info))?;
        attached.value().downcast_ref::<T>()
    }

    /// Runs each context's cleanup callback (outside the lock: they may look contexts up).
    pub(super) fn cleanup(&self) {
        let contexts: Vec<&'static dyn AttachedContext> = self.0.lock().clone();
        for context in contexts {
            context.cleanup();
        }
    }
}

/// The start every device and queue record shares: the object's cell, then its contexts, then
/// (queues only) whether a synchronous stop or purge is under way.
#[repr(C)]
pub(super) struct ObjectHead<T> {
    pub(super) cell: LiveCell<T>,
    pub(super) contexts: Contexts,
    /// A `WdfIoQueueStopSynchronously` or `WdfIoQueuePurgeSynchronously` of this queue is under
    /// way: KMDF turns a second idle request into bug check WDF_QUEUE_FATAL_ERROR
    /// (`QueueIdle` refuses a second idle callback), so the seam refuses it first.
    pub(super) transition: AtomicBool,
}

impl<T> ObjectHead<T> {
    pub(super) const fn new() -> Self {
        Self {
            cell: LiveCell::new(),
            contexts: Contexts::new(),
            transition: AtomicBool::new(false),
        }
    }

    /// Claims the object for a synchronous queue transition; `None` while another runs. The
    /// claim ends when the guard is dropped.
    pub(super) fn begin_transition(&self) -> Option<Transition<'_>> {
        self.transition
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| Transition(&self.transition))
    }
}

/// A claimed queue transition (see [`ObjectHead::begin_transition`]).
pub(super) struct Transition<'a>(&'a AtomicBool);

impl Drop for Transition<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
