//! What timers and work items share: an object parented to one of the driver's devices, whose
//! one callback (`EvtTimerFunc`, `EvtWorkItemFunc`) gets the driver and that device.
//!
//! Its record is kept until the driver unloads, like a queue's: the object's [`LiveCell`],
//! cleared in the object's `EvtCleanupCallback`, the parent device, and the driver's callback.

use core::any::Any;
use core::ptr;

use super::contexts::Contexts;
use super::device::DeviceHandle;
use super::driver::driver;
use super::live::{Held, LiveCell};
use super::wdk_sys::{self, WDF_OBJECT_ATTRIBUTES, WDFOBJECT};
use super::{RECORD, attributes, guarded, keep, publish_record, record_of};
use crate::sys::{ContextTypeInfo, DeviceCallback, DriverCallbacks};
use wdm_compat::{NtResult, NtStatus};

/// The crate's record of an object of handle type `*mut H` parented to a device.
pub(super) struct ChildRecord<D: DriverCallbacks, H: 'static> {
    /// The object until KMDF disposes it.
    pub(super) cell: LiveCell<H>,
    device: DeviceHandle<D>,
    callback: D::DeviceCallback,
    /// Typed contexts (`WdfObjectAllocateContext` on the timer or work item), kept until the
    /// driver unloads; their cleanup callbacks run when KMDF disposes the object.
    contexts: Contexts,
}

/// What creating a child takes: its record (kept before the framework call, so nothing can fail
/// after it; inert if the creation fails), the attributes to create it with (the [`RECORD`]
/// context, [`evt_child_cleanup`], the device as the parent), and the parent held by a
/// reference for the call.
pub(super) struct Prepared<D: DriverCallbacks, H: 'static> {
    pub(super) record: &'static ChildRecord<D, H>,
    pub(super) attributes: WDF_OBJECT_ATTRIBUTES,
    _parent: Held<wdk_sys::WDFDEVICE__>,
}

impl<D: DriverCallbacks, H: 'static> ChildRecord<D, H> {
    /// Keeps the record and makes the attributes for a child of `device`.
    pub(super) fn prepare(
        device: DeviceHandle<D>,
        callback: D::DeviceCallback,
    ) -> NtResult<Prepared<D, H>> {
        let parent = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let record = keep(Self {
            cell: LiveCell::new(),
            device,
            callback,
            contexts: Contexts::new(),
        })?;
        let mut attributes = attributes(&RECORD, Some(evt_child_cleanup::<D, H>), None);
        attributes.ParentObject = parent.raw().cast();
        Ok(Prepared {
            record,
            attributes,
            _parent: parent,
        })
    }

    /// The framework created the child: publishes it in the record's cell and the record in
    /// its [`RECORD`] context.
    pub(super) fn created(&'static self, object: *mut H) {
        self.cell.set(object);
        publish_record(object.cast(), ptr::from_ref(self));
    }

    /// Attaches a context of type `T`, initialised in place by `init`.
    pub(super) fn allocate_context<T: Any + Send + Sync>(
        &self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<&'static T> {
        self.contexts.allocate(info, init, cleanup)
    }

    /// The context whose type info is `info`.
    pub(super) fn context<T: Any>(&self, info: &'static ContextTypeInfo) -> Option<&'static T> {
        self.contexts.find::<T>(info)
    }
}

/// The child's callback (`EvtTimerFunc`, `EvtWorkItemFunc`): the driver's callback, with its
/// driver value and the child's device.
pub(super) unsafe extern "C" fn evt_child<D: DriverCallbacks, H: 'static>(object: *mut H) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads; every child of handle type `H` in
        // this image has a `ChildRecord<D, H>` with this `D`, the image's only driver type.
        let record = unsafe { record_of::<ChildRecord<D, H>>(object.cast()).as_ref() };
        if let (Some(record), Some(driver)) = (record, driver::<D>()) {
            record.callback.call(driver, record.device);
        }
    });
}

/// The child's `EvtCleanupCallback`: KMDF disposed it (its device is going), so the crate's
/// handles find nothing from now on.
unsafe extern "C" fn evt_child_cleanup<D: DriverCallbacks, H: 'static>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads.
        if let Some(record) = unsafe { record_of::<ChildRecord<D, H>>(object).as_ref() } {
            record.cell.close();
            record.contexts.cleanup();
        }
        publish_record::<ChildRecord<D, H>>(object, ptr::null());
    });
}
