//! Queues (shared/irphandlers/io/fxioqueueapi.cpp).

use wdm_compat::NtStatus;

use super::{DISPATCH, PASSIVE, attributes, enter, handle, read, sized, write};
use crate::ffi::bindings::{
    NTSTATUS, PFN_WDF_IO_QUEUE_STATE, PULONG, PWDF_DRIVER_GLOBALS, PWDF_IO_QUEUE_CONFIG,
    PWDF_OBJECT_ATTRIBUTES, WDF_IO_QUEUE_CONFIG, WDF_IO_QUEUE_STATE, WDFCONTEXT, WDFDEVICE,
    WDFQUEUE, WDFREQUEST,
};
use crate::framework::objects::{Handle, Kind};
use crate::framework::queue::{self, QueueCallbacks, QueueConfig};

fn raw<T>(handle: Handle) -> *mut T {
    core::ptr::without_provenance_mut(handle.raw())
}

pub(crate) unsafe extern "C" fn WdfIoQueueCreate(
    globals: PWDF_DRIVER_GLOBALS,
    raw_device: WDFDEVICE,
    config: PWDF_IO_QUEUE_CONFIG,
    queue_attributes: PWDF_OBJECT_ATTRIBUTES,
    out_queue: *mut WDFQUEUE,
) -> NTSTATUS {
    const DDI: &str = "WdfIoQueueCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    let Some(device) = handle(&cx, DDI, raw_device, Kind::Device) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let Some(config) = read(&cx, DDI, "Config", config.cast_const()) else {
        return NtStatus::INVALID_PARAMETER.to_raw();
    };
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    let attributes = match attributes(&cx, DDI, queue_attributes) {
        Ok(attributes) => attributes,
        Err(status) => return status.to_raw(),
    };
    if let Err(status) = sized(
        &cx,
        DDI,
        "WDF_IO_QUEUE_CONFIG",
        config.Size as usize,
        size_of::<WDF_IO_QUEUE_CONFIG>(),
    ) {
        return status.to_raw();
    }
    let default_queue = config.DefaultQueue != 0;
    if !default_queue && out_queue.is_null() {
        return NtStatus::from_u32(0xC000_00F2).to_raw(); // STATUS_INVALID_PARAMETER_4
    }
    // SAFETY: a union of one `ULONG` member: every bit pattern is a valid value.
    let presented = unsafe { config.Settings.Parallel.NumberOfPresentedRequests };
    let queue_config = QueueConfig {
        dispatch: config.DispatchType,
        callbacks: QueueCallbacks {
            default: config.EvtIoDefault,
            read: config.EvtIoRead,
            write: config.EvtIoWrite,
            device_control: config.EvtIoDeviceControl,
            internal_device_control: config.EvtIoInternalDeviceControl,
            canceled_on_queue: config.EvtIoCanceledOnQueue,
            stop: config.EvtIoStop,
            resume: config.EvtIoResume,
        },
        allow_zero_length: config.AllowZeroLengthRequests != 0,
        default_queue,
        presented_limit: presented,
        power_managed: config.PowerManaged,
    };
    match queue::create(&cx, device, &queue_config, attributes.as_ref()) {
        Ok(created) => {
            write(out_queue, raw(created));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueueGetState(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
    queue_requests: PULONG,
    driver_requests: PULONG,
) -> WDF_IO_QUEUE_STATE {
    const DDI: &str = "WdfIoQueueGetState";
    let Some(cx) = enter(globals, DDI) else {
        return 0;
    };
    let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue) else {
        return 0;
    };
    let Some((bits, queued, owned)) = queue::state(&cx, handle) else {
        return 0;
    };
    write(queue_requests, u32::try_from(queued).unwrap_or(u32::MAX));
    write(driver_requests, u32::try_from(owned).unwrap_or(u32::MAX));
    bits
}

pub(crate) unsafe extern "C" fn WdfIoQueueStart(globals: PWDF_DRIVER_GLOBALS, raw_queue: WDFQUEUE) {
    const DDI: &str = "WdfIoQueueStart";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue)
        && cx.check_irql(DDI, DISPATCH)
    {
        queue::start(&cx, handle);
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueueStop(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
    stop_complete: PFN_WDF_IO_QUEUE_STATE,
    _context: WDFCONTEXT,
) {
    const DDI: &str = "WdfIoQueueStop";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if stop_complete.is_some() {
        cx.verifier_break(
            None,
            "WdfIoQueueStop: a StopComplete callback is not modelled by the simulated framework",
        );
    }
    if let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue)
        && cx.check_irql(DDI, DISPATCH)
    {
        crate::framework::pnp::check_not_in_surprise_removal(
            &cx,
            "EvtSurpriseRemoveNoSuspendQueue",
            DDI,
        );
        queue::stop(&cx, handle);
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueueStopSynchronously(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
) {
    const DDI: &str = "WdfIoQueueStopSynchronously";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue)
        && cx.check_irql(DDI, PASSIVE)
    {
        crate::framework::pnp::check_not_in_surprise_removal(
            &cx,
            "EvtSurpriseRemoveNoSuspendQueue",
            DDI,
        );
        queue::stop_synchronously(&cx, handle);
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueueGetDevice(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
) -> WDFDEVICE {
    const DDI: &str = "WdfIoQueueGetDevice";
    let Some(cx) = enter(globals, DDI) else {
        return core::ptr::null_mut();
    };
    let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue) else {
        return core::ptr::null_mut();
    };
    let device = cx
        .lock()
        .objects
        .get(handle)
        .and_then(|o| o.queue())
        .map(|q| q.device);
    device.map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfIoQueueRetrieveNextRequest(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
    out_request: *mut WDFREQUEST,
) -> NTSTATUS {
    const DDI: &str = "WdfIoQueueRetrieveNextRequest";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    write(out_request, core::ptr::null_mut());
    let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !super::not_null(&cx, DDI, "OutRequest", out_request) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    match queue::retrieve_next(&cx, handle) {
        Ok(request) => {
            write(out_request, raw(request));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueueRetrieveRequestByFileObject(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
    raw_file: crate::ffi::bindings::WDFFILEOBJECT,
    out_request: *mut WDFREQUEST,
) -> NTSTATUS {
    const DDI: &str = "WdfIoQueueRetrieveRequestByFileObject";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    write(out_request, core::ptr::null_mut());
    let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let Some(file) = crate::ffi::entries::handle(&cx, DDI, raw_file, Kind::FileObject) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !super::not_null(&cx, DDI, "OutRequest", out_request) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    match queue::retrieve_by_file(&cx, handle, file) {
        Ok(request) => {
            write(out_request, raw(request));
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfIoQueuePurgeSynchronously(
    globals: PWDF_DRIVER_GLOBALS,
    raw_queue: WDFQUEUE,
) {
    const DDI: &str = "WdfIoQueuePurgeSynchronously";
    let Some(cx) = enter(globals, DDI) else {
        return;
    };
    if let Some(handle) = handle(&cx, DDI, raw_queue, Kind::Queue)
        && cx.check_irql(DDI, PASSIVE)
    {
        crate::framework::pnp::check_not_in_surprise_removal(
            &cx,
            "EvtSurpriseRemoveNoSuspendQueue",
            DDI,
        );
        queue::purge_synchronously(&cx, handle, queue::PURGE_DDI);
    }
}
