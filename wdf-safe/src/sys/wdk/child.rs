//! What timers and work items share: an object parented to one of the driver's devices, whose
//! one callback (`EvtTimerFunc`, `EvtWorkItemFunc`) gets the driver and that device.
//!
//! Its record lives in a slot, like a queue's, until the object is destroyed and no caller is
//! inside it (see [`record`](super::record)): the object's [`LiveCell`], cleared in the
//! object's `EvtCleanupCallback`, the parent device, the driver's callback and the object's
//! typed contexts.

use core::any::Any;
use core::ptr;

use super::contexts::Contexts;
use super::device::DeviceHandle;
use super::driver::driver;
use super::live::{Held, LiveCell};
use super::record::{ContextGuard, Entered, Ticket};
use super::wdk_sys::{self, WDF_OBJECT_ATTRIBUTES, WDFOBJECT};
use super::{RECORD, attributes, guarded, publish_record, record_of};
use crate::sys::{ContextTypeInfo, DeviceCallback, DriverCallbacks};
use wdm_compat::{NtResult, NtStatus};

/// The crate's record of an object of handle type `*mut H` parented to a device.
pub(super) struct ChildRecord<D: DriverCallbacks, H: 'static> {
    /// The object until KMDF disposes it.
    cell: LiveCell<H>,
    this: Ticket<Self>,
    device: DeviceHandle<D>,
    callback: D::DeviceCallback,
    /// Typed contexts (`WdfObjectAllocateContext` on the timer or work item), dropped with the
    /// record; their cleanup callbacks run when KMDF disposes the object.
    contexts: Contexts,
}

/// A timer's or work item's handle: a ticket to its record.
pub(super) struct ChildHandle<D: DriverCallbacks, H: 'static>(Ticket<ChildRecord<D, H>>);

impl<D: DriverCallbacks, H: 'static> Clone for ChildHandle<D, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks, H: 'static> Copy for ChildHandle<D, H> {}

/// What creating a child takes: its record (made before the framework call, so nothing can
/// fail after it; retired when dropped before [`created`](Self::created), as a failed creation
/// does), the attributes to create it with (the [`RECORD`] context, the cleanup and destroy
/// callbacks, the device as the parent), and the parent held by a reference for the call.
pub(super) struct Prepared<D: DriverCallbacks, H: 'static> {
    ticket: Ticket<ChildRecord<D, H>>,
    record: Option<Entered<ChildRecord<D, H>>>,
    pub(super) attributes: WDF_OBJECT_ATTRIBUTES,
    _parent: Held<wdk_sys::WDFDEVICE__>,
}

impl<D: DriverCallbacks, H: 'static> Prepared<D, H> {
    /// The framework created the child: publishes it in the record's cell and the record in
    /// its [`RECORD`] context.
    pub(super) fn created(mut self, object: *mut H) -> ChildHandle<D, H> {
        if let Some(record) = self.record.take() {
            record.cell.set(object);
            publish_record(object.cast(), ptr::from_ref(&*record));
        }
        ChildHandle(self.ticket)
    }
}

impl<D: DriverCallbacks, H: 'static> Drop for Prepared<D, H> {
    fn drop(&mut self) {
        if let Some(record) = self.record.take() {
            // Not created: no destroy callback will retire the record.
            drop(record);
            self.ticket.retire();
        }
    }
}

impl<D: DriverCallbacks, H: 'static> ChildRecord<D, H>
where
    D::DeviceCallback: Send + Sync,
{
    /// Makes the record and the attributes for a child of `device`.
    pub(super) fn prepare(
        device: DeviceHandle<D>,
        callback: D::DeviceCallback,
    ) -> NtResult<Prepared<D, H>> {
        let parent = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let ticket = Ticket::new(|this| Self {
            cell: LiveCell::new(),
            this,
            device,
            callback,
            contexts: Contexts::new(),
        })?;
        let record = ticket.enter();
        let mut attributes = attributes(
            &RECORD,
            Some(evt_child_cleanup::<D, H>),
            Some(evt_child_destroy::<D, H>),
        );
        attributes.ParentObject = parent.raw().cast();
        Ok(Prepared {
            ticket,
            record,
            attributes,
            _parent: parent,
        })
    }
}

impl<D: DriverCallbacks, H: 'static> ChildHandle<D, H> {
    /// The object, held by a reference for the call; `None` once KMDF disposed it.
    pub(super) fn hold(self) -> Option<Held<H>> {
        self.0.enter()?.cell.hold()
    }

    /// Attaches a context of type `T`, initialised in place by `init`.
    pub(super) fn allocate_context<T: Any + Send + Sync>(
        self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        let record = self.0.enter().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let value = record.contexts.allocate(info, init, cleanup)?;
        Ok(ContextGuard::new(record, value))
    }

    /// The context whose type info is `info`.
    pub(super) fn context<T: Any>(self, info: &'static ContextTypeInfo) -> Option<ContextGuard<T>> {
        let record = self.0.enter()?;
        let value = record.contexts.find::<T>(info)?;
        Some(ContextGuard::new(record, value))
    }
}

/// The child's callback (`EvtTimerFunc`, `EvtWorkItemFunc`): the driver's callback, with its
/// driver value and the child's device.
pub(super) unsafe extern "C" fn evt_child<D: DriverCallbacks, H: 'static>(object: *mut H) {
    guarded((), || {
        // Entered for the callback: the driver's code may delete the device, and the object
        // with it.
        // SAFETY: the record lives until the object's destroy callback, after its last
        // callback; every child of handle type `H` in this image has a `ChildRecord<D, H>`
        // with this `D`, the image's only driver type.
        let record = unsafe { record_of::<ChildRecord<D, H>>(object.cast()).as_ref() }
            .and_then(|record| record.this.enter());
        // Nothing once the object is disposed (KMDF stops and waits for its callbacks first).
        if let (Some(record), Some(driver)) = (record, driver::<D>())
            && record.cell.peek().is_some()
        {
            record.callback.call(driver, record.device);
        }
    });
}

/// The child's `EvtCleanupCallback`: KMDF disposed it (its device is going), so the crate's
/// handles find nothing from now on.
unsafe extern "C" fn evt_child_cleanup<D: DriverCallbacks, H: 'static>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until the object's destroy callback; this is its cleanup.
        if let Some(record) = unsafe { record_of::<ChildRecord<D, H>>(object).as_ref() } {
            record.cell.close();
            record.contexts.cleanup();
        }
    });
}

/// The child's `EvtDestroyCallback`: the object no longer points to its record, which is
/// retired (freed now, or by the last caller inside it).
unsafe extern "C" fn evt_child_destroy<D: DriverCallbacks, H: 'static>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until it is retired below; this is the object's last
        // callback.
        let ticket = unsafe { record_of::<ChildRecord<D, H>>(object).as_ref() }.map(|record| {
            record.cell.close();
            record.this
        });
        publish_record::<ChildRecord<D, H>>(object, ptr::null());
        if let Some(ticket) = ticket {
            ticket.retire();
        }
    });
}
