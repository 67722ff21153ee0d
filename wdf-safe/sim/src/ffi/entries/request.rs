//! Requests (shared/core/fxrequestapi.cpp; `WdfRequestCreate` in fxrequest.cpp).

use std::rc::Rc;

use wdm_compat::NtStatus;

use super::{
    DISPATCH, PASSIVE, attributes, enter, handle, not_null, parent_of, read, sized, write,
};
use crate::ffi::bindings::{
    _WDF_REQUEST_PARAMETERS__bindgen_ty_1, _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2,
    _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4,
    _WDF_REQUEST_SEND_OPTIONS_FLAGS as SendFlags, _WDF_REQUEST_TYPE as RequestType, BOOLEAN,
    NTSTATUS, PFN_WDF_REQUEST_CANCEL, PFN_WDF_REQUEST_COMPLETION_ROUTINE, PVOID,
    PWDF_DRIVER_GLOBALS, PWDF_OBJECT_ATTRIBUTES, PWDF_REQUEST_PARAMETERS,
    PWDF_REQUEST_SEND_OPTIONS, ULONG_PTR, WDF_REQUEST_PARAMETERS, WDF_REQUEST_SEND_OPTIONS,
    WDFCONTEXT, WDFIOTARGET, WDFQUEUE, WDFREQUEST,
};
use crate::ffi::memory::DriverPointer;
use crate::framework::objects::{Handle, Kind};
use crate::framework::request::{self, Buffer};
use crate::framework::{Cx, created, send};

fn raw<T>(handle: Handle) -> *mut T {
    core::ptr::without_provenance_mut(handle.raw())
}

/// The calling image and the live request `raw_request` names.
fn enter_request(
    globals: PWDF_DRIVER_GLOBALS,
    ddi: &str,
    raw_request: WDFREQUEST,
) -> Option<(Rc<Cx>, Handle)> {
    let cx = enter(globals, ddi)?;
    let request = handle(&cx, ddi, raw_request, Kind::Request)?;
    if !cx.check_irql(ddi, DISPATCH) {
        return None;
    }
    Some((cx, request))
}

pub(crate) unsafe extern "C" fn WdfRequestGetParameters(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    parameters: PWDF_REQUEST_PARAMETERS,
) {
    const DDI: &str = "WdfRequestGetParameters";
    let Some((cx, request)) = enter_request(globals, DDI, raw_request) else {
        return;
    };
    let Some(given) = read(&cx, DDI, "Parameters", parameters.cast_const()) else {
        return;
    };
    if sized(
        &cx,
        DDI,
        "WDF_REQUEST_PARAMETERS",
        usize::from(given.Size),
        size_of::<WDF_REQUEST_PARAMETERS>(),
    )
    .is_err()
    {
        return;
    }
    let Some((request_type, minor, p)) =
        request::with_request(&cx, request, |r| (r.request_type, r.minor, r.parameters))
    else {
        return;
    };
    let union = match request_type {
        RequestType::WdfRequestTypeRead | RequestType::WdfRequestTypeWrite => {
            _WDF_REQUEST_PARAMETERS__bindgen_ty_1 {
                Read: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2 {
                    Length: p.length,
                    Key: 0,
                    DeviceOffset: p.offset,
                },
            }
        }
        _ => _WDF_REQUEST_PARAMETERS__bindgen_ty_1 {
            DeviceIoControl: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4 {
                OutputBufferLength: p.output_length,
                InputBufferLength: p.input_length,
                IoControlCode: p.code,
                Type3InputBuffer: core::ptr::null_mut(),
            },
        },
    };
    write(
        parameters,
        WDF_REQUEST_PARAMETERS {
            Size: given.Size,
            MinorFunction: minor,
            Type: request_type,
            Parameters: union,
        },
    );
}

pub(crate) unsafe extern "C" fn WdfRequestSetInformation(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    information: ULONG_PTR,
) {
    if let Some((cx, request)) = enter_request(globals, "WdfRequestSetInformation", raw_request) {
        let _ = request::with_request(&cx, request, |r| {
            r.information = usize::try_from(information).unwrap_or(usize::MAX);
        });
    }
}

pub(crate) unsafe extern "C" fn WdfRequestGetInformation(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> ULONG_PTR {
    enter_request(globals, "WdfRequestGetInformation", raw_request)
        .and_then(|(cx, request)| request::with_request(&cx, request, |r| r.information as u64))
        .unwrap_or(0)
}

pub(crate) unsafe extern "C" fn WdfRequestCompleteWithInformation(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    status: NTSTATUS,
    information: ULONG_PTR,
) {
    if let Some((cx, request)) =
        enter_request(globals, "WdfRequestCompleteWithInformation", raw_request)
    {
        let information = usize::try_from(information).unwrap_or(usize::MAX);
        request::complete_by_driver(&cx, request, NtStatus::from_raw(status), information);
    }
}

pub(crate) unsafe extern "C" fn WdfRequestForwardToIoQueue(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    destination: WDFQUEUE,
) -> NTSTATUS {
    const DDI: &str = "WdfRequestForwardToIoQueue";
    let Some((cx, request)) = enter_request(globals, DDI, raw_request) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let Some(queue) = handle(&cx, DDI, destination, Kind::Queue) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    request::forward_to_queue(&cx, request, queue).to_raw()
}

pub(crate) unsafe extern "C" fn WdfRequestFormatRequestUsingCurrentType(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) {
    if let Some((cx, request)) = enter_request(
        globals,
        "WdfRequestFormatRequestUsingCurrentType",
        raw_request,
    ) {
        send::format_using_current_type(&cx, request);
    }
}

pub(crate) unsafe extern "C" fn WdfRequestSetCompletionRoutine(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    routine: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    context: WDFCONTEXT,
) {
    if let Some((cx, request)) =
        enter_request(globals, "WdfRequestSetCompletionRoutine", raw_request)
    {
        let _ = request::with_request(&cx, request, |r| {
            r.completion = routine;
            r.completion_context = DriverPointer(context);
        });
    }
}

pub(crate) unsafe extern "C" fn WdfRequestSend(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    raw_target: WDFIOTARGET,
    options: PWDF_REQUEST_SEND_OPTIONS,
) -> BOOLEAN {
    const DDI: &str = "WdfRequestSend";
    let Some((cx, request)) = enter_request(globals, DDI, raw_request) else {
        return 0;
    };
    let fail = |status: NtStatus| {
        let _ = request::with_request(&cx, request, |r| r.status = status);
        0
    };
    let Some(target) = handle(&cx, DDI, raw_target, Kind::IoTarget) else {
        return fail(NtStatus::INVALID_HANDLE);
    };
    let flags = if options.is_null() {
        0
    } else {
        // SAFETY: not NULL; the DDI's contract makes it a WDF_REQUEST_SEND_OPTIONS.
        let options: WDF_REQUEST_SEND_OPTIONS = unsafe { options.read_unaligned() };
        if sized(
            &cx,
            DDI,
            "WDF_REQUEST_SEND_OPTIONS",
            options.Size as usize,
            size_of::<WDF_REQUEST_SEND_OPTIONS>(),
        )
        .is_err()
        {
            return fail(NtStatus::INFO_LENGTH_MISMATCH);
        }
        options.Flags
    };
    let forget = flags & SendFlags::WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET as u32 != 0;
    let synchronous = flags & SendFlags::WDF_REQUEST_SEND_OPTION_SYNCHRONOUS as u32 != 0;
    let supported = if forget {
        flags == SendFlags::WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET as u32
    } else {
        flags
            & !(SendFlags::WDF_REQUEST_SEND_OPTION_SYNCHRONOUS as u32
                | SendFlags::WDF_REQUEST_SEND_OPTION_TIMEOUT as u32)
            == 0
    };
    if !supported {
        cx.verifier_break(
            None,
            "WdfRequestSend: only asynchronous, synchronous and send-and-forget sends are \
             modelled by the simulated framework (SEND_AND_FORGET cannot be combined with other \
             flags)",
        );
        return fail(NtStatus::INVALID_PARAMETER);
    }
    // A synchronous send waits for the target (`FxIoTarget::SubmitSync`): PASSIVE_LEVEL only.
    if synchronous && !cx.check_irql(DDI, PASSIVE) {
        return fail(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if wdm_compat::host::spin_lock_held() {
        // An SDV rule KMDF itself does not check at run time; the simulation does.
        cx.verifier_break(
            Some("ReqSendWhileSpinlock"),
            "WdfRequestSend while the driver holds a spin lock",
        );
    }
    let Some(lower) = cx
        .lock()
        .objects
        .get(target)
        .and_then(|o| o.target())
        .map(|t| t.lower)
    else {
        return fail(NtStatus::INVALID_DEVICE_STATE);
    };
    if synchronous {
        return match send::send_synchronously(&cx, request, lower) {
            Ok(()) => 1,
            Err(status) => fail(status),
        };
    }
    match send::send(&cx, request, lower, forget) {
        Ok(()) => 1,
        Err(status) => {
            if status == NtStatus::INVALID_DEVICE_REQUEST {
                cx.verifier_break(
                    None,
                    "WdfRequestSend: a request presented by a queue, sent asynchronously \
                     without a completion routine, or not the driver's",
                );
            } else if status == NtStatus::REQUEST_NOT_ACCEPTED {
                cx.verifier_break(
                    None,
                    "WdfRequestSend: the request was not formatted for the target",
                );
            }
            fail(status)
        }
    }
}

pub(crate) unsafe extern "C" fn WdfRequestCreate(
    globals: PWDF_DRIVER_GLOBALS,
    raw_attributes: PWDF_OBJECT_ATTRIBUTES,
    raw_target: WDFIOTARGET,
    out_request: *mut WDFREQUEST,
) -> NTSTATUS {
    const DDI: &str = "WdfRequestCreate";
    let Some(cx) = enter(globals, DDI) else {
        return NtStatus::INVALID_DEVICE_STATE.to_raw();
    };
    if !not_null(&cx, DDI, "Request", out_request) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(out_request, core::ptr::null_mut());
    if !cx.check_irql(DDI, DISPATCH) {
        return NtStatus::INVALID_DEVICE_REQUEST.to_raw();
    }
    if raw_target.is_null() {
        cx.verifier_break(
            None,
            "WdfRequestCreate: a request without an I/O target is not modelled by the simulated \
             framework",
        );
        return NtStatus::NOT_SUPPORTED.to_raw();
    }
    let Some(target) = handle(&cx, DDI, raw_target, Kind::IoTarget) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    let attributes = match attributes(&cx, DDI, raw_attributes) {
        Ok(attributes) => attributes,
        Err(status) => return status.to_raw(),
    };
    let parent = match parent_of(&cx, DDI, attributes.as_ref()) {
        Ok(parent) => parent,
        Err(status) => return status.to_raw(),
    };
    match created::create(&cx, parent, attributes.as_ref(), target) {
        Ok(request) => {
            write(
                out_request,
                core::ptr::without_provenance_mut(request.raw()),
            );
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfRequestGetStatus(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> NTSTATUS {
    enter_request(globals, "WdfRequestGetStatus", raw_request)
        .and_then(|(cx, request)| request::with_request(&cx, request, |r| r.status.to_raw()))
        .unwrap_or(NtStatus::INVALID_HANDLE.to_raw())
}

pub(crate) unsafe extern "C" fn WdfRequestIsCanceled(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> BOOLEAN {
    enter_request(globals, "WdfRequestIsCanceled", raw_request).map_or(0, |(cx, request)| {
        u8::from(request::is_canceled(&cx, request))
    })
}

fn retrieve(
    globals: PWDF_DRIVER_GLOBALS,
    ddi: &str,
    raw_request: WDFREQUEST,
    which: Buffer,
    minimum: usize,
    buffer: *mut PVOID,
    length: *mut usize,
) -> NTSTATUS {
    let Some((cx, request)) = enter_request(globals, ddi, raw_request) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if !not_null(&cx, ddi, "Buffer", buffer) {
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    write(buffer, core::ptr::null_mut());
    write(length, 0);
    match request::retrieve(&cx, request, which, minimum) {
        Ok((address, size)) => {
            write(buffer, address.cast());
            write(length, size);
            NtStatus::SUCCESS.to_raw()
        }
        Err(status) => status.to_raw(),
    }
}

pub(crate) unsafe extern "C" fn WdfRequestRetrieveInputBuffer(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    minimum: usize,
    buffer: *mut PVOID,
    length: *mut usize,
) -> NTSTATUS {
    retrieve(
        globals,
        "WdfRequestRetrieveInputBuffer",
        raw_request,
        Buffer::Input,
        minimum,
        buffer,
        length,
    )
}

pub(crate) unsafe extern "C" fn WdfRequestRetrieveOutputBuffer(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    minimum: usize,
    buffer: *mut PVOID,
    length: *mut usize,
) -> NTSTATUS {
    retrieve(
        globals,
        "WdfRequestRetrieveOutputBuffer",
        raw_request,
        Buffer::Output,
        minimum,
        buffer,
        length,
    )
}

pub(crate) unsafe extern "C" fn WdfRequestMarkCancelableEx(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    routine: PFN_WDF_REQUEST_CANCEL,
) -> NTSTATUS {
    const DDI: &str = "WdfRequestMarkCancelableEx";
    let Some((cx, request)) = enter_request(globals, DDI, raw_request) else {
        return NtStatus::INVALID_HANDLE.to_raw();
    };
    if routine.is_none() {
        cx.null_parameter(DDI, "EvtRequestCancel");
        return NtStatus::INVALID_PARAMETER.to_raw();
    }
    request::mark_cancelable(&cx, request, routine).to_raw()
}

pub(crate) unsafe extern "C" fn WdfRequestUnmarkCancelable(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> NTSTATUS {
    enter_request(globals, "WdfRequestUnmarkCancelable", raw_request)
        .map_or(NtStatus::INVALID_HANDLE.to_raw(), |(cx, request)| {
            request::unmark_cancelable(&cx, request).to_raw()
        })
}

pub(crate) unsafe extern "C" fn WdfRequestGetIoQueue(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> WDFQUEUE {
    enter_request(globals, "WdfRequestGetIoQueue", raw_request)
        .and_then(|(cx, request)| request::io_queue(&cx, request))
        .map_or(core::ptr::null_mut(), raw)
}

pub(crate) unsafe extern "C" fn WdfRequestStopAcknowledge(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
    requeue: BOOLEAN,
) {
    if let Some((cx, request)) = enter_request(globals, "WdfRequestStopAcknowledge", raw_request) {
        crate::framework::queue_power::stop_acknowledge(&cx, request, requeue != 0);
    }
}

pub(crate) unsafe extern "C" fn WdfRequestGetFileObject(
    globals: PWDF_DRIVER_GLOBALS,
    raw_request: WDFREQUEST,
) -> crate::ffi::bindings::WDFFILEOBJECT {
    const DDI: &str = "WdfRequestGetFileObject";
    let Some((cx, request)) = enter_request(globals, DDI, raw_request) else {
        return core::ptr::null_mut();
    };
    match crate::framework::file::of_request(&cx, request) {
        Ok(file) => file.map_or(core::ptr::null_mut(), raw),
        Err(()) => {
            // FxRequest::GetFileObject on a device without file objects.
            cx.verifier_break(
                Some("FileObjectConfigured"),
                "WdfRequestGetFileObject: the device's file-object class is \
                 WdfFileObjectNotRequired, so its requests have no file object",
            );
            core::ptr::null_mut()
        }
    }
}
