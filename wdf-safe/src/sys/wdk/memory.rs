//! `WDFMEMORY` objects of the driver's own (`WdfMemoryCreate`), owned by Rust values, and the
//! reference-and-delete discipline every crate-owned framework object follows.
//!
//! | DDI | IRQL | used by |
//! |---|---|---|
//! | `WdfMemoryCreate` (non-paged) | ≤ DISPATCH | [`MemoryHandle::create`] |
//! | `WdfObjectReferenceActual`, `WdfObjectDelete`, `WdfObjectDereferenceActual` | ≤ DISPATCH | [`reference`], [`delete_and_release`] |
//!
//! The memory object is parented to the driver (no `ParentObject`), not to a device: the
//! crate's handle deletes it, and a device deleted by another thread cannot free it between
//! its creation and the reference the handle takes. The reference keeps it whatever KMDF
//! deletes (the driver, at unload, reports it as a leak if a handle was forgotten): a deleted
//! object is only disposed and its buffer stays until the reference goes
//! (`FxMemoryBufferFromPool` frees it in its destructor, `FxMemoryBuffer` carries it inline).
//! Pool memory is not zeroed: the seam zeroes it before Rust sees it as bytes.

use core::ptr::{self, NonNull};

use super::device::DeviceHandle;
use super::wdk_sys::{
    self, WDF_OBJECT_ATTRIBUTES, WDFMEMORY, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use crate::sys::DriverCallbacks;
use wdm_compat::{NtResult, NtStatus};

/// Attributes naming `parent` and nothing else.
pub(super) fn parented(parent: WDFOBJECT) -> WDF_OBJECT_ATTRIBUTES {
    WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        ExecutionLevel: wdk_sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ParentObject: parent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    }
}

/// `WdfObjectReferenceActual`.
pub(super) fn reference(object: WDFOBJECT) {
    // SAFETY: a live object the caller just created (or still references).
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfObjectReferenceActual,
            object,
            ptr::null_mut(),
            0,
            ptr::null()
        );
    }
}

/// `WdfObjectDelete`, then `WdfObjectDereferenceActual` of the reference taken at creation.
pub(super) fn delete_and_release(object: WDFOBJECT) {
    // SAFETY: the crate's reference keeps the object (deleted by its parent or not) until the
    // dereference below; deleting a deleted object is ignored by the framework.
    unsafe { call_unsafe_wdf_function_binding!(WdfObjectDelete, object) };
    // SAFETY: releases the reference taken at creation, once (the handle is being dropped).
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfObjectDereferenceActual,
            object,
            ptr::null_mut(),
            0,
            ptr::null()
        );
    }
}

/// A `WDFMEMORY` buffer of non-paged pool, referenced by the crate while the handle lives.
pub(crate) struct MemoryHandle {
    memory: NonNull<wdk_sys::WDFMEMORY__>,
    buffer: NonNull<u8>,
    len: usize,
}

// SAFETY: a framework handle and the buffer it owns; KMDF's memory objects may be used and
// deleted from any thread at ≤ DISPATCH_LEVEL, and the reference is released once, by whoever
// drops the handle. The bytes are reached only through `&self`/`&mut self`.
unsafe impl Send for MemoryHandle {}
// SAFETY: shared access gives `&[u8]` only.
unsafe impl Sync for MemoryHandle {}

impl MemoryHandle {
    /// `WdfMemoryCreate` of `len` zeroed bytes of `NonPagedPoolNx` tagged `tag`, for the
    /// driver of `device` (parented to the driver).
    ///
    /// `STATUS_INVALID_PARAMETER` for zero bytes (KMDF refuses them);
    /// `STATUS_INVALID_DEVICE_STATE` once the device is gone; `STATUS_INSUFFICIENT_RESOURCES`.
    pub(crate) fn create<D: DriverCallbacks>(
        device: DeviceHandle<D>,
        len: usize,
        tag: u32,
    ) -> NtResult<Self> {
        if len == 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        // Made for a device of this driver while it is there (what the caller shows by naming
        // it), though not parented to it.
        let _held = device.held_device().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let mut attributes = parented(ptr::null_mut());
        let mut memory: WDFMEMORY = ptr::null_mut();
        let mut buffer: *mut core::ffi::c_void = ptr::null_mut();
        // SAFETY: the attributes are read during the call (no parent: the driver); both
        // out-pointers are locals.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfMemoryCreate,
                &mut attributes,
                wdk_sys::_POOL_TYPE::NonPagedPoolNx,
                tag,
                len,
                &mut memory,
                &mut buffer
            )
        };
        NtStatus::from_raw(status).ok()?;
        let memory = NonNull::new(memory).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        reference(memory.as_ptr().cast());
        let Some(buffer) = NonNull::new(buffer.cast::<u8>()) else {
            delete_and_release(memory.as_ptr().cast());
            return Err(NtStatus::INSUFFICIENT_RESOURCES);
        };
        // SAFETY: the object's buffer of `len` bytes, which no one else uses yet; zeroing it
        // makes every byte initialised before a slice is made of it.
        unsafe { buffer.as_ptr().write_bytes(0, len) };
        Ok(Self {
            memory,
            buffer,
            len,
        })
    }

    /// The `WDFMEMORY` handle, for a DDI that takes one (the object stays the crate's).
    pub(super) fn raw(&self) -> WDFMEMORY {
        self.memory.as_ptr()
    }

    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` initialised bytes (zeroed at creation), kept by the reference; no one
        // writes them while Rust holds this handle (a request formatted with it holds the
        // handle, and gives it back only after its target completed it).
        unsafe { core::slice::from_raw_parts(self.buffer.as_ptr(), self.len) }
    }

    /// The bytes, to write.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, borrowed uniquely through `&mut self`.
        unsafe { core::slice::from_raw_parts_mut(self.buffer.as_ptr(), self.len) }
    }
}

impl Drop for MemoryHandle {
    fn drop(&mut self) {
        delete_and_release(self.memory.as_ptr().cast());
    }
}
