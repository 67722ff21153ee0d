//! Sending a request the driver owns to an I/O target (`WdfRequestSend`, shared/core/
//! fxrequestapi.cpp; `FxIoTarget::Submit`, `SubmitSync`, shared/targets/general/fxiotarget.cpp),
//! and taking it back when the target completes it (`FxRequestBase::CompleteSubmitted`,
//! shared/core/fxrequestbase.cpp): sent and forgotten, sent with the driver's completion
//! routine, or sent and waited for.

use std::sync::Arc;

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, IrpId};

use super::lifecycle;
use super::objects::{Handle, Life, Object};
use super::queue;
use super::request::{Owner, Parameters, RequestBody, with_request, write_back};
use super::{Cx, State};
use crate::ffi::bindings::{_WDF_REQUEST_TYPE as RequestType, PFN_WDF_REQUEST_COMPLETION_ROUTINE};
use crate::ffi::callbacks;

/// The request `request`, which a send needs the driver to own.
fn owned_by_driver(state: &mut State, request: Handle) -> Result<&mut RequestBody, NtStatus> {
    let info = state
        .objects
        .get_mut(request)
        .and_then(|o| o.request_mut())
        .ok_or(NtStatus::INVALID_HANDLE)?;
    if !info.driver_owned() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    Ok(info)
}

/// `WdfRequestSend`, on the IRP: sent and forgotten (`PreProcessSendAndForget`: the current
/// stack location is skipped unless the driver formatted the next one), or sent with the
/// driver's completion routine, which runs when the lower driver completes the IRP; the
/// framework returns `STATUS_MORE_PROCESSING_REQUIRED` and the driver completes the request
/// again (`FxIoTarget::_RequestCompletionRoutine`, shared/targets/general/fxiotarget.cpp).
pub(crate) fn send(
    cx: &Cx,
    request: Handle,
    lower: DeviceId,
    forget: bool,
) -> Result<(), NtStatus> {
    let taken = {
        let mut state = cx.lock();
        let info = owned_by_driver(&mut state, request)?;
        if !forget && info.completion.is_none() && info.queue.is_some() {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        if !forget && !info.formatted {
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        let queue = if forget {
            info.queue.take()
        } else {
            info.queue
        };
        info.owner = if forget { Owner::Done } else { Owner::Sent };
        let taken = (
            info.irp,
            info.formatted,
            info.system.to_vec(),
            info.mdl.to_vec(),
            queue,
            info.completion.is_some(),
        );
        if forget {
            if let Some(object) = state.objects.get_mut(request) {
                object.life = Life::Disposed;
            }
            if let Some(body) = queue
                .and_then(|q| state.objects.get_mut(q))
                .and_then(|o| o.queue_mut())
            {
                body.release_one();
            }
        }
        taken
    };
    let (irp, formatted, system, mdl, queue, routine) = taken;
    if forget {
        if routine {
            // `VerifyPreProcessSendAndForget`: the send goes on after the break.
            cx.verifier_break(
                None,
                "WdfRequestSend: a request with a completion routine set is sent and forgotten; \
                 the routine will not run",
            );
        }
        warn_forgotten_create(cx, request);
    }
    write_back(&cx.kernel, irp, &system, &mdl);
    if forget {
        lifecycle::run_cleanup(cx, request);
        if !formatted {
            cx.kernel.skip_current_location(irp);
        }
        let _ = cx.kernel.call_driver(irp, lower);
        cx.fx().notify_released();
        if let Some(queue) = queue {
            queue::dispatch_internal_events(cx, queue);
        }
        lifecycle::destroy_if_unreferenced(cx, request);
        return Ok(());
    }
    let image = Arc::clone(&cx.image);
    cx.kernel
        .set_completion_routine(irp, move |k, _device, irp| {
            let cx = Cx::new(Arc::clone(&image), k.clone());
            let _frame = cx.enter();
            sent_request_completed(&cx, request, irp);
            NtStatus::MORE_PROCESSING_REQUIRED
        });
    let _ = cx.kernel.call_driver(irp, lower);
    Ok(())
}

/// `WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SYNCHRONOUS` (`FxIoTarget::SubmitSync`):
/// the formatted request goes down with the framework's own completion routine, the caller
/// waits for the target to complete it, and gets it back (buffers, status and information
/// from the IRP). A completion routine the driver set before (and that never ran: a send
/// that failed leaves it set) is chained: KMDF's `_SyncCompletionRoutine` calls it before the
/// wait ends (`SubmitSyncCallCompletion`). A target that has not completed the request after
/// [`SYNC_WAIT`] is reported (the simulation gives up where KMDF waits or times out and
/// cancels), and the request is cancelled and waited for once more.
pub(crate) fn send_synchronously(
    cx: &Cx,
    request: Handle,
    lower: DeviceId,
) -> Result<(), NtStatus> {
    let taken = {
        let mut state = cx.lock();
        let info = owned_by_driver(&mut state, request)?;
        if !info.formatted {
            return Err(NtStatus::REQUEST_NOT_ACCEPTED);
        }
        info.owner = Owner::Sent;
        (
            info.irp,
            info.system.to_vec(),
            info.mdl.to_vec(),
            info.completion.take(),
            core::mem::take(&mut info.completion_context),
        )
    };
    let (irp, system, mdl, routine, context) = taken;
    write_back(&cx.kernel, irp, &system, &mdl);
    let (signal, completed) = std::sync::mpsc::channel::<()>();
    cx.kernel
        .set_completion_routine(irp, move |_k, _device, _irp| {
            let _ = signal.send(());
            NtStatus::MORE_PROCESSING_REQUIRED
        });
    let _ = cx.kernel.call_driver(irp, lower);
    if completed.recv_timeout(SYNC_WAIT).is_err() {
        cx.verifier_break(
            None,
            "WdfRequestSend (synchronous): the target did not complete the request; the \
             simulation cancels it",
        );
        let _ = cx.kernel.cancel(irp);
        let _ = completed.recv_timeout(SYNC_WAIT);
    }
    let returned = take_back(cx, request, irp).ok_or(NtStatus::INVALID_HANDLE)?;
    if routine.is_some() {
        call_routine(cx, request, routine, context, &returned);
    }
    Ok(())
}

/// How long a synchronous send waits for its target before the simulation reports it.
const SYNC_WAIT: core::time::Duration = core::time::Duration::from_secs(10);

/// `VerifyPreProcessSendAndForget`: a create that got a `WDFFILEOBJECT` must come back
/// through the framework (its status decides whether the file object lives), so sending it and
/// forgetting it is a verifier error.
fn warn_forgotten_create(cx: &Cx, request: Handle) {
    let create_with_file = {
        let state = cx.lock();
        state
            .objects
            .get(request)
            .and_then(Object::request)
            .filter(|r| r.request_type == RequestType::WdfRequestTypeCreate)
            .and_then(|r| state.objects.get(r.device))
            .and_then(Object::device)
            .is_some_and(|d| d.file.has_file_objects())
    };
    if create_with_file {
        cx.verifier_break(
            None,
            "WdfRequestSend: a create request that has a WDFFILEOBJECT cannot be sent and \
             forgotten; it needs a completion routine and must be post-processed",
        );
    }
}

/// `WdfRequestFormatRequestUsingCurrentType`: the next stack location is a copy of the current
/// one (`IoCopyCurrentIrpStackLocationToNext`).
pub(crate) fn format_using_current_type(cx: &Cx, request: Handle) {
    let Some(irp) = with_request(cx, request, |info| {
        info.formatted = true;
        info.irp
    }) else {
        return;
    };
    cx.kernel.copy_current_location_to_next(irp);
}

/// A sent request came back: its buffers and status from the IRP, then the driver's
/// completion routine with `WDF_REQUEST_COMPLETION_PARAMS`.
fn sent_request_completed(cx: &Cx, request: Handle, irp: IrpId) {
    let Some(returned) = take_back(cx, request, irp) else {
        return;
    };
    // `ClearCompletionRoutine`, `ClearCompletionContext`: the routine runs once, and a later
    // send sets its own.
    let Some((routine, context)) = with_request(cx, request, |info| {
        (
            info.completion.take(),
            core::mem::take(&mut info.completion_context),
        )
    }) else {
        return;
    };
    call_routine(cx, request, routine, context, &returned);
}

/// The request is the driver's again, with what the target returned in the IRP: buffers,
/// status and information (`CompleteSubmitted`).
fn take_back(cx: &Cx, request: Handle, irp: IrpId) -> Option<Returned> {
    let k = &cx.kernel;
    let (status, information) = (k.status(irp), k.information(irp));
    let system = k.system_buffer(irp);
    let mdl = k.mdl_buffer(irp);
    with_request(cx, request, |info| {
        info.system.write(0, &system);
        info.mdl.write(0, &mdl);
        info.status = status;
        info.information = information;
        info.owner = Owner::Driver(std::thread::current().id());
        info.formatted = false;
        Returned {
            status,
            information,
            request_type: info.request_type,
            device: info.device,
            parameters: info.parameters,
        }
    })
}

/// What a sent request came back with, for its completion routine's parameters.
struct Returned {
    status: NtStatus,
    information: usize,
    request_type: RequestType::Type,
    device: Handle,
    parameters: Parameters,
}

/// Calls the driver's completion routine of a request back from its target, with
/// `WDF_REQUEST_COMPLETION_PARAMS` (a created request's output memory gets the returned
/// bytes first).
fn call_routine(
    cx: &Cx,
    request: Handle,
    routine: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    context: crate::ffi::memory::DriverPointer,
    returned: &Returned,
) {
    let created = super::created::copy_back(cx, request, returned.information);
    let target = super::device::io_target(cx, returned.device);
    callbacks::evt_request_completion(
        routine,
        request,
        target,
        &callbacks::Completion {
            request_type: returned.request_type,
            status: returned.status,
            information: returned.information,
            code: returned.parameters.code,
            length: returned.parameters.length,
            // A request formatted by a target reports what came back (`CopyParameters`).
            output_length: if created.is_some() {
                returned.information
            } else {
                returned.parameters.output_length
            },
            input: created.and_then(|c| c.input),
            output: created.and_then(|c| c.output),
        },
        context,
    );
}
