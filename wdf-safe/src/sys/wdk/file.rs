//! `WDFFILEOBJECT`: the file-object callbacks of a device (`EvtDeviceFileCreate`,
//! `EvtFileCleanup`, `EvtFileClose`) and each open's context.
//!
//! A device whose driver set file callbacks gets a file object per open, whose [`RECORD`]
//! context points to a [`FileRecord`]: the open's context value, boxed (fallibly) by the create
//! trampoline before the driver's create callback runs, and freed in the file object's
//! `EvtDestroyCallback`, after close. A failed allocation fails the create with
//! `STATUS_INSUFFICIENT_RESOURCES`.

use alloc::boxed::Box;
use core::any::Any;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::device::{DeviceHandle, DeviceRecord};
use super::driver::driver;
use super::live::Held;
use super::record::Entered;
use super::request::{RequestHandle, refuse};
use super::wdk_sys::{self, WDFDEVICE, WDFFILEOBJECT, WDFOBJECT, WDFREQUEST};
use super::{RECORD, attributes, guarded, publish_record, record_of};
use crate::sys::{DriverCallbacks, FileEvents, RequestType};
use wdm_compat::memory::try_box;
use wdm_compat::{NtResult, NtStatus};

/// An open's context value, boxed; made by [`FileEvents::new_context`].
pub(crate) struct FileContext(Box<dyn Any + Send + Sync>);

impl FileContext {
    /// Boxes `value`; `STATUS_INSUFFICIENT_RESOURCES` when the pool is short.
    pub(crate) fn new<C: Any + Send + Sync>(value: C) -> NtResult<Self> {
        let boxed: Box<dyn Any + Send + Sync> =
            try_box(value).map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
        Ok(Self(boxed))
    }
}

/// What a file object's [`RECORD`] context points to.
struct FileRecord {
    context: FileContext,
}

/// A device's file callbacks, boxed for its record, which takes them over (boxed twice, so
/// the record's cell holds a thin pointer and taking them over allocates nothing).
pub(crate) struct FileEventsBox<D: DriverCallbacks>(Box<Box<dyn FileEvents<D>>>);

impl<D: DriverCallbacks> FileEventsBox<D> {
    /// The callbacks, for the init's settings.
    pub(super) fn get(&self) -> &dyn FileEvents<D> {
        &**self.0
    }
}

/// Boxes a device's file callbacks (`STATUS_INSUFFICIENT_RESOURCES` when the pool is short).
pub(crate) fn keep_file_events<D: DriverCallbacks, E: FileEvents<D>>(
    events: E,
) -> NtResult<FileEventsBox<D>> {
    let inner: Box<dyn FileEvents<D>> =
        try_box(events).map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    let outer = try_box(inner).map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
    Ok(FileEventsBox(outer))
}

/// Where a device record keeps its file callbacks: set before any file callback of the device
/// can run (before `WdfDeviceCreate` for an FDO; before a control device is finished
/// initializing, when nothing can open it), read by the file callbacks while the record
/// lives, freed with the record.
pub(super) struct FileEventsCell<D: DriverCallbacks>(AtomicPtr<Box<dyn FileEvents<D>>>);

impl<D: DriverCallbacks> FileEventsCell<D> {
    pub(super) const fn empty() -> Self {
        Self(AtomicPtr::new(ptr::null_mut()))
    }

    /// Puts `events` in the cell, dropping any set before. The caller makes sure no file
    /// callback of the device can run yet, so none holds the old ones.
    pub(super) fn set_before_opens(&self, events: FileEventsBox<D>) {
        let old = self.0.swap(Box::into_raw(events.0), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: from `Box::into_raw` just like the new one; no file callback can be
            // reading it (above).
            drop(unsafe { Box::from_raw(old) });
        }
    }

    /// The callbacks, while the record (and so the cell) lives.
    pub(super) fn get(&self) -> Option<&dyn FileEvents<D>> {
        // SAFETY: null or a box this cell owns until its drop (replaced only while no file
        // callback runs); the reference borrows the cell.
        let events = unsafe { self.0.load(Ordering::Acquire).as_ref() }?;
        Some(&**events)
    }
}

impl<D: DriverCallbacks> Drop for FileEventsCell<D> {
    fn drop(&mut self) {
        let events = *self.0.get_mut();
        if !events.is_null() {
            // SAFETY: from `Box::into_raw` in `set_before_opens`, freed once, here.
            drop(unsafe { Box::from_raw(events) });
        }
    }
}

/// A `WDFFILEOBJECT` lent to a callback (or found from a request the driver owns): not an
/// owner; the typed layer bounds what it hands out by the callback or the request.
#[derive(Clone, Copy)]
pub(crate) struct FileRef(NonNull<wdk_sys::WDFFILEOBJECT__>);

impl FileRef {
    pub(super) fn lent(file: WDFFILEOBJECT) -> Option<Self> {
        NonNull::new(file).map(Self)
    }

    /// The handle, for a DDI that names the open (`WdfIoQueueRetrieveRequestByFileObject`).
    pub(super) const fn raw(self) -> WDFFILEOBJECT {
        self.0.as_ptr()
    }

    /// The open's context, if it is a `C`. The reference is valid while the file object lives:
    /// the caller bounds `'a` by the callback that lent the object or the request that named
    /// it (a request keeps its open, and so its file object, alive).
    pub(crate) fn context<'a, C: Any>(self) -> Option<&'a C> {
        let record = record_of::<FileRecord>(self.0.as_ptr().cast());
        // SAFETY: a file object of this image's devices points to its `FileRecord` from the
        // create trampoline until its destroy callback, which runs after close, when no
        // callback or request of the open remains; the caller's `'a` ends before that.
        let record = unsafe { record.as_ref() }?;
        record.context.0.downcast_ref::<C>()
    }
}

/// The `WDF_FILEOBJECT_CONFIG` and file-object attributes for `events` (`None`: only
/// `EvtFileClose`, for [`DriverCallbacks::file_close`]).
pub(super) fn file_config<D: DriverCallbacks>(
    events: Option<&dyn FileEvents<D>>,
) -> (
    wdk_sys::WDF_FILEOBJECT_CONFIG,
    Option<wdk_sys::WDF_OBJECT_ATTRIBUTES>,
) {
    let config = wdk_sys::WDF_FILEOBJECT_CONFIG {
        Size: size_of::<wdk_sys::WDF_FILEOBJECT_CONFIG>() as u32,
        EvtDeviceFileCreate: events.map(|_| evt_device_file_create::<D> as _),
        EvtFileClose: Some(evt_file_close::<D>),
        EvtFileCleanup: events
            .is_some_and(|e| e.handles_cleanup())
            .then_some(evt_file_cleanup::<D> as _),
        AutoForwardCleanupClose: wdk_sys::_WDF_TRI_STATE::WdfUseDefault,
        FileObjectClass: wdk_sys::_WDF_FILEOBJECT_CLASS::WdfFileObjectWdfCannotUseFsContexts,
    };
    // `WdfSynchronizationScopeNone`: file callbacks are not serialized. Inheriting would
    // give them the device's scope when the device asked for `WdfSynchronizationScopeDevice`,
    // which KMDF allows only at passive execution level (`FxPkgGeneral::ConfigureConstraints`
    // fails `WdfDeviceCreate` otherwise), and the crate's devices run at dispatch level.
    let attributes = events.map(|_| {
        let mut attributes = attributes(&RECORD, None, Some(evt_file_destroy));
        attributes.SynchronizationScope =
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeNone;
        attributes
    });
    (config, attributes)
}

/// The device's record, entered for the callback (the driver's code in it may delete the
/// device), and the driver, for a callback of a file object of `device`.
fn record_and_driver<D: DriverCallbacks>(
    device: WDFDEVICE,
) -> Option<(Entered<DeviceRecord<D>>, &'static D)> {
    // A device record lives until the device's destroy callback, which comes after its file
    // objects' callbacks have begun (they are its children). The reference only enters it.
    // SAFETY: as above; every device of the image has a `DeviceRecord<D>` with the image's
    // one driver type.
    let record = unsafe { record_of::<DeviceRecord<D>>(device.cast()).as_ref() }?;
    Some((record.enter()?, driver::<D>()?))
}

/// `WdfFileObjectGetDevice`.
fn device_of(file: WDFFILEOBJECT) -> WDFDEVICE {
    // SAFETY: a live file object the framework passed to the calling callback.
    unsafe { wdk_sys::call_unsafe_wdf_function_binding!(WdfFileObjectGetDevice, file) }
}

/// `EvtDeviceFileCreate`: boxes the open's context, then the driver's create callback, which
/// completes the request.
unsafe extern "C" fn evt_device_file_create<D: DriverCallbacks>(
    device: WDFDEVICE,
    request: WDFREQUEST,
    file: WDFFILEOBJECT,
) {
    guarded((), || {
        let Some((record, driver)) = record_and_driver::<D>(device) else {
            return refuse(request, NtStatus::DEVICE_NOT_READY);
        };
        let Some(events) = record.file_events() else {
            return refuse(request, NtStatus::SUCCESS);
        };
        let context = match events.new_context() {
            Ok(context) => context,
            Err(status) => return refuse(request, status),
        };
        let Ok(kept) = try_box(FileRecord { context }) else {
            return refuse(request, NtStatus::INSUFFICIENT_RESOURCES);
        };
        publish_record(file.cast(), Box::into_raw(kept).cast_const());
        super::request_context::init_request_context(request, record.request_context());
        let (Some(file), Some(request)) = (
            FileRef::lent(file),
            RequestHandle::presented(request, RequestType::Create),
        ) else {
            return;
        };
        // The driver's callback may complete the create before it returns (a failed create
        // deletes the file object then, `CreateCompleted`), or forward it to be completed
        // elsewhere: a reference keeps the object, and its context, until the callback is done.
        let _held = Held::lent(file.0);
        events.create(driver, DeviceHandle::of(&record), file, request);
    });
}

/// `EvtFileCleanup`: the open's last handle was closed.
unsafe extern "C" fn evt_file_cleanup<D: DriverCallbacks>(file: WDFFILEOBJECT) {
    guarded((), || {
        // KMDF passes NULL when the open has no file object.
        let Some(lent) = FileRef::lent(file) else {
            return;
        };
        if let Some((record, driver)) = record_and_driver::<D>(device_of(file))
            && let Some(events) = record.file_events()
        {
            events.cleanup(driver, DeviceHandle::of(&record), lent);
        }
    });
}

/// `EvtFileClose`: the open is gone; the driver's [`DriverCallbacks::file_close`], then the
/// device's close callback.
pub(super) unsafe extern "C" fn evt_file_close<D: DriverCallbacks>(file: WDFFILEOBJECT) {
    guarded((), || {
        let Some(driver) = driver::<D>() else {
            return;
        };
        driver.file_close();
        // KMDF passes NULL when the open has no file object.
        let Some(lent) = FileRef::lent(file) else {
            return;
        };
        if let Some((record, _)) = record_and_driver::<D>(device_of(file))
            && let Some(events) = record.file_events()
        {
            events.close(driver, DeviceHandle::of(&record), lent);
        }
    });
}

/// The file object's `EvtDestroyCallback`: frees the open's context.
unsafe extern "C" fn evt_file_destroy(object: WDFOBJECT) {
    guarded((), || {
        let record = record_of::<FileRecord>(object).cast_mut();
        publish_record::<FileRecord>(object, ptr::null());
        if !record.is_null() {
            // SAFETY: the pointer came from `Box::into_raw` in the create trampoline and is
            // taken back once, here, after close: no callback or request of the open remains.
            drop(unsafe { Box::from_raw(record) });
        }
    });
}
