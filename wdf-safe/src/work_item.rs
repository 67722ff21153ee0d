//! Work items (`WDFWORKITEM`): work a driver queues from any IRQL (a timer's callback, an I/O
//! callback at DISPATCH_LEVEL) to run at PASSIVE_LEVEL on a system worker thread, where it may
//! wait, take a wait lock or touch paged memory.
//!
//! A work item is created with a device as its parent and goes with it; one still queued then
//! runs first (KMDF flushes it). In the host simulation the worker is the test:
//! `wdf_safe::run_work_items` (feature `host`) runs what is queued.

use core::marker::PhantomData;

use crate::KmdfDriver;
use crate::context::{ContextRef, ContextType};
use crate::device::{Device, ParentCallback};
use crate::kind::state::Ready;
use crate::sys::WorkItemHandle;
use wdm_compat::NtResult;

/// A `WDFWORKITEM` whose parent is one of the driver's devices. A shared handle: the driver
/// keeps it in its state and queues it from any callback.
pub struct WorkItem<D: KmdfDriver> {
    raw: WorkItemHandle<D>,
    _driver: PhantomData<fn(&D)>,
}

impl<D: KmdfDriver> Clone for WorkItem<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for WorkItem<D> {}

impl<D: KmdfDriver> WorkItem<D> {
    /// `WdfObjectAllocateContext` on the work item: attaches a context of type `T`, initialised
    /// in place by `init`, with an optional cleanup callback that runs when the work item is
    /// deleted (with its device). Its callback reaches it through the handle the driver keeps
    /// (`driver.work_item.context::<T>()`), as a C driver's through `WorkItemGetContext`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_EXISTS` (an NT *success* code, as in KMDF) when the work item has a
    /// context of type `T` already; `init` is not called then.
    pub fn allocate_context<T: ContextType>(
        &self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextRef<T>> {
        self.raw
            .allocate_context(T::type_info(), init, cleanup)
            .map(ContextRef::new)
    }

    /// `WdfObjectGetTypedContext` on the work item.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL + 1.
    #[must_use]
    pub fn context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw.context::<T>(T::type_info()).map(ContextRef::new)
    }

    /// `WdfWorkItemEnqueue`: the callback runs once on a worker thread, however often this is
    /// called before it starts (it may queue itself again from its callback). Nothing happens
    /// once the item is gone with its device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn enqueue(&self) {
        self.raw.enqueue();
    }

    /// `WdfWorkItemFlush`: waits until a queued or running callback has returned.
    ///
    /// IRQL: PASSIVE_LEVEL, and not from the work item's own callback (it would wait for
    /// itself; the simulated verifier reports it).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL.
    pub fn flush(&self) -> NtResult {
        self.raw.flush()
    }
}

impl<D: KmdfDriver, S> Device<D, S> {
    /// `WdfWorkItemCreate` with this device as the parent: the work item goes with the device.
    /// `callback` runs at PASSIVE_LEVEL with the driver's value and this device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_INSUFFICIENT_RESOURCES`, `STATUS_INVALID_DEVICE_STATE` once the device is gone,
    /// or what `WdfWorkItemCreate` returned.
    pub fn create_work_item(&self, callback: fn(&D, Device<D, Ready>)) -> NtResult<WorkItem<D>> {
        WorkItemHandle::create(self.raw(), ParentCallback(callback)).map(|raw| WorkItem {
            raw,
            _driver: PhantomData,
        })
    }
}
