//! What the C-style test drivers share: the calls a C driver's `DriverEntry` makes.

use core::ptr::null_mut;

use kmdf_sim::bindings::{
    _WDF_DRIVER_INIT_FLAGS as Flags, _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, NTSTATUS,
    PCUNICODE_STRING, PDRIVER_OBJECT, PFN_WDF_IO_QUEUE_IO_READ, PWDFDEVICE_INIT, UNICODE_STRING,
    WDF_DRIVER_CONFIG, WDF_IO_QUEUE_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDFDEVICE, WDFDRIVER,
    WDFQUEUE, call_unsafe_wdf_function_binding,
};

/// `WdfDriverCreate` for a non-PnP driver with an unload callback.
pub(crate) fn create_driver(
    driver_object: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> WDFDRIVER {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverUnload: Some(unload),
        DriverInitFlags: Flags::WdfDriverInitNonPnpDriver as u32,
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut driver: WDFDRIVER = null_mut();
    // SAFETY: DriverEntry's own arguments; the configuration is read during the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver_object,
            registry_path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut config,
            &mut driver
        )
    };
    assert_eq!(status, 0);
    driver
}

unsafe extern "C" fn unload(_driver: WDFDRIVER) {}

/// A control device named `\Device\<name>`, as C drivers make one (finished initializing
/// when `finish`).
pub(crate) fn control_device(driver: WDFDRIVER, name: &str, finish: bool) -> WDFDEVICE {
    let sddl: Vec<u16> = "D:P(A;;GA;;;SY)(A;;GA;;;BA)".encode_utf16().collect();
    let sddl = unicode(&sddl);
    // SAFETY: a live WDFDRIVER of this DriverEntry; the SDDL outlives the call.
    let mut init: PWDFDEVICE_INIT =
        unsafe { call_unsafe_wdf_function_binding!(WdfControlDeviceInitAllocate, driver, &sddl) };
    assert!(!init.is_null());
    let name: Vec<u16> = format!(r"\Device\{name}").encode_utf16().collect();
    let name = unicode(&name);
    // SAFETY: a live init; the name outlives the call.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceInitAssignName, init, &name) };
    assert_eq!(status, 0);
    let mut device: WDFDEVICE = null_mut();
    // SAFETY: a live init, consumed on success.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreate,
            &mut init,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut device
        )
    };
    assert_eq!(status, 0);
    if finish {
        finish_initializing(device);
    }
    device
}

pub(crate) fn finish_initializing(device: WDFDEVICE) {
    // SAFETY: a live control device.
    unsafe { call_unsafe_wdf_function_binding!(WdfControlFinishInitializing, device) };
}

pub(crate) fn unicode(units: &[u16]) -> UNICODE_STRING {
    let bytes = u16::try_from(units.len() * 2).unwrap();
    UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: units.as_ptr().cast_mut(),
    }
}

/// `WdfDeviceCreateSymbolicLink(\DosDevices\<name>)`: the device opens as `\\.\<name>`.
pub(crate) fn symbolic_link(device: WDFDEVICE, name: &str) {
    let link: Vec<u16> = format!(r"\DosDevices\{name}").encode_utf16().collect();
    let link = unicode(&link);
    // SAFETY: a live device; the name outlives the call.
    let status =
        unsafe { call_unsafe_wdf_function_binding!(WdfDeviceCreateSymbolicLink, device, &link) };
    assert_eq!(status, 0);
}

/// A parallel default queue presenting any number of requests, with `read` as `EvtIoRead`
/// (before `WdfControlFinishInitializing`: a default queue after it is refused).
pub(crate) fn parallel_default_queue(
    device: WDFDEVICE,
    read: PFN_WDF_IO_QUEUE_IO_READ,
) -> WDFQUEUE {
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DispatchType: Dispatch::WdfIoQueueDispatchParallel,
        DefaultQueue: 1,
        EvtIoRead: read,
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    config.Settings.Parallel.NumberOfPresentedRequests = u32::MAX;
    let (status, queue) = create_queue(device, &mut config);
    assert_eq!(status, 0);
    queue
}

/// `WdfIoQueueCreate(device, config)`: its status and the queue (NULL when it failed).
pub(crate) fn create_queue(
    device: WDFDEVICE,
    config: &mut WDF_IO_QUEUE_CONFIG,
) -> (NTSTATUS, WDFQUEUE) {
    let mut queue: WDFQUEUE = null_mut();
    // SAFETY: a live device; the configuration is read during the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueCreate,
            device,
            config,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut queue
        )
    };
    (status, queue)
}
