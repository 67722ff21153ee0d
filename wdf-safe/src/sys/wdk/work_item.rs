//! `WDFWORKITEM`: a work item parented to a device, its `EvtWorkItemFunc` trampoline, and its
//! cleanup.

use core::ptr;

use super::device::DeviceHandle;
use super::driver::driver;
use super::live::LiveCell;
use super::wdk_sys::{
    self, WDF_WORKITEM_CONFIG, WDFOBJECT, WDFWORKITEM, call_unsafe_wdf_function_binding,
};
use super::{RECORD, attributes, guarded, keep, publish_record, record_of};
use crate::sys::{DeviceCallback, DriverCallbacks};
use wdm_compat::{NtResult, NtStatus};

/// The crate's record of a work item (kept until the driver unloads, like a timer's): the item
/// until KMDF disposes it, and the driver's callback.
struct WorkItemRecord<D: DriverCallbacks> {
    item: LiveCell<wdk_sys::WDFWORKITEM__>,
    device: DeviceHandle<D>,
    callback: D::DeviceCallback,
}

/// `WDFWORKITEM`: the cell of its record, cleared when KMDF disposes the item.
pub(crate) struct WorkItemHandle<D: DriverCallbacks>(&'static WorkItemRecord<D>);

impl<D: DriverCallbacks> Clone for WorkItemHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks> Copy for WorkItemHandle<D> {}

impl<D: DriverCallbacks> WorkItemHandle<D> {
    /// `WdfWorkItemCreate` with `device` as the parent.
    pub(crate) fn create(device: DeviceHandle<D>, callback: D::DeviceCallback) -> NtResult<Self> {
        let parent = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // Kept before the framework call, so nothing can fail after it (inert if it fails).
        let record = keep(WorkItemRecord {
            item: LiveCell::new(),
            device,
            callback,
        })?;
        let mut config = WDF_WORKITEM_CONFIG {
            Size: size_of::<WDF_WORKITEM_CONFIG>() as u32,
            EvtWorkItemFunc: Some(evt_work_item::<D>),
            ..WDF_WORKITEM_CONFIG::default()
        };
        let mut attributes = attributes(&RECORD, Some(evt_work_item_cleanup::<D>), None);
        attributes.ParentObject = parent.raw().cast();
        let mut item: WDFWORKITEM = ptr::null_mut();
        // SAFETY: the configuration and attributes are read during the call; the parent is a
        // device held by a reference for it; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfWorkItemCreate,
                &mut config,
                &mut attributes,
                &mut item
            )
        };
        NtStatus::from_raw(status).ok()?;
        record.item.set(item);
        publish_record(item.cast(), ptr::from_ref(record));
        Ok(Self(record))
    }

    /// `WdfWorkItemEnqueue`; nothing once the item is gone.
    pub(crate) fn enqueue(self) {
        if let Some(item) = self.0.item.hold() {
            // SAFETY: a work item the crate created, held.
            unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemEnqueue, item.raw()) };
        }
    }

    /// `WdfWorkItemFlush`, which waits, so PASSIVE_LEVEL only: above it the call is refused
    /// (KMDF's verifier would break).
    pub(crate) fn flush(self) -> NtResult {
        if crate::sys::current_irql() > 0 {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        if let Some(item) = self.0.item.hold() {
            // SAFETY: a work item the crate created, held.
            unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemFlush, item.raw()) };
        }
        Ok(())
    }
}

/// `EvtWorkItemFunc`: the driver's callback, with its driver value and the item's device.
unsafe extern "C" fn evt_work_item<D: DriverCallbacks>(item: WDFWORKITEM) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads; every work item of this image has
        // a `WorkItemRecord<D>` with this `D`, the image's only driver type.
        let record = unsafe { record_of::<WorkItemRecord<D>>(item.cast()).as_ref() };
        if let (Some(record), Some(driver)) = (record, driver::<D>()) {
            record.callback.call(driver, record.device);
        }
    });
}

/// The work item's `EvtCleanupCallback`: KMDF disposed it (its device is going).
unsafe extern "C" fn evt_work_item_cleanup<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: records are kept until the driver unloads.
        if let Some(record) = unsafe { record_of::<WorkItemRecord<D>>(object).as_ref() } {
            record.item.close();
        }
        publish_record::<WorkItemRecord<D>>(object, ptr::null());
    });
}
