//! `FxRequest`: a request around an IRP the framework pended, from arrival to completion
//! (shared/core/fxrequest.cpp, fxrequestapi.cpp, fxrequestbase.cpp; cancellation in
//! shared/irphandlers/io/fxioqueue.cpp and shared/core/fxirpqueue.cpp).
//!
//! The request's buffers are the framework's copies of the IRP's (the system buffer, the
//! pages the MDL describes), lent to the driver by address; they are written back into the IRP
//! when the request is completed or sent, and read again when a sent request comes back.
//! Sending a request to a target, and taking it back, is [`send`](super::send).

use std::format;
use std::sync::Arc;
use std::thread::ThreadId;
use std::vec::Vec;

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, IrpId, IrpParameters, KernelCalls};

use super::lifecycle;
use super::objects::{Body, Handle, Life, Object};
use super::queue;
use super::{Cx, Image, State};
use crate::ffi::bindings::{
    _WDF_REQUEST_TYPE as RequestType, PFN_WDF_REQUEST_CANCEL, PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    WDF_REQUEST_TYPE,
};
use crate::ffi::callbacks;
use crate::ffi::memory::Block;

/// Who has the request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Owner {
    /// Not yet queued (being routed).
    Framework,
    /// Waiting in its queue.
    Queued,
    /// Taken off its queue by a cancellation; the queue's cancel routine completes it.
    CancelledInQueue,
    /// Presented to or retrieved by the driver, on this thread.
    Driver(ThreadId),
    /// Sent to an I/O target; back in the driver's hands in its completion routine.
    Sent,
    /// Completed (or sent and forgotten): only references keep the object.
    Done,
}

/// A driver-owned request of a power-managed queue while the queue powers down.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StopState {
    /// Not being stopped.
    None,
    /// Being stopped: the power-down waits until it is acknowledged (in its `EvtIoStop`) or
    /// completed.
    Notified,
    /// `WdfRequestStopAcknowledge(Requeue = FALSE)`: still the driver's; `EvtIoResume` when
    /// the queue powers on.
    Acknowledged,
}

/// How a buffer reaches the driver.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Method {
    Buffered,
    Direct,
    Neither,
}

/// The parameters of the request's stack location.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Parameters {
    /// Read or write length.
    pub(crate) length: usize,
    pub(crate) offset: i64,
    pub(crate) output_length: usize,
    pub(crate) input_length: usize,
    pub(crate) code: u32,
}

/// `FxRequest`.
pub(crate) struct RequestBody {
    pub(crate) irp: IrpId,
    pub(crate) device: Handle,
    pub(crate) request_type: WDF_REQUEST_TYPE,
    pub(crate) minor: u8,
    pub(crate) parameters: Parameters,
    pub(crate) user_mode: bool,
    /// Reads and writes: the device's buffering; IOCTLs: the transfer method of the code.
    pub(crate) method: Method,
    pub(crate) system: Block,
    pub(crate) mdl: Block,
    pub(crate) information: usize,
    /// `IoStatus.Status` as the request last knew it (`WdfRequestGetStatus`).
    pub(crate) status: NtStatus,
    pub(crate) owner: Owner,
    /// `m_IoQueue`: the queue that queued or presented it.
    pub(crate) queue: Option<Handle>,
    /// `m_Presented`.
    pub(crate) presented: bool,
    /// The driver's cancel routine while the request is cancelable.
    pub(crate) cancel: PFN_WDF_REQUEST_CANCEL,
    /// `m_Canceled`: the framework cancelled it (a purge).
    pub(crate) canceled: bool,
    /// `m_PowerStopState`, with `FXREQUEST_FLAG_DRIVER_IN_EVTIOSTOP_CONTEXT`: where the request
    /// is in its queue's power-down (`queue_power.rs`).
    pub(crate) stop: StopState,
    /// `FXREQUEST_FLAG_DRIVER_IN_EVTIOSTOP_CONTEXT`: set just before the request's `EvtIoStop`,
    /// cleared when its acknowledgement is taken.
    pub(crate) in_evt_io_stop: bool,
    pub(crate) completion: PFN_WDF_REQUEST_COMPLETION_ROUTINE,
    pub(crate) completion_context: crate::ffi::memory::DriverPointer,
    /// `m_NextStackLocationFormatted`.
    pub(crate) formatted: bool,
    /// A request the driver made (`WdfRequestCreate`); `None` for one around an IRP that came
    /// in.
    pub(crate) created: Option<super::created::Created>,
}

impl RequestBody {
    /// A read or write of zero bytes.
    pub(crate) const fn is_zero_length(&self) -> bool {
        matches!(
            self.request_type,
            RequestType::WdfRequestTypeRead | RequestType::WdfRequestTypeWrite
        ) && self.parameters.length == 0
    }

    pub(crate) const fn driver_owned(&self) -> bool {
        matches!(self.owner, Owner::Driver(_))
    }

    /// On `m_DriverOwned` as KMDF counts it: in the driver's hands, or sent by it to a target.
    pub(crate) const fn driver_owned_or_sent(&self) -> bool {
        matches!(self.owner, Owner::Driver(_) | Owner::Sent)
    }
}

/// The `WDFREQUEST_TYPE` name of a request type, for reports.
pub(crate) const fn type_name(request_type: WDF_REQUEST_TYPE) -> &'static str {
    match request_type {
        RequestType::WdfRequestTypeCreate => "create",
        RequestType::WdfRequestTypeRead => "read",
        RequestType::WdfRequestTypeWrite => "write",
        RequestType::WdfRequestTypeDeviceControl => "device control",
        RequestType::WdfRequestTypeDeviceControlInternal => "internal device control",
        _ => "other",
    }
}

/// The request type of a major function.
pub(crate) const fn request_type_of(major: u8) -> WDF_REQUEST_TYPE {
    major as WDF_REQUEST_TYPE
}

/// A request for the IRP at `wdm`'s stack location (`FxRequest::_CreateForPackage`), with the
/// IRP's buffers copied in.
pub(crate) fn new_request(
    cx: &Cx,
    device: Handle,
    wdm: DeviceId,
    irp: IrpId,
) -> Result<Handle, NtStatus> {
    let k = &cx.kernel;
    let view = k.view(irp);
    let request_type = request_type_of(view.major);
    let buffering = k.flags(wdm);
    let read_write_method = if buffering & wdm_compat::host::flags::DO_BUFFERED_IO != 0 {
        Method::Buffered
    } else if buffering & wdm_compat::host::flags::DO_DIRECT_IO != 0 {
        Method::Direct
    } else {
        Method::Neither
    };
    let (parameters, method) = match view.parameters {
        IrpParameters::Read { length, offset } | IrpParameters::Write { length, offset } => (
            Parameters {
                length: length as usize,
                offset,
                ..Parameters::default()
            },
            read_write_method,
        ),
        IrpParameters::DeviceControl {
            output_length,
            input_length,
            code,
        } => (
            Parameters {
                output_length: output_length as usize,
                input_length: input_length as usize,
                code,
                ..Parameters::default()
            },
            match code & 3 {
                0 => Method::Buffered,
                3 => Method::Neither,
                _ => Method::Direct,
            },
        ),
        IrpParameters::Power { .. } | IrpParameters::Other => {
            (Parameters::default(), Method::Buffered)
        }
    };
    let system =
        Block::from_bytes(&k.system_buffer(irp)).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let mdl = Block::from_bytes(&k.mdl_buffer(irp)).ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
    let body = Body::Request(RequestBody {
        irp,
        device,
        request_type,
        minor: view.minor,
        parameters,
        user_mode: view.from_user_mode,
        method,
        system,
        mdl,
        information: 0,
        status: view.status,
        owner: Owner::Framework,
        queue: None,
        presented: false,
        cancel: None,
        canceled: false,
        stop: StopState::None,
        in_evt_io_stop: false,
        completion: None,
        completion_context: crate::ffi::memory::DriverPointer::default(),
        formatted: false,
        created: None,
    });
    // `WdfDeviceInitSetRequestAttributes`: every request of the device gets that context.
    let attributes = cx
        .lock()
        .objects
        .get(device)
        .and_then(Object::device)
        .and_then(|d| d.request_attributes);
    lifecycle::create_object(cx, None, attributes.as_ref(), body)
}

/// A copy of the request's parameters.
pub(crate) fn parameters(cx: &Cx, request: Handle) -> Parameters {
    cx.lock()
        .objects
        .get(request)
        .and_then(Object::request)
        .map(|r| r.parameters)
        .unwrap_or_default()
}

// ---- queued requests and their cancellation ----------------------------------------------------

/// Puts a request at the tail of `queue`, with the queue's IRP cancel routine
/// (`FxIrpQueue::_WdmCancelRoutineInternal`), under the framework's lock so no dispatch loop
/// sees it before the routine is set.
pub(crate) fn enqueue_locked(
    cx: &Cx,
    state: &mut State,
    queue: Handle,
    request: Handle,
) -> Option<IrpId> {
    let info = state
        .objects
        .get_mut(request)
        .and_then(|o| o.request_mut())?;
    info.owner = Owner::Queued;
    info.queue = Some(queue);
    let irp = info.irp;
    if let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) {
        body.pending_push(request);
    }
    let image = Arc::clone(&cx.image);
    let _ = cx.kernel.set_cancel_routine(irp, move |k, _device, irp| {
        k.release_cancel_lock(irp);
        let cx = Cx::new(Arc::clone(&image), k.clone());
        let _frame = cx.enter();
        cancelled_in_queue(&cx, request);
    });
    Some(irp)
}

/// A request whose IRP was cancelled before its cancel routine was set is cancelled now
/// (`InsertTailIrpQueue` returning `STATUS_CANCELLED`).
pub(crate) fn cancel_if_already_cancelled(cx: &Cx, request: Handle, irp: IrpId) {
    if cx.kernel.cancel_requested(irp) && cx.kernel.clear_cancel_routine(irp) {
        cancelled_in_queue(cx, request);
    }
}

/// The queue's IRP cancel routine: the request leaves its queue and is completed with
/// `STATUS_CANCELLED` — or, when it was presented to the driver before (a forwarded request)
/// and the queue has `EvtIoCanceledOnQueue`, handed to that callback (`CancelForQueue`).
fn cancelled_in_queue(cx: &Cx, request: Handle) {
    let found = {
        let mut state = cx.lock();
        let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) else {
            return;
        };
        if !matches!(info.owner, Owner::Queued | Owner::CancelledInQueue) {
            return;
        }
        info.canceled = true;
        let queue = info.queue;
        let presented = info.presented;
        if let Some(body) = queue
            .and_then(|q| state.objects.get_mut(q))
            .and_then(|o| o.queue_mut())
        {
            body.unqueue(request);
        }
        queue.map(|q| (q, presented))
    };
    let Some((queue, presented)) = found else {
        return;
    };
    finish_cancel_for_queue(cx, queue, request, presented);
}

fn finish_cancel_for_queue(cx: &Cx, queue: Handle, request: Handle, presented: bool) {
    let on_queue = cx
        .lock()
        .objects
        .get(queue)
        .and_then(Object::queue)
        .and_then(|q| q.callbacks.canceled_on_queue);
    match on_queue {
        Some(callback) if presented => {
            {
                let mut state = cx.lock();
                queue::hand_to_driver_locked(&mut state, queue, request);
            }
            // Under the queue's callback lock (`FxIoQueueIoCanceledOnQueue` is an
            // `FxLockedCallback`).
            let _referenced = super::lifecycle::AroundCallback::new(cx, queue);
            let lock = super::serialization::of_queue(cx, queue);
            let _held = lock.as_ref().map(|lock| lock.acquire(cx));
            callbacks::evt_io_canceled_on_queue(Some(callback), queue, request);
        }
        _ => complete_framework(cx, request, NtStatus::CANCELLED, 0),
    }
    queue::dispatch_internal_events(cx, queue);
}

/// A queue takes a request off its list to present or hand it out: removes the IRP's cancel
/// routine, unless a cancellation already took it (then the cancel routine completes the
/// request, and `false` is returned).
pub(crate) fn take_from_queue_locked(cx: &Cx, state: &mut State, request: Handle) -> bool {
    let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) else {
        return false;
    };
    if cx.kernel.clear_cancel_routine(info.irp) {
        true
    } else {
        info.owner = Owner::CancelledInQueue;
        false
    }
}

/// A purge cancels a waiting request (`CancelForQueue`).
pub(crate) fn cancel_for_queue(cx: &Cx, queue: Handle, request: Handle) {
    let taken = {
        let mut state = cx.lock();
        let taken = take_from_queue_locked(cx, &mut state, request);
        if taken && let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) {
            info.canceled = true;
        }
        taken.then(|| {
            state
                .objects
                .get(request)
                .and_then(Object::request)
                .is_some_and(|r| r.presented)
        })
    };
    if let Some(presented) = taken {
        finish_cancel_for_queue(cx, queue, request, presented);
    }
}

/// The driver-owned requests of `queue` that are cancelable.
pub(crate) fn driver_cancelable_of(cx: &Cx, queue: Handle) -> Vec<Handle> {
    let state = cx.lock();
    state
        .objects
        .of_image(cx.image.id)
        .filter(|(_, o)| {
            o.request()
                .is_some_and(|r| r.queue == Some(queue) && r.driver_owned() && r.cancel.is_some())
        })
        .map(|(h, _)| h)
        .collect()
}

/// A request the framework hands to the driver outside any queue (the create request of
/// `EvtDeviceFileCreate`): the driver owns it, and `WdfRequestGetIoQueue` finds no queue.
pub(crate) fn hand_to_driver(cx: &Cx, request: Handle) {
    let mut state = cx.lock();
    if let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) {
        info.owner = Owner::Driver(std::thread::current().id());
        info.queue = None;
        info.presented = true;
    }
}

/// The driver-owned requests of `queue`: handle, the thread that got them, their type.
pub(crate) fn driver_owned_of(
    state: &State,
    queue: Handle,
) -> Vec<(Handle, ThreadId, WDF_REQUEST_TYPE)> {
    let Some(image) = state.objects.get(queue).map(|o| o.image) else {
        return Vec::new();
    };
    state
        .objects
        .of_image(image)
        .filter_map(|(h, o)| {
            let r = o.request()?;
            match r.owner {
                Owner::Driver(holder) if r.queue == Some(queue) => {
                    Some((h, holder, r.request_type))
                }
                _ => None,
            }
        })
        .collect()
}

/// The framework cancels a driver-cancelable request (`CancelForDriver`): the driver's
/// `EvtRequestCancel` runs, unless the IRP's own cancellation got there first.
pub(crate) fn cancel_for_driver(cx: &Cx, request: Handle) {
    let routine = {
        let mut state = cx.lock();
        let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) else {
            return;
        };
        if info.cancel.is_none() || !cx.kernel.clear_cancel_routine(info.irp) {
            return;
        }
        info.canceled = true;
        info.cancel.take()
    };
    cancel_serialized(cx, routine, request);
}

/// `EvtRequestCancel` under the callback lock of the request's queue, if it has one
/// (`m_IoCancelCallbackLockPtr`).
fn cancel_serialized(cx: &Cx, routine: PFN_WDF_REQUEST_CANCEL, request: Handle) {
    let queue = with_request(cx, request, |info| info.queue).flatten();
    let lock = queue.and_then(|queue| super::serialization::of_queue(cx, queue));
    let _held = lock.as_ref().map(|lock| lock.acquire(cx));
    callbacks::evt_request_cancel(routine, request);
}

/// The IRP cancel routine of a driver-cancelable request: the driver's `EvtRequestCancel`.
fn cancelled_by_sender(cx: &Cx, request: Handle) {
    let routine = {
        let mut state = cx.lock();
        let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) else {
            return;
        };
        info.cancel.take()
    };
    cancel_serialized(cx, routine, request);
}

// ---- the driver's DDIs -------------------------------------------------------------------------

/// Checks that the driver owns `request` (`VerifyRequestIsDriverOwned`); a verifier break
/// otherwise.
pub(crate) fn verify_driver_owned(cx: &Cx, ddi: &str, request: Handle) -> bool {
    let (owned, done) = cx
        .lock()
        .objects
        .get(request)
        .and_then(Object::request)
        .map_or((false, false), |info| {
            (info.driver_owned(), matches!(info.owner, Owner::Done))
        });
    if !owned {
        cx.verifier_break(
            after_completion_rule(ddi, done),
            &format!("{ddi}: the request is not owned by the driver (completed, queued or sent)"),
        );
    }
    owned
}

/// The SDV rule a call on a request the driver no longer owns breaks, when it is because the
/// request was completed (a driver holding a reference keeps the object, so KMDF's ownership
/// check, not the handle check, sees it): completing again, or any other use.
fn after_completion_rule(ddi: &str, done: bool) -> Option<&'static str> {
    match (done, ddi.starts_with("WdfRequestComplete")) {
        (false, _) => None,
        (true, true) => Some("DoubleCompletion"),
        (true, false) => Some("InvalidReqAccess"),
    }
}

/// `WdfRequestCompleteWithInformation` by the driver (`VerifyRequestComplete`,
/// `VerifyCompleteInternal`): the request must be the driver's and not cancelable, and on
/// success `Information` must fit the buffer; then completion.
pub(crate) fn complete_by_driver(cx: &Cx, request: Handle, status: NtStatus, information: usize) {
    if !verify_driver_owned(cx, "WdfRequestComplete", request) {
        return;
    }
    super::pnp::check_not_in_surprise_removal(
        cx,
        "EvtSurpriseRemoveNoRequestComplete",
        "WdfRequestComplete",
    );
    let (cancelable, limit) = {
        let state = cx.lock();
        let Some(info) = state.objects.get(request).and_then(Object::request) else {
            return;
        };
        let limit = match info.request_type {
            RequestType::WdfRequestTypeRead | RequestType::WdfRequestTypeWrite => {
                Some(info.parameters.length)
            }
            RequestType::WdfRequestTypeDeviceControl
                if info.user_mode && info.parameters.output_length > 0 =>
            {
                Some(info.parameters.output_length)
            }
            _ => None,
        };
        (info.cancel.is_some(), limit)
    };
    if cancelable {
        // FxRequest::Vf_VerifyCompleteInternal: a break, and the completion goes ahead.
        cx.verifier_break(
            Some("ReqNotCanceledLocal"),
            "WdfRequestComplete on a cancelable request: call WdfRequestUnmarkCancelable first",
        );
    }
    let checked = !status.is_error() && !status.is_warning();
    if checked
        && let Some(limit) = limit
        && information > limit
    {
        cx.bug_check(
            Some("WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH"),
            [
                super::verifier::REQUEST_FATAL_ERROR,
                super::verifier::INFORMATION_LENGTH_MISMATCH,
                0,
                0,
            ],
            &format!("request completed with Information {information} > buffer length {limit}"),
        );
    }
    complete(cx, request, status, information, "the driver");
}

/// The framework completes a request the driver never saw.
pub(crate) fn complete_framework(cx: &Cx, request: Handle, status: NtStatus, information: usize) {
    complete(cx, request, status, information, "the framework");
}

/// A request that never reached a queue's list.
pub(crate) fn complete_unpresented(cx: &Cx, request: Handle, status: NtStatus) {
    complete_framework(cx, request, status, 0);
}

/// The framework's translation of its own statuses at completion (`CompleteInternal`).
fn translate(status: NtStatus) -> NtStatus {
    const FACILITY_DRIVER_FRAMEWORK: u16 = 0x020;
    if status.facility() != FACILITY_DRIVER_FRAMEWORK || !status.is_error() {
        status
    } else if status == NtStatus::WDF_PAUSED || status == NtStatus::WDF_BUSY {
        NtStatus::DEVICE_BUSY
    } else if status == NtStatus::WDF_INTERNAL_ERROR {
        NtStatus::INTERNAL_ERROR
    } else if status == NtStatus::WDF_NOT_ENOUGH_MAP_REGISTERS {
        NtStatus::INSUFFICIENT_RESOURCES
    } else {
        NtStatus::INVALID_DEVICE_REQUEST
    }
}

/// Writes the request's buffers back into its IRP.
pub(crate) fn write_back(k: &KernelCalls, irp: IrpId, system: &[u8], mdl: &[u8]) {
    if !system.is_empty() {
        let _ = k.write_system_buffer(irp, 0, system);
    }
    if !mdl.is_empty() {
        let _ = k.write_mdl_buffer(irp, 0, mdl);
    }
}

/// `FxRequest::CompleteInternal`: translate, the request's cleanup, the buffers back into the
/// IRP, `IoCompleteRequest`, then the queue's bookkeeping (`RequestCompletedCallback`, which may
/// present the next request) and the request's destruction.
pub(crate) fn complete(cx: &Cx, request: Handle, status: NtStatus, information: usize, _by: &str) {
    let status = translate(status);
    let taken = {
        let mut state = cx.lock();
        let Some(object) = state.objects.get_mut(request) else {
            return;
        };
        let Some(info) = object.request_mut() else {
            return;
        };
        if info.owner == Owner::Done {
            return;
        }
        let was_driver_owned = info.driver_owned();
        info.owner = Owner::Done;
        info.status = status;
        info.information = information;
        let queue = info.queue.take().filter(|_| was_driver_owned);
        let taken = (info.irp, info.system.to_vec(), info.mdl.to_vec(), queue);
        object.life = Life::Disposed;
        if let Some(body) = queue
            .and_then(|q| state.objects.get_mut(q))
            .and_then(|o| o.queue_mut())
        {
            body.release_one();
        }
        (taken, lifecycle::cleanup_callbacks(&state, request))
    };
    let ((irp, system, mdl, queue), cleanup) = taken;
    lifecycle::run_cleanup_callbacks(request, cleanup);
    write_back(&cx.kernel, irp, &system, &mdl);
    // A failed create takes its file object with it (`FxPkgGeneral::CreateCompleted`, from
    // within the completion).
    let failed_create = (status.to_raw() < 0)
        .then(|| {
            let state = cx.lock();
            let r = state.objects.get(request).and_then(Object::request)?;
            (r.request_type == RequestType::WdfRequestTypeCreate).then_some(r.device)
        })
        .flatten()
        .and_then(|device| Some((device, cx.kernel.file_object(irp)?)));
    cx.kernel.complete_for_client(irp, status, information);
    if let Some((device, file)) = failed_create
        && let Some(file) = super::file::find(cx, device, file)
    {
        lifecycle::delete_object(cx, file, "a failed create");
    }
    cx.fx().notify_released();
    if let Some(queue) = queue {
        queue::dispatch_internal_events(cx, queue);
    }
    lifecycle::destroy_if_unreferenced(cx, request);
}

/// `WdfRequestGetInformation` / `WdfRequestSetInformation` / `WdfRequestGetStatus` read and
/// write the request's fields.
pub(crate) fn with_request<R>(
    cx: &Cx,
    request: Handle,
    f: impl FnOnce(&mut RequestBody) -> R,
) -> Option<R> {
    let mut state = cx.lock();
    let info = state.objects.get_mut(request)?.request_mut()?;
    Some(f(info))
}

/// Which buffer a retrieval asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Buffer {
    Input,
    Output,
}

/// `WdfRequestRetrieveInputBuffer` / `WdfRequestRetrieveOutputBuffer` (`GetMemoryObject`,
/// `GetDeviceControlOutputMemoryObject`): the buffer's address and length.
pub(crate) fn retrieve(
    cx: &Cx,
    request: Handle,
    which: Buffer,
    minimum: usize,
) -> Result<(*mut u8, usize), NtStatus> {
    let state = cx.lock();
    let info = state
        .objects
        .get(request)
        .and_then(Object::request)
        .ok_or(NtStatus::INVALID_HANDLE)?;
    let p = info.parameters;
    let (length, method) = match (info.request_type, which) {
        (RequestType::WdfRequestTypeRead, Buffer::Input)
        | (RequestType::WdfRequestTypeWrite, Buffer::Output) => {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        (RequestType::WdfRequestTypeRead | RequestType::WdfRequestTypeWrite, _) => {
            (p.length, info.method)
        }
        // An internal METHOD_NEITHER IOCTL's input is `Type3InputBuffer`, the kernel-mode
        // sender's memory (TYPE3_INPUT_BUFFER), which this simulation keeps with the IRP's
        // system buffer; a user-mode caller's is refused.
        (RequestType::WdfRequestTypeDeviceControlInternal, Buffer::Input) => {
            (p.input_length, Method::Buffered)
        }
        (RequestType::WdfRequestTypeDeviceControl, Buffer::Input) => (
            p.input_length,
            if info.method == Method::Neither {
                Method::Neither
            } else {
                Method::Buffered
            },
        ),
        (
            RequestType::WdfRequestTypeDeviceControl
            | RequestType::WdfRequestTypeDeviceControlInternal,
            Buffer::Output,
        ) => (p.output_length, info.method),
        _ => return Err(NtStatus::INVALID_DEVICE_REQUEST),
    };
    if length == 0 || length < minimum {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    let block = match method {
        Method::Buffered => &info.system,
        Method::Direct => &info.mdl,
        // The caller's own memory: this simulation has none to lend, and for a user-mode
        // caller KMDF refuses it too.
        Method::Neither => return Err(NtStatus::INVALID_DEVICE_REQUEST),
    };
    if block.len() < length {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    Ok((block.as_ptr(), length))
}

/// `WdfRequestForwardToIoQueue` (`VerifyForwardRequest`, `ForwardRequestWorker`).
pub(crate) fn forward_to_queue(cx: &Cx, request: Handle, destination: Handle) -> NtStatus {
    let refusal = {
        let state = cx.lock();
        let Some(info) = state.objects.get(request).and_then(Object::request) else {
            return NtStatus::INVALID_HANDLE;
        };
        let Some(target) = state.objects.get(destination).and_then(Object::queue) else {
            return NtStatus::INVALID_HANDLE;
        };
        if !info.driver_owned() {
            Some((
                after_completion_rule(
                    "WdfRequestForwardToIoQueue",
                    matches!(info.owner, Owner::Done),
                ),
                "the request is not owned by the driver",
            ))
        } else if info.cancel.is_some() {
            // Vf_VerifyForwardRequest → VerifyRequestIsNotCancelable (fxioqueue.cpp).
            Some((Some("ReqMarkCancelableSend"), "the request is cancelable"))
        } else if info.queue == Some(destination) {
            Some((None, "cannot forward a request to the same WDFQUEUE"))
        } else if target.device != info.device {
            Some((None, "the destination queue belongs to another device"))
        } else if !target.accepts() {
            return NtStatus::WDF_BUSY;
        } else {
            None
        }
    };
    if let Some((rule, why)) = refusal {
        cx.verifier_break(rule, &format!("WdfRequestForwardToIoQueue: {why}"));
        return NtStatus::INVALID_DEVICE_REQUEST;
    }
    let source = {
        let mut state = cx.lock();
        let source = state
            .objects
            .get_mut(request)
            .and_then(|o| o.request_mut())
            .and_then(|info| info.queue.take());
        if let Some(body) = source
            .and_then(|q| state.objects.get_mut(q))
            .and_then(|o| o.queue_mut())
        {
            body.release_one();
        }
        let irp = enqueue_locked(cx, &mut state, destination, request);
        (source, irp)
    };
    let (source, irp) = source;
    cx.fx().notify_released();
    if let Some(irp) = irp {
        cancel_if_already_cancelled(cx, request, irp);
    }
    queue::dispatch_events(cx, destination);
    if let Some(source) = source {
        queue::dispatch_internal_events(cx, source);
    }
    NtStatus::SUCCESS
}

/// `WdfRequestMarkCancelableEx` (`FxIoQueue::RequestCancelable`): `STATUS_CANCELLED` without
/// calling the routine when the request was cancelled already (or its queue is being purged).
pub(crate) fn mark_cancelable(
    cx: &Cx,
    request: Handle,
    routine: PFN_WDF_REQUEST_CANCEL,
) -> NtStatus {
    let irp = {
        let mut state = cx.lock();
        let Some(info) = state.objects.get(request).and_then(Object::request) else {
            return NtStatus::INVALID_HANDLE;
        };
        let refusal = if !info.driver_owned() {
            Some((
                after_completion_rule(
                    "WdfRequestMarkCancelableEx",
                    matches!(info.owner, Owner::Done),
                ),
                "the request is not owned by the driver",
            ))
        } else if info.cancel.is_some() {
            // VerifyRequestIsNotCancelable (fxrequest.cpp), from Vf_VerifyRequestCancelable.
            Some((
                Some("MarkCancOnCancReqLocal"),
                "the request is cancelable already",
            ))
        } else if info.queue.is_none() {
            Some((None, "the request did not come from a queue"))
        } else {
            None
        };
        if let Some((rule, why)) = refusal {
            drop(state);
            cx.verifier_break(rule, &format!("WdfRequestMarkCancelableEx: {why}"));
            return NtStatus::INVALID_DEVICE_REQUEST;
        }
        let purging = info
            .queue
            .and_then(|q| state.objects.get(q))
            .and_then(Object::queue)
            .is_some_and(|q| q.cancel_dispatched());
        let irp = info.irp;
        if purging || cx.kernel.cancel_requested(irp) {
            return NtStatus::CANCELLED;
        }
        if let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) {
            info.cancel = routine;
        }
        irp
    };
    let image: Arc<Image> = Arc::clone(&cx.image);
    let _ = cx.kernel.set_cancel_routine(irp, move |k, _device, irp| {
        k.release_cancel_lock(irp);
        let cx = Cx::new(Arc::clone(&image), k.clone());
        let _frame = cx.enter();
        cancelled_by_sender(&cx, request);
    });
    // Cancelled between the check and the routine being set: whoever clears it owns it.
    if cx.kernel.cancel_requested(irp) && cx.kernel.clear_cancel_routine(irp) {
        let _ = with_request(cx, request, |info| info.cancel = None);
        return NtStatus::CANCELLED;
    }
    NtStatus::SUCCESS
}

/// `WdfRequestUnmarkCancelable`: `STATUS_CANCELLED` once a cancellation took the request (its
/// cancel routine has run or is about to).
pub(crate) fn unmark_cancelable(cx: &Cx, request: Handle) -> NtStatus {
    let irp = {
        let state = cx.lock();
        let Some(info) = state.objects.get(request).and_then(Object::request) else {
            return NtStatus::INVALID_HANDLE;
        };
        if !info.driver_owned() || (info.cancel.is_none() && !info.canceled) {
            drop(state);
            cx.verifier_break(
                None,
                "WdfRequestUnmarkCancelable: the request is not a cancelable request of the driver",
            );
            return NtStatus::INVALID_DEVICE_REQUEST;
        }
        if info.cancel.is_none() {
            return NtStatus::CANCELLED;
        }
        info.irp
    };
    if cx.kernel.clear_cancel_routine(irp) {
        let _ = with_request(cx, request, |info| info.cancel = None);
        NtStatus::SUCCESS
    } else {
        NtStatus::CANCELLED
    }
}

/// `WdfRequestIsCanceled`: the IRP's `Cancel`, or a cancellation by the framework.
pub(crate) fn is_canceled(cx: &Cx, request: Handle) -> bool {
    let Some((irp, canceled)) = with_request(cx, request, |info| (info.irp, info.canceled)) else {
        return false;
    };
    canceled || cx.kernel.cancel_requested(irp)
}

/// `WdfRequestGetIoQueue`: the request's queue; none once completed.
pub(crate) fn io_queue(cx: &Cx, request: Handle) -> Option<Handle> {
    with_request(cx, request, |info| {
        if info.owner == Owner::Done {
            None
        } else {
            info.queue
        }
    })
    .flatten()
}
