//! `WDFWORKITEM`: a work item parented to a device (see [`child`](super::child)).

use core::ptr;

use super::child::{ChildHandle, ChildRecord, evt_child};
use super::device::DeviceHandle;
use super::wdk_sys::{self, WDF_WORKITEM_CONFIG, WDFWORKITEM, call_unsafe_wdf_function_binding};
use crate::sys::DriverCallbacks;
use wdm_compat::{NtResult, NtStatus};

/// `WDFWORKITEM`: a ticket to its record, whose cell is cleared when KMDF disposes the item.
pub(crate) struct WorkItemHandle<D: DriverCallbacks>(ChildHandle<D, wdk_sys::WDFWORKITEM__>);

impl<D: DriverCallbacks> Clone for WorkItemHandle<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: DriverCallbacks> Copy for WorkItemHandle<D> {}

impl<D: DriverCallbacks> WorkItemHandle<D> {
    /// `WdfObjectAllocateContext` on the object.
    pub(crate) fn allocate_context<T: core::any::Any + Send + Sync>(
        self,
        info: &'static crate::sys::ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<crate::sys::ContextGuard<T>> {
        self.0.allocate_context(info, init, cleanup)
    }

    /// The object's context whose type info is `info`.
    pub(crate) fn context<T: core::any::Any>(
        self,
        info: &'static crate::sys::ContextTypeInfo,
    ) -> Option<crate::sys::ContextGuard<T>> {
        self.0.context::<T>(info)
    }

    /// `WdfWorkItemCreate` with `device` as the parent.
    pub(crate) fn create(device: DeviceHandle<D>, callback: D::DeviceCallback) -> NtResult<Self> {
        let mut prepared = ChildRecord::prepare(device, callback)?;
        let mut config = WDF_WORKITEM_CONFIG {
            Size: size_of::<WDF_WORKITEM_CONFIG>() as u32,
            EvtWorkItemFunc: Some(evt_child::<D, wdk_sys::WDFWORKITEM__>),
            ..WDF_WORKITEM_CONFIG::default()
        };
        let mut item: WDFWORKITEM = ptr::null_mut();
        // SAFETY: the configuration and attributes are read during the call; the parent is a
        // device held by a reference for it; the out-pointer is a local.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfWorkItemCreate,
                &mut config,
                &mut prepared.attributes,
                &mut item
            )
        };
        NtStatus::from_raw(status).ok()?;
        Ok(Self(prepared.created(item)))
    }

    /// `WdfWorkItemEnqueue`; nothing once the item is gone.
    pub(crate) fn enqueue(self) {
        if let Some(item) = self.0.hold() {
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
        if let Some(item) = self.0.hold() {
            // SAFETY: a work item the crate created, held.
            unsafe { call_unsafe_wdf_function_binding!(WdfWorkItemFlush, item.raw()) };
        }
        Ok(())
    }
}
