//! `WDFREQUEST` and `WDFIOTARGET`: parameters, buffers, completion, forwarding and sending
//! (cancelable requests: [`cancel`](super::cancel)).

use alloc::vec::Vec;
use core::any::Any;
use core::ffi::c_void;
use core::ptr::{self, NonNull};

use super::contexts::ObjectHead;
use super::device::DeviceRecord;
use super::driver::driver_of_type;
use super::live::Held;
use super::queue::QueueHandle;
use super::record::{ContextGuard, Ticket};
use super::wdk_sys::{
    self, PWDF_REQUEST_COMPLETION_PARAMS, WDF_REQUEST_PARAMETERS, WDF_REQUEST_SEND_OPTIONS,
    WDFCONTEXT, WDFIOTARGET, WDFREQUEST, call_unsafe_wdf_function_binding,
};
use super::{enum_flags, guarded, record_of, registered_queue};
use crate::sys::{ContextTypeInfo, DriverCallbacks, RequestType, SendBuffer, SentCallback};
use wdm_compat::{IoControlCode, NtResult, NtStatus, Parameters};

/// `WdfRequestGetParameters`.
fn parameters_of(request: WDFREQUEST) -> WDF_REQUEST_PARAMETERS {
    // WDF_REQUEST_PARAMETERS_INIT: zeroed, with its size.
    let mut parameters = WDF_REQUEST_PARAMETERS {
        Size: size_of::<WDF_REQUEST_PARAMETERS>() as u16,
        ..WDF_REQUEST_PARAMETERS::default()
    };
    // SAFETY: the caller owns the live request; the out-structure is a local.
    unsafe {
        call_unsafe_wdf_function_binding!(WdfRequestGetParameters, request, &mut parameters);
    }
    parameters
}

/// The crate's request type of `Type`, `None` for the types it does not present.
fn request_type_from(wdf_type: wdk_sys::WDF_REQUEST_TYPE) -> Option<RequestType> {
    use wdk_sys::_WDF_REQUEST_TYPE as T;
    match wdf_type {
        T::WdfRequestTypeCreate => Some(RequestType::Create),
        T::WdfRequestTypeRead => Some(RequestType::Read),
        T::WdfRequestTypeWrite => Some(RequestType::Write),
        T::WdfRequestTypeDeviceControl => Some(RequestType::DeviceControl),
        T::WdfRequestTypeDeviceControlInternal => Some(RequestType::InternalDeviceControl),
        _ => None,
    }
}

/// The crate's request type of a request, `None` for the types it does not present.
pub(super) fn request_type_of(request: WDFREQUEST) -> Option<RequestType> {
    request_type_from(parameters_of(request).Type)
}

/// `WdfIoQueueGetDevice` of a live queue.
pub(super) fn device_of(queue: wdk_sys::WDFQUEUE) -> wdk_sys::WDFDEVICE {
    // SAFETY: the caller passes a live queue (a request's, or one the crate created).
    unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueGetDevice, queue) }
}

/// Completes a request the crate will not present.
pub(super) fn refuse(request: WDFREQUEST, status: NtStatus) {
    // SAFETY: the framework just handed the request to the driver, which owns it.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfRequestCompleteWithInformation,
            request,
            status.to_raw(),
            0
        );
    }
}

/// A `WDFREQUEST` lent to `EvtIoStop` or `EvtIoResume`: the driver owns the request
/// elsewhere (it was sent, or left to its cancel routine), so this is not an owner, only what
/// the callback may do with it. The typed layer keeps it inside the callback.
#[derive(Clone, Copy)]
pub(crate) struct RequestRef(NonNull<wdk_sys::WDFREQUEST__>);

impl RequestRef {
    /// The request KMDF passed to the callback.
    pub(super) fn lent(request: WDFREQUEST) -> Option<Self> {
        NonNull::new(request).map(Self)
    }

    /// `WdfRequestStopAcknowledge(Requeue = FALSE)`: the driver keeps the request; the queue
    /// may power down, and `EvtIoResume` follows when it powers up.
    pub(crate) fn stop_acknowledge(self) {
        // Called inside the request's `EvtIoStop` (the typed layer brands the handle to that
        // call), where KMDF holds a reference on the request (`FxIoQueue::ProcessPowerEvents`,
        // `FXREQUEST_HOLD_TAG`).
        // SAFETY: so it is live even if a completion raced the callback; not requeueing leaves
        // its ownership where it was.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestStopAcknowledge, self.0.as_ptr(), 0) };
    }
}

/// `WDFREQUEST`, owned by the driver: one pointer, like the handle it is.
pub(crate) struct RequestHandle(pub(super) NonNull<wdk_sys::WDFREQUEST__>);

impl RequestHandle {
    /// A request the framework presented to the callback of its type.
    pub(super) fn presented(request: WDFREQUEST, _request_type: RequestType) -> Option<Self> {
        NonNull::new(request).map(Self)
    }

    /// Takes ownership of a request the driver retrieved; one of a type the crate does not
    /// present is completed with `STATUS_INVALID_DEVICE_REQUEST`.
    pub(super) fn accept(request: WDFREQUEST) -> Option<Self> {
        let handle = NonNull::new(request)?;
        if request_type_of(request).is_none() {
            refuse(request, NtStatus::INVALID_DEVICE_REQUEST);
            return None;
        }
        Some(Self(handle))
    }

    /// The `WDFREQUEST`.
    pub(super) const fn raw(&self) -> WDFREQUEST {
        self.0.as_ptr()
    }

    /// `WdfRequestGetParameters`'s `Type`.
    pub(crate) fn request_type(&self) -> RequestType {
        // Only the five presented types are ever given a handle, so the fallback is not taken.
        request_type_of(self.raw()).unwrap_or(RequestType::Create)
    }

    /// `WdfRequestGetParameters`.
    pub(crate) fn parameters(&self) -> Parameters {
        let parameters = parameters_of(self.raw());
        match request_type_from(parameters.Type) {
            Some(RequestType::Read) => {
                // SAFETY: for a read, `Type` says the framework filled in `Parameters.Read`.
                let read = unsafe { parameters.Parameters.Read };
                Parameters::Read {
                    length: read.Length,
                    offset: read.DeviceOffset,
                }
            }
            Some(RequestType::Write) => {
                // SAFETY: for a write, the framework filled in `Parameters.Write`.
                let write = unsafe { parameters.Parameters.Write };
                Parameters::Write {
                    length: write.Length,
                    offset: write.DeviceOffset,
                }
            }
            Some(RequestType::DeviceControl | RequestType::InternalDeviceControl) => {
                // SAFETY: for both device controls, the framework filled in
                // `Parameters.DeviceIoControl`.
                let ioctl = unsafe { parameters.Parameters.DeviceIoControl };
                Parameters::DeviceControl {
                    code: IoControlCode::from_raw(ioctl.IoControlCode),
                    input_length: ioctl.InputBufferLength,
                    output_length: ioctl.OutputBufferLength,
                }
            }
            Some(RequestType::Create) | None => Parameters::Other,
        }
    }

    /// `WdfRequestSetInformation`.
    pub(crate) fn set_information(&self, information: usize) {
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetInformation,
                self.raw(),
                information as u64
            );
        }
    }

    /// `WdfRequestGetInformation`.
    pub(crate) fn information(&self) -> usize {
        // SAFETY: the driver owns the live request.
        let information =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetInformation, self.raw()) };
        usize::try_from(information).unwrap_or(usize::MAX)
    }

    /// `WdfRequestCompleteWithInformation`, never with `STATUS_PENDING`
    /// ([`NtStatus::for_completion`]).
    #[inline]
    pub(crate) fn complete(self, status: NtStatus, information: usize) {
        let status = status.for_completion();
        // SAFETY: the driver owns the live request and gives it up here (the handle is
        // consumed).
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestCompleteWithInformation,
                self.raw(),
                status.to_raw(),
                information as u64
            );
        }
    }

    /// `WdfRequestForwardToIoQueue`.
    pub(crate) fn forward_to_queue(self, queue: QueueHandle) -> Result<(), (Self, NtStatus)> {
        let Some(held) = queue.hold() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        let queue = held.raw();
        // KMDF's verifier breaks on a forward to the request's own queue or to a queue of
        // another device (VerifyForwardRequest); the crate refuses them first.
        // SAFETY: the driver owns the live request.
        let source = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, self.raw()) };
        if source == queue || (!source.is_null() && device_of(source) != device_of(queue)) {
            return Err((self, NtStatus::INVALID_DEVICE_REQUEST));
        }
        // SAFETY: the driver owns the live request and the queue is live; on success the queue
        // owns the request.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestForwardToIoQueue, self.raw(), queue)
        };
        match NtStatus::from_raw(status).ok() {
            Ok(()) => Ok(()),
            Err(status) => Err((self, status)),
        }
    }

    /// `WdfRequestGetIoQueue`: the queue that delivered the request (or it was forwarded to).
    pub(super) fn queue(&self) -> Option<wdk_sys::WDFQUEUE> {
        // SAFETY: the driver owns the live request.
        let queue = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, self.raw()) };
        (!queue.is_null()).then_some(queue)
    }

    /// `WdfRequestGetFileObject`: the file object of the open the request came through (the
    /// crate gives every device file objects, so KMDF finds one for any request with a
    /// `FILE_OBJECT`).
    pub(crate) fn file_object(&self) -> Option<super::file::FileRef> {
        // SAFETY: the driver owns the live request.
        let file =
            unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetFileObject, self.raw()) };
        super::file::FileRef::lent(file)
    }

    /// The request's own context (`WdfDeviceInitSetRequestAttributes`), if it is a `T`.
    pub(crate) fn context<T: Any>(&self, info: &'static ContextTypeInfo) -> Option<&T> {
        super::request_context::request_context::<T>(self.raw(), info)
    }

    /// The context of type `T` (type info `info`) of the request's queue.
    pub(crate) fn queue_context<T: Any>(
        &self,
        info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        let queue = self.queue()?;
        // Every queue of the image is the crate's, with a `QueueRecord<D>` that starts with its
        // `ObjectHead` (`repr(C)`), whatever the driver type.
        let head = registered_queue(queue.cast()).map_or_else(
            || record_of::<ObjectHead<wdk_sys::WDFQUEUE__>>(queue.cast()),
            <*const _>::cast,
        );
        // SAFETY: the request's queue lives while the driver owns the request, and so does its
        // record (retired when the queue is destroyed).
        let ticket = unsafe { head.as_ref() }?.ticket;
        // SAFETY: the ticket of a `QueueRecord<D>`, `repr(C)` with its `ObjectHead` first.
        let head = unsafe { ticket.enter_head::<ObjectHead<wdk_sys::WDFQUEUE__>>() }?;
        let value = head.contexts.find::<T>(info)?;
        Some(ContextGuard::new(head, value))
    }

    /// The context of type `T` (type info `info`) of the device of the request's queue
    /// (`WdfIoQueueGetDevice`).
    pub(crate) fn device_context<T: Any>(
        &self,
        info: &'static ContextTypeInfo,
    ) -> Option<ContextGuard<T>> {
        let device = device_of(self.queue()?);
        // The device record starts with its `ObjectHead` (`repr(C)`), whatever the driver type.
        let head = record_of::<ObjectHead<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: the request's device lives while the driver owns the request, and so does
        // its record (retired when the device is destroyed).
        let ticket = unsafe { head.as_ref() }?.ticket;
        // SAFETY: the ticket of a `DeviceRecord<D>`, `repr(C)` with its `ObjectHead` first.
        let head = unsafe { ticket.enter_head::<ObjectHead<wdk_sys::WDFDEVICE__>>() }?;
        let value = head.contexts.find::<T>(info)?;
        Some(ContextGuard::new(head, value))
    }

    /// The default I/O target of the request's device, when it has one (a PnP FDO; KMDF gives
    /// none to control devices).
    pub(crate) fn default_io_target(&self) -> Option<IoTargetHandle> {
        // SAFETY: the driver owns the live request, which was presented by a queue.
        let queue = unsafe { call_unsafe_wdf_function_binding!(WdfRequestGetIoQueue, self.raw()) };
        if queue.is_null() {
            return None;
        }
        let device = device_of(queue);
        // The device record starts with its `ObjectHead` (`repr(C)`), whatever the driver type.
        let head = record_of::<ObjectHead<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: the request's device lives while the driver owns the request, and so does
        // its record.
        let head = unsafe { head.as_ref() }?;
        let target = IoTargetHandle(head.ticket);
        // The request is the driver's, so its device is not disposed: no reference needed.
        let device = head.cell.peek()?;
        // SAFETY: the request's own device, alive while the driver owns the request.
        let raw = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetIoTarget, device) };
        (!raw.is_null()).then_some(target)
    }

    /// `WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET`, as kbfiltr passes
    /// requests down (no formatting: the framework skips the driver's stack location).
    pub(crate) fn send_and_forget(self, target: &IoTargetHandle) -> Result<(), (Self, NtStatus)> {
        let Some((_device, target)) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        let mut options = WDF_REQUEST_SEND_OPTIONS {
            Size: size_of::<WDF_REQUEST_SEND_OPTIONS>() as u32,
            Flags: enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET,
            ),
            Timeout: 0,
        };
        // SAFETY: the driver owns the live request and the target is its device's default
        // target; on TRUE the target owns the request.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestSend, self.raw(), target, &mut options)
        };
        if sent != 0 {
            return Ok(());
        }
        let status = self.status();
        Err((self, status))
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSend` with
    /// `WDF_REQUEST_SEND_OPTION_SYNCHRONOUS` (and a timeout of `timeout_ms`): returns once the
    /// target completed the request, which is the driver's again, with the target's status
    /// (`WdfRequestGetStatus`), `Ok`; `Err` with why when it was not sent. PASSIVE_LEVEL only:
    /// above it the send is refused (`STATUS_INVALID_DEVICE_REQUEST`) without a framework call.
    pub(crate) fn send_synchronously(
        self,
        target: &IoTargetHandle,
        timeout_ms: u32,
    ) -> Result<(Self, NtStatus), (Self, NtStatus)> {
        let irql = crate::sys::current_irql();
        if irql > 0 {
            wdm_compat::kd_print!(
                "a synchronous send refused at IRQL {irql}: it waits, so it needs PASSIVE_LEVEL"
            );
            return Err((self, NtStatus::INVALID_DEVICE_REQUEST));
        }
        let Some((_device, target)) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestFormatRequestUsingCurrentType, self.raw());
        }
        let mut options = WDF_REQUEST_SEND_OPTIONS {
            Size: size_of::<WDF_REQUEST_SEND_OPTIONS>() as u32,
            Flags: enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_SYNCHRONOUS,
            ) | enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_TIMEOUT,
            ),
            // Relative, in 100 ns units (`WDF_REL_TIMEOUT_IN_MS`).
            Timeout: -(i64::from(timeout_ms) * 10_000),
        };
        // SAFETY: the driver owns the live request and the target is its device's default
        // target, held for the call; a synchronous send returns with the request back.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestSend, self.raw(), target, &mut options)
        };
        let status = self.status();
        if sent == 0 {
            Err((self, status))
        } else {
            Ok((self, status))
        }
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSetCompletionRoutine` +
    /// `WdfRequestSend`: the completion routine shows the outcome to the driver (when
    /// `observe`), then completes the request with it.
    pub(crate) fn send_with_completion<D: DriverCallbacks>(
        self,
        target: &IoTargetHandle,
        observe: bool,
    ) -> Result<(), (Self, NtStatus)> {
        let routine: wdk_sys::PFN_WDF_REQUEST_COMPLETION_ROUTINE = Some(if observe {
            evt_request_completion::<D>
        } else {
            evt_request_completion_unobserved
        });
        // The routines need no context.
        self.send_formatted_with(target, routine, ptr::null_mut())
    }

    /// As [`send_with_completion`](Self::send_with_completion), with the driver's own
    /// completion routine `callback`, which gets the request back and finishes it. The
    /// callback travels as the routine's context.
    pub(crate) fn send_with_routine<D: DriverCallbacks, C: SentCallback<D>>(
        self,
        target: &IoTargetHandle,
        callback: C,
    ) -> Result<(), (Self, NtStatus)> {
        const {
            assert!(
                size_of::<C>() == size_of::<WDFCONTEXT>()
                    && align_of::<C>() == align_of::<WDFCONTEXT>(),
                "a completion callback travels as one pointer"
            );
        };
        // SAFETY: `C` is as large and as aligned as a pointer (asserted above) and is a `fn`
        // (the one implementor, `request::Routine`), whose bytes are an initialised,
        // non-null code address; `evt_request_completion_with` turns them back into a `C`.
        let context: WDFCONTEXT = unsafe { core::mem::transmute_copy(&callback) };
        self.send_formatted_with(target, Some(evt_request_completion_with::<D, C>), context)
    }

    /// Formats the request for `target` as it came, sets `routine` with `context`, and sends.
    fn send_formatted_with(
        self,
        target: &IoTargetHandle,
        routine: wdk_sys::PFN_WDF_REQUEST_COMPLETION_ROUTINE,
        context: WDFCONTEXT,
    ) -> Result<(), (Self, NtStatus)> {
        let Some((_device, target)) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestFormatRequestUsingCurrentType, self.raw());
        }
        // SAFETY: as above; the routine is one of the seam's, and `context` is what it expects.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetCompletionRoutine,
                self.raw(),
                routine,
                context
            );
        }
        // SAFETY: as in `send_and_forget`; without options the send is asynchronous.
        let sent = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSend,
                self.raw(),
                target,
                wdk_sys::WDF_NO_SEND_OPTIONS.cast()
            )
        };
        if sent != 0 {
            return Ok(());
        }
        // Not sent: KMDF keeps the routine set (it clears it only when it calls it), and a
        // later synchronous send of the request would call it (`FxIoTarget::SubmitSync`
        // chains the routine set before it), completing the request the caller gets back.
        // SAFETY: the driver still owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetCompletionRoutine,
                self.raw(),
                None,
                ptr::null_mut()
            );
        }
        let status = self.status();
        Err((self, status))
    }

    /// `WdfRequestGetStatus`.
    fn status(&self) -> NtStatus {
        // SAFETY: the driver owns the live request.
        NtStatus::from_raw(unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestGetStatus, self.raw())
        })
    }

    /// `WdfRequestIsCanceled`.
    pub(crate) fn is_canceled(&self) -> bool {
        // SAFETY: the driver owns the live request.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestIsCanceled, self.raw()) != 0 }
    }

    /// `WdfRequestRetrieveOutputBuffer` or `WdfRequestRetrieveInputBuffer` with `minimum`,
    /// which KMDF checks (`STATUS_BUFFER_TOO_SMALL` below it); the buffer's address, and its
    /// length in `length` unless that is null.
    #[inline]
    fn retrieve_raw(&self, output: bool, minimum: usize, length: *mut usize) -> NtResult<*mut u8> {
        let mut buffer: *mut c_void = ptr::null_mut();
        let status = if output {
            // SAFETY: the driver owns the live request; the out-pointers are a local and the
            // caller's local (or null: `Length` is optional).
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    self.raw(),
                    minimum,
                    &mut buffer,
                    length
                )
            }
        } else {
            // SAFETY: as above.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    self.raw(),
                    minimum,
                    &mut buffer,
                    length
                )
            }
        };
        NtStatus::from_raw(status).ok()?;
        Ok(buffer.cast())
    }

    /// The buffer with no minimum (the safe layer checks lengths): its address and length.
    #[inline]
    fn retrieve(&self, output: bool) -> NtResult<(*mut u8, usize)> {
        let mut length: usize = 0;
        let buffer = self.retrieve_raw(output, 0, &raw mut length)?;
        Ok((buffer, length))
    }

    /// The first `length` bytes of the buffer (at least one), which KMDF checks it has: on
    /// success its buffer is at least `RequiredLength` bytes (`WdfRequestRetrieveInputBuffer` /
    /// `…OutputBuffer`, shared/core/fxrequestapi.cpp), so no length is read back, as a C driver
    /// asks for a fixed-size structure. `STATUS_BUFFER_TOO_SMALL` when shorter.
    #[inline]
    fn prefix(&self, output: bool, length: usize) -> NtResult<(*mut u8, usize)> {
        let length = length.max(1);
        let buffer = self.retrieve_raw(output, length, ptr::null_mut())?;
        if buffer.is_null() {
            return Err(NtStatus::BUFFER_TOO_SMALL);
        }
        Ok((buffer, length))
    }

    /// The first `length` bytes (at least one) of a device control's input buffer.
    #[inline]
    pub(crate) fn ioctl_input_prefix(&mut self, length: usize) -> NtResult<&[u8]> {
        let (buffer, length) = self.prefix(false, length)?;
        // SAFETY: as in `output`, for the `length` bytes KMDF checked the buffer has.
        Ok(unsafe { core::slice::from_raw_parts(buffer, length) })
    }

    /// The first `length` bytes (at least one) of a device control's output buffer.
    #[inline]
    pub(crate) fn ioctl_output_prefix(&mut self, length: usize) -> NtResult<&mut [u8]> {
        let (buffer, length) = self.prefix(true, length)?;
        // SAFETY: as in `output`, for the `length` bytes KMDF checked the buffer has.
        Ok(unsafe { core::slice::from_raw_parts_mut(buffer, length) })
    }

    /// The output buffer, borrowed from the handle.
    #[inline]
    fn output(&mut self) -> NtResult<&mut [u8]> {
        let (buffer, length) = self.retrieve(true)?;
        if buffer.is_null() {
            return Ok(&mut []);
        }
        // The slice borrows the handle mutably and completing consumes the handle, so it can
        // neither outlive the buffer nor alias a buffered IOCTL's input view (same `&mut self`).
        // SAFETY: the framework returned a system-space buffer of `length` bytes that stays
        // valid until the request is completed; the borrow (above) keeps it unique.
        Ok(unsafe { core::slice::from_raw_parts_mut(buffer, length) })
    }

    /// The input buffer, borrowed from the handle.
    #[inline]
    fn input(&mut self) -> NtResult<&[u8]> {
        let (buffer, length) = self.retrieve(false)?;
        if buffer.is_null() {
            return Ok(&[]);
        }
        // SAFETY: as in `output`.
        Ok(unsafe { core::slice::from_raw_parts(buffer, length) })
    }

    /// `WdfRequestRetrieveOutputBuffer` on a read.
    #[inline]
    pub(crate) fn read_buffer(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// `WdfRequestRetrieveInputBuffer` on a write.
    #[inline]
    pub(crate) fn write_buffer(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveInputBuffer` on a device control.
    #[inline]
    pub(crate) fn ioctl_input(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveOutputBuffer` on a device control.
    #[inline]
    pub(crate) fn ioctl_output(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// A request was dropped without being completed, forwarded or sent: KMDF would wait for
    /// it forever (the mistake SDV's RequestCompleted describes), so the crate completes it
    /// with `STATUS_CANCELLED` after saying so in the debugger; a debug build also breaks into
    /// the debugger (`WdfVerifierDbgBreakPoint`), so tests fail on it.
    pub(crate) fn dropped(self) {
        wdm_compat::kd_print!(
            "wdf-safe: a request was dropped without being completed, forwarded or sent (SDV \
             RequestCompleted); completing it with STATUS_CANCELLED"
        );
        #[cfg(debug_assertions)]
        // SAFETY: no arguments; a break into the debugger when the framework's verifier is on.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfVerifierDbgBreakPoint);
        }
        self.complete(NtStatus::CANCELLED, 0);
    }
}

/// `EvtRequestCompletionRoutine` of an observed send: the outcome, from the completion
/// parameters KMDF passes, goes to the driver, then completes the request.
unsafe extern "C" fn evt_request_completion<D: DriverCallbacks>(
    request: WDFREQUEST,
    _target: WDFIOTARGET,
    params: PWDF_REQUEST_COMPLETION_PARAMS,
    _context: WDFCONTEXT,
) {
    guarded((), || {
        let Some(handle) = NonNull::new(request).map(RequestHandle) else {
            return;
        };
        let (status, information) = outcome_of(&handle, params);
        // SAFETY: KMDF passes the completion parameters of this request, valid for the call
        // (checked for NULL).
        let Some(params) = (unsafe { params.as_ref() }) else {
            return handle.complete(status, information);
        };
        if let Some(driver) = driver_of_type::<D>() {
            use wdm_compat::io::RequestKind as Kind;
            let ioctl = || {
                // SAFETY: for a device control, `Type` says KMDF filled in `Parameters.Ioctl`.
                IoControlCode::from_raw(unsafe { params.Parameters.Ioctl.IoControlCode })
            };
            let (kind, ioctl_code) = match request_type_from(params.Type) {
                Some(RequestType::Read) => (Kind::Read, None),
                Some(RequestType::Write) => (Kind::Write, None),
                Some(RequestType::DeviceControl) => (Kind::DeviceControl, Some(ioctl())),
                Some(RequestType::InternalDeviceControl) => {
                    (Kind::InternalDeviceControl, Some(ioctl()))
                }
                Some(RequestType::Create) => (Kind::Create, None),
                None => (Kind::Other, None),
            };
            driver.sent_request_completed(&wdm_compat::io::Completion {
                kind,
                status,
                information,
                ioctl_code,
            });
        }
        handle.complete(status, information);
    });
}

/// The status and information a sent request came back with: from the completion parameters
/// KMDF passes, or the request's own when it passes none.
fn outcome_of(handle: &RequestHandle, params: PWDF_REQUEST_COMPLETION_PARAMS) -> (NtStatus, usize) {
    // SAFETY: KMDF passes the completion parameters of this request, valid for the call
    // (checked for NULL).
    let Some(params) = (unsafe { params.as_ref() }) else {
        return (handle.status(), handle.information());
    };
    // SAFETY: `Status` is the member of `IoStatus`'s union a completed IRP carries.
    let status = NtStatus::from_raw(unsafe { params.IoStatus.__bindgen_anon_1.Status });
    let information = usize::try_from(params.IoStatus.Information).unwrap_or(usize::MAX);
    (status, information)
}

/// `EvtRequestCompletionRoutine` of a send with the driver's own routine, which `context`
/// carries: the request goes back to the driver with the outcome.
unsafe extern "C" fn evt_request_completion_with<D: DriverCallbacks, C: SentCallback<D>>(
    request: WDFREQUEST,
    _target: WDFIOTARGET,
    params: PWDF_REQUEST_COMPLETION_PARAMS,
    context: WDFCONTEXT,
) {
    guarded((), || {
        let Some(handle) = NonNull::new(request).map(RequestHandle) else {
            return;
        };
        let (status, information) = outcome_of(&handle, params);
        let Some(driver) = driver_of_type::<D>() else {
            return handle.complete(status, information);
        };
        // SAFETY: `send_with_routine::<D, C>` set this routine with a `C`'s bytes as the
        // context (same size, checked there), and nothing else sets it.
        let callback: C = unsafe { core::mem::transmute_copy(&context) };
        callback.completed(driver, handle, status, information);
    });
}

/// `EvtRequestCompletionRoutine` of an unobserved send: completes the request with the
/// target's outcome.
unsafe extern "C" fn evt_request_completion_unobserved(
    request: WDFREQUEST,
    _target: WDFIOTARGET,
    _params: PWDF_REQUEST_COMPLETION_PARAMS,
    _context: WDFCONTEXT,
) {
    guarded((), || {
        if let Some(handle) = NonNull::new(request).map(RequestHandle) {
            let (status, information) = (handle.status(), handle.information());
            handle.complete(status, information);
        }
    });
}

/// `WDFIOTARGET`: the default I/O target of a device, reached through a ticket to the
/// device's record (its device cell), so a target kept past the device's removal finds no
/// device instead of a deleted one.
#[derive(Clone, Copy)]
pub(crate) struct IoTargetHandle(Ticket<()>);

impl IoTargetHandle {
    /// `WdfDeviceGetIoTarget` of the device, and the device held by a reference for the send
    /// (the default target is the device's, so it stays while the device does).
    fn io_target(&self) -> Option<(Held<wdk_sys::WDFDEVICE__>, WDFIOTARGET)> {
        // SAFETY: the ticket of a `DeviceRecord<D>`, `repr(C)` with its `ObjectHead` first.
        let head = unsafe { self.0.enter_head::<ObjectHead<wdk_sys::WDFDEVICE__>>() }?;
        let device = head.cell.hold()?;
        drop(head);
        // SAFETY: a held device, not disposed when the reference was taken.
        let target =
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetIoTarget, device.raw()) };
        (!target.is_null()).then_some((device, target))
    }
}

impl IoTargetHandle {
    /// The default target of the device whose record `ticket` names, when it has one (`None`
    /// for a control device or once the device is gone).
    pub(super) fn of_device(ticket: Ticket<()>) -> Option<Self> {
        let handle = Self(ticket);
        handle.io_target().map(|_| handle)
    }

    /// `WdfIoTargetSendIoctlSynchronously` (or `…SendInternalIoctlSynchronously` when
    /// `internal`) with a NULL request (the framework makes its own), `input` and `output`
    /// described as [`SendBuffer`]s say, and a timeout of `timeout_ms` milliseconds: the bytes
    /// returned. It waits, so PASSIVE_LEVEL only: above it the call is refused with a trace
    /// line.
    pub(crate) fn send_ioctl_synchronously(
        &self,
        internal: bool,
        code: u32,
        input: SendBuffer<'_>,
        mut output: SendBuffer<'_>,
        timeout_ms: u32,
    ) -> NtResult<usize> {
        let irql = crate::sys::current_irql();
        if irql > 0 {
            wdm_compat::kd_print!(
                "a synchronous send refused at IRQL {irql}: it waits, so it needs PASSIVE_LEVEL"
            );
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        if internal && code & 3 == 3 {
            // An internal METHOD_NEITHER IOCTL's buffer is read by the driver below as kernel
            // structures, pointers and callbacks included (kbdclass's CONNECT_DATA): bytes
            // from safe code could make it jump anywhere.
            wdm_compat::kd_print!(
                "a synchronous internal IOCTL {code:#x} refused: METHOD_NEITHER carries kernel pointers"
            );
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let output_length = output.len();
        let (_device, target) = self.io_target().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        // The copy a `Copied` input is sent in, alive for the call.
        let mut copy: Vec<u8> = Vec::new();
        let mut input = match input {
            SendBuffer::Copied(bytes) => {
                copy.try_reserve_exact(bytes.len())
                    .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
                copy.extend_from_slice(bytes);
                SendBuffer::Bytes(&mut copy)
            }
            described => described,
        };
        // The offsets a memory descriptor points to, alive for the call.
        let mut input_offsets = wdk_sys::WDFMEMORY_OFFSET {
            BufferOffset: 0,
            BufferLength: 0,
        };
        let mut output_offsets = input_offsets;
        let mut input_descriptor = describe(&mut input, &mut input_offsets)?;
        let mut output_descriptor = describe(&mut output, &mut output_offsets)?;
        let mut options = WDF_REQUEST_SEND_OPTIONS {
            Size: size_of::<WDF_REQUEST_SEND_OPTIONS>() as u32,
            Flags: enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_TIMEOUT,
            ),
            // WDF_REL_TIMEOUT_IN_MS: relative, in 100 ns units.
            Timeout: -(i64::from(timeout_ms) * 10_000),
        };
        let input_descriptor = input_descriptor
            .as_mut()
            .map_or(ptr::null_mut(), ptr::from_mut);
        let output_descriptor = output_descriptor
            .as_mut()
            .map_or(ptr::null_mut(), ptr::from_mut);
        let mut returned: u64 = 0;
        let request: WDFREQUEST = ptr::null_mut();
        // The target is the default target of a device held by a reference for the call; each
        // descriptor (or NULL) describes a buffer borrowed exclusively for the call (bytes, or
        // a part of a referenced memory object within its bounds, the offsets a local), which
        // the call's wait for the request's completion keeps within the borrow; the options
        // and the out-count are locals; the framework makes its own request (NULL);
        // PASSIVE_LEVEL was checked.
        let status = if internal {
            // SAFETY: as said above the `if`.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoTargetSendInternalIoctlSynchronously,
                    target,
                    request,
                    code,
                    input_descriptor,
                    output_descriptor,
                    &mut options,
                    &mut returned
                )
            }
        } else {
            // SAFETY: as said above the `if`.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfIoTargetSendIoctlSynchronously,
                    target,
                    request,
                    code,
                    input_descriptor,
                    output_descriptor,
                    &mut options,
                    &mut returned
                )
            }
        };
        NtStatus::from_raw(status).ok()?;
        Ok(usize::try_from(returned)
            .unwrap_or(usize::MAX)
            .min(output_length))
    }
}

/// The `WDF_MEMORY_DESCRIPTOR` of one buffer of a synchronous send (`None`: no buffer, a NULL
/// descriptor); a memory object's part is described with `offsets`, which the caller keeps
/// alive for the send.
fn describe(
    buffer: &mut SendBuffer<'_>,
    offsets: &mut wdk_sys::WDFMEMORY_OFFSET,
) -> NtResult<Option<wdk_sys::WDF_MEMORY_DESCRIPTOR>> {
    use wdk_sys::_WDF_MEMORY_DESCRIPTOR__bindgen_ty_1 as Described;
    use wdk_sys::_WDF_MEMORY_DESCRIPTOR_TYPE as DescriptorType;
    match buffer {
        SendBuffer::Bytes([]) => Ok(None),
        // Copied by the caller (`send_ioctl_synchronously`) before it describes the buffers.
        SendBuffer::Copied(_) => Err(NtStatus::INVALID_PARAMETER),
        SendBuffer::Bytes(bytes) => {
            // WDF_MEMORY_DESCRIPTOR_INIT_BUFFER.
            let length = u32::try_from(bytes.len()).map_err(|_| NtStatus::INVALID_BUFFER_SIZE)?;
            Ok(Some(wdk_sys::WDF_MEMORY_DESCRIPTOR {
                Type: DescriptorType::WdfMemoryDescriptorTypeBuffer,
                u: Described {
                    BufferType: wdk_sys::_WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1 {
                        Buffer: bytes.as_mut_ptr().cast(),
                        Length: length,
                    },
                },
            }))
        }
        // An empty part would read as "the rest of the buffer" (a zero `BufferLength`):
        // `MemoryRange` makes none, and none is sent.
        SendBuffer::Memory { len: 0, .. } => Ok(None),
        SendBuffer::Memory {
            memory,
            offset,
            len,
        } => {
            // KMDF reads a transfer's length as a ULONG (`FxRequestBuffer::GetBufferLength`).
            u32::try_from(*len).map_err(|_| NtStatus::INVALID_BUFFER_SIZE)?;
            // WDF_MEMORY_DESCRIPTOR_INIT_HANDLE, with the part in `offsets`.
            *offsets = wdk_sys::WDFMEMORY_OFFSET {
                BufferOffset: *offset,
                BufferLength: *len,
            };
            Ok(Some(wdk_sys::WDF_MEMORY_DESCRIPTOR {
                Type: DescriptorType::WdfMemoryDescriptorTypeHandle,
                u: Described {
                    HandleType: wdk_sys::_WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3 {
                        Memory: memory.raw(),
                        Offsets: ptr::from_mut(offsets),
                    },
                },
            }))
        }
    }
}

impl core::fmt::Debug for IoTargetHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("IoTarget").field(&self.0).finish()
    }
}

// The device record's first field is the cell an I/O target reads.
const _: () = assert!(
    core::mem::offset_of!(
        DeviceRecord<crate::io::KmdfBackend<crate::device::Nothing>>,
        head
    ) == 0
);
