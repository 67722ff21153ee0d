//! Calls into driver code: the callbacks a driver registered with the framework, called the way
//! KMDF calls them. The framework's lock is never held here; the caller has entered the image
//! whose callback runs (its frame supplies `WdfDriverGlobals` to the calls the callback makes).

use core::ffi::c_void;

use super::bindings::{
    _IO_STATUS_BLOCK, _IO_STATUS_BLOCK__bindgen_ty_1, _WDF_REQUEST_COMPLETION_PARAMS,
    _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1,
    _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_1,
    _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_3, _WDF_REQUEST_TYPE as RequestType,
    NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, PFN_WDF_DRIVER_DEVICE_ADD, PFN_WDF_DRIVER_UNLOAD,
    PFN_WDF_FILE_CLOSE, PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE, PFN_WDF_IO_QUEUE_IO_DEFAULT,
    PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL, PFN_WDF_IO_QUEUE_IO_READ, PFN_WDF_REQUEST_CANCEL,
    PFN_WDF_REQUEST_COMPLETION_ROUTINE, UNICODE_STRING, WDF_REQUEST_COMPLETION_PARAMS,
    WDF_REQUEST_TYPE, WDFMEMORY,
};
use crate::framework::ImageEntry;
use crate::framework::objects::Handle;
use crate::framework::request::Parameters;

/// A handle as the driver sees it.
fn raw<T>(handle: Handle) -> *mut T {
    core::ptr::without_provenance_mut(handle.raw())
}

fn raw_or_null<T>(handle: Option<Handle>) -> *mut T {
    handle.map_or(core::ptr::null_mut(), raw)
}

/// The image's `DriverEntry(DriverObject, RegistryPath)`.
pub(crate) fn driver_entry(
    entry: ImageEntry,
    driver_object: PDRIVER_OBJECT,
    path: &[u16],
) -> NTSTATUS {
    let bytes = u16::try_from(path.len() * 2).unwrap_or(u16::MAX - 1);
    let registry_path = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: path.as_ptr().cast_mut(),
    };
    let registry_path: PCUNICODE_STRING = &raw const registry_path;
    // SAFETY: the loader calls the image's entry point once, with the driver object it made
    // for the image and a registry path that lives for the call, as KMDF's stub does.
    unsafe { entry(driver_object, registry_path) }
}

/// `EvtDriverDeviceAdd(Driver, DeviceInit)`.
pub(crate) fn evt_driver_device_add(
    callback: PFN_WDF_DRIVER_DEVICE_ADD,
    driver: Handle,
    init: Handle,
) -> NTSTATUS {
    let Some(callback) = callback else {
        return wdm_compat::NtStatus::UNSUCCESSFUL.to_raw();
    };
    // SAFETY: the driver registered this callback in its WDF_DRIVER_CONFIG; the framework calls
    // it from AddDevice with the driver's WDFDRIVER and an FDO init lent for the call.
    unsafe { callback(raw(driver), raw(init)) }
}

/// `EvtDriverUnload(Driver)`.
pub(crate) fn evt_driver_unload(callback: PFN_WDF_DRIVER_UNLOAD, driver: Handle) {
    if let Some(callback) = callback {
        // SAFETY: registered in the driver's WDF_DRIVER_CONFIG; called once, from
        // DriverUnload, while the WDFDRIVER still exists.
        unsafe { callback(raw(driver)) };
    }
}

/// `EvtCleanupCallback(Object)`.
pub(crate) fn evt_object_cleanup(callback: unsafe extern "C" fn(*mut c_void), object: Handle) {
    // SAFETY: registered in the object's attributes (or a context's); called once, when the
    // object is deleted, while the object and its contexts still exist.
    unsafe { callback(raw(object)) };
}

/// `EvtDestroyCallback(Object)`.
pub(crate) fn evt_object_destroy(callback: unsafe extern "C" fn(*mut c_void), object: Handle) {
    // SAFETY: as for cleanup: called once, when the object's last reference goes, before its
    // memory is freed.
    unsafe { callback(raw(object)) };
}

/// `EvtDevicePrepareHardware(Device, ResourcesRaw, ResourcesTranslated)`, with empty resource
/// lists (NULL: the simulated buses assign none); success when not registered.
pub(crate) fn evt_device_prepare_hardware(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_PREPARE_HARDWARE,
    device: Handle,
) -> NTSTATUS {
    match callback {
        // SAFETY: registered with WdfDeviceInitSetPnpPowerEventCallbacks; the device is live
        // (the framework calls PnP callbacks only between its creation and its deletion).
        Some(callback) => unsafe {
            callback(raw(device), core::ptr::null_mut(), core::ptr::null_mut())
        },
        None => 0,
    }
}

/// `EvtDeviceReleaseHardware(Device, ResourcesTranslated)`; success when not registered.
pub(crate) fn evt_device_release_hardware(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_RELEASE_HARDWARE,
    device: Handle,
) -> NTSTATUS {
    match callback {
        // SAFETY: as for `evt_device_prepare_hardware`.
        Some(callback) => unsafe { callback(raw(device), core::ptr::null_mut()) },
        None => 0,
    }
}

/// `EvtDeviceD0Entry(Device, PreviousState)` or `EvtDeviceD0Exit(Device, TargetState)`;
/// success when not registered.
pub(crate) fn evt_device_power(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_D0_ENTRY,
    device: Handle,
    state: crate::ffi::bindings::WDF_POWER_DEVICE_STATE,
) -> NTSTATUS {
    match callback {
        // SAFETY: as for `evt_device_prepare_hardware`.
        Some(callback) => unsafe { callback(raw(device), state) },
        None => 0,
    }
}

/// `EvtDeviceSelfManagedIoInit`, `…Suspend` or `…Restart(Device)`; success when not
/// registered.
pub(crate) fn evt_device_status(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT,
    device: Handle,
) -> NTSTATUS {
    match callback {
        // SAFETY: as for `evt_device_prepare_hardware`.
        Some(callback) => unsafe { callback(raw(device)) },
        None => 0,
    }
}

/// `EvtDeviceSelfManagedIoFlush`, `…Cleanup` or `EvtDeviceSurpriseRemoval(Device)`.
pub(crate) fn evt_device_notice(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_SURPRISE_REMOVAL,
    device: Handle,
) {
    if let Some(callback) = callback {
        // SAFETY: as for `evt_device_prepare_hardware`.
        unsafe { callback(raw(device)) };
    }
}

/// `EvtTimerFunc(Timer)`.
pub(crate) fn evt_timer_func(callback: crate::ffi::bindings::PFN_WDF_TIMER, timer: Handle) {
    if let Some(callback) = callback {
        // SAFETY: registered in the timer's WDF_TIMER_CONFIG; the timer is live (it fired
        // from the queue, and deleting it takes it out first).
        unsafe { callback(raw(timer)) };
    }
}

/// `EvtWorkItemFunc(WorkItem)`.
pub(crate) fn evt_work_item(callback: crate::ffi::bindings::PFN_WDF_WORKITEM, item: Handle) {
    if let Some(callback) = callback {
        // SAFETY: registered in the work item's WDF_WORKITEM_CONFIG; the item is live (it
        // is run before its deletion completes).
        unsafe { callback(raw(item)) };
    }
}

/// `EvtIoRead` or `EvtIoWrite` (same signature).
pub(crate) fn evt_io_read(
    callback: PFN_WDF_IO_QUEUE_IO_READ,
    queue: Handle,
    request: Handle,
    length: usize,
) {
    if let Some(callback) = callback {
        // SAFETY: registered in the queue's configuration; the queue presents a request it
        // just handed to the driver.
        unsafe { callback(raw(queue), raw(request), length) };
    }
}

/// `EvtIoWrite`.
pub(crate) fn evt_io_write(
    callback: PFN_WDF_IO_QUEUE_IO_READ,
    queue: Handle,
    request: Handle,
    length: usize,
) {
    evt_io_read(callback, queue, request, length);
}

/// `EvtIoDeviceControl` or `EvtIoInternalDeviceControl`.
pub(crate) fn evt_io_device_control(
    callback: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    queue: Handle,
    request: Handle,
    parameters: &Parameters,
) {
    if let Some(callback) = callback {
        // SAFETY: as for `evt_io_read`.
        unsafe {
            callback(
                raw(queue),
                raw(request),
                parameters.output_length,
                parameters.input_length,
                parameters.code,
            );
        }
    }
}

/// `EvtIoDefault`.
pub(crate) fn evt_io_default(
    callback: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    queue: Handle,
    request: Handle,
) {
    if let Some(callback) = callback {
        // SAFETY: as for `evt_io_read`.
        unsafe { callback(raw(queue), raw(request)) };
    }
}

/// `EvtIoCanceledOnQueue`.
pub(crate) fn evt_io_canceled_on_queue(
    callback: PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    queue: Handle,
    request: Handle,
) {
    if let Some(callback) = callback {
        // SAFETY: as for `evt_io_read`: the queue hands the cancelled request to the driver.
        unsafe { callback(raw(queue), raw(request)) };
    }
}

/// `EvtIoStop(Queue, Request, ActionFlags)`.
pub(crate) fn evt_io_stop(
    callback: crate::ffi::bindings::PFN_WDF_IO_QUEUE_IO_STOP,
    queue: Handle,
    request: Handle,
    flags: u32,
) {
    if let Some(callback) = callback {
        // SAFETY: registered in the queue's configuration; the request is one the driver owns
        // from this queue, kept alive for the call (KMDF holds a reference around it).
        unsafe { callback(raw(queue), raw(request), flags) };
    }
}

/// `EvtIoResume(Queue, Request)`.
pub(crate) fn evt_io_resume(
    callback: crate::ffi::bindings::PFN_WDF_IO_QUEUE_IO_RESUME,
    queue: Handle,
    request: Handle,
) {
    if let Some(callback) = callback {
        // SAFETY: as for `evt_io_stop`: a request the driver owns, acknowledged in EvtIoStop.
        unsafe { callback(raw(queue), raw(request)) };
    }
}

/// `EvtRequestCancel`.
pub(crate) fn evt_request_cancel(callback: PFN_WDF_REQUEST_CANCEL, request: Handle) {
    if let Some(callback) = callback {
        // SAFETY: the driver set this routine with WdfRequestMarkCancelableEx; the framework
        // calls it once, for the request it was set on, which the driver still owns.
        unsafe { callback(raw(request)) };
    }
}

/// `EvtDeviceFileCreate(Device, Request, FileObject)`.
pub(crate) fn evt_device_file_create(
    callback: crate::ffi::bindings::PFN_WDF_DEVICE_FILE_CREATE,
    device: Handle,
    request: Handle,
    file: Handle,
) {
    if let Some(callback) = callback {
        // SAFETY: registered with WdfDeviceInitSetFileObjectConfig; called with the device, the
        // create request the driver now owns, and the open's new file object.
        unsafe { callback(raw(device), raw(request), raw(file)) };
    }
}

/// `EvtFileClose` or `EvtFileCleanup`.
pub(crate) fn evt_file(callback: PFN_WDF_FILE_CLOSE, file: Handle) {
    if let Some(callback) = callback {
        // SAFETY: registered with WdfDeviceInitSetFileObjectConfig; called with a live file
        // object of the device.
        unsafe { callback(raw(file)) };
    }
}

/// `EvtFileClose` or `EvtFileCleanup` for an open without a file object: NULL.
pub(crate) fn evt_file_null(callback: PFN_WDF_FILE_CLOSE) {
    if let Some(callback) = callback {
        // SAFETY: registered with WdfDeviceInitSetFileObjectConfig; KMDF passes NULL when the
        // open has no file object (`FxPkgGeneral::OnCleanup`/`OnClose`).
        unsafe { callback(core::ptr::null_mut()) };
    }
}

/// What a sent request came back with, for `WDF_REQUEST_COMPLETION_PARAMS`.
pub(crate) struct Completion {
    pub(crate) request_type: WDF_REQUEST_TYPE,
    pub(crate) status: wdm_compat::NtStatus,
    pub(crate) information: usize,
    pub(crate) code: u32,
    pub(crate) length: usize,
    pub(crate) output_length: usize,
    /// The memory objects a created request was formatted with.
    pub(crate) input: Option<Handle>,
    pub(crate) output: Option<Handle>,
}

/// `EvtRequestCompletionRoutine(Request, Target, Params, Context)`.
pub(crate) fn evt_request_completion(
    callback: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    request: Handle,
    target: Option<Handle>,
    completion: &Completion,
    context: super::memory::DriverPointer,
) {
    let Some(callback) = callback else {
        return;
    };
    let no_memory: WDFMEMORY = core::ptr::null_mut();
    let parameters = match completion.request_type {
        RequestType::WdfRequestTypeDeviceControl
        | RequestType::WdfRequestTypeDeviceControlInternal => {
            _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1 {
                Ioctl: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_3 {
                    IoControlCode: completion.code,
                    InputBuffer: completion.input.map_or(no_memory, raw),
                    InputOffset: 0,
                    OutputBuffer: completion.output.map_or(no_memory, raw),
                    OutputOffset: 0,
                    OutputLength: completion.output_length,
                },
            }
        }
        _ => _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1 {
            Read: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_1 {
                Buffer: no_memory,
                Length: completion.length,
                Offset: 0,
            },
        },
    };
    let mut params = _WDF_REQUEST_COMPLETION_PARAMS {
        Size: size_of::<WDF_REQUEST_COMPLETION_PARAMS>() as u32,
        Type: completion.request_type,
        IoStatus: _IO_STATUS_BLOCK {
            __bindgen_anon_1: _IO_STATUS_BLOCK__bindgen_ty_1 {
                Status: completion.status.to_raw(),
            },
            Information: completion.information as u64,
        },
        Parameters: parameters,
    };
    // SAFETY: the driver set this routine with WdfRequestSetCompletionRoutine before sending
    // the request; the framework calls it once, when the target completed the request, with
    // completion parameters that live for the call and the context the driver gave.
    unsafe {
        callback(
            raw(request),
            raw_or_null(target),
            &raw mut params,
            context.0,
        );
    }
}
