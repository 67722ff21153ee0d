//! `WDFREQUEST` and `WDFIOTARGET`: parameters, buffers, completion, forwarding, sending, and
//! cancelable requests.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::any::Any;
use core::ffi::c_void;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use super::contexts::ObjectHead;
use super::device::DeviceRecord;
use super::driver::driver_of_type;
use super::live::{Held, LiveCell};
use super::queue::QueueHandle;
use super::wdk_sys::{
    self, PWDF_REQUEST_COMPLETION_PARAMS, WDF_OBJECT_CONTEXT_TYPE_INFO, WDF_REQUEST_PARAMETERS,
    WDF_REQUEST_SEND_OPTIONS, WDFCONTEXT, WDFIOTARGET, WDFREQUEST,
    call_unsafe_wdf_function_binding,
};
use super::{TypeInfo, attributes, context_of, enum_flags, guarded, record_of, registered_queue};
use crate::sys::{CancelCallback, ContextTypeInfo, DriverCallbacks, RequestType};
use wdm_compat::memory::try_box;
use wdm_compat::{IoControlCode, NtResult, NtStatus, Parameters};

/// Who owns a cancelable request: its cancel routine or the driver (`CancelCell::state`).
/// Never marked: the framework zeroes a new context.
const FRESH: u8 = 0;
/// Marked cancelable: the first of the cancel routine and `unmark_cancelable` to swap this
/// state out owns the request.
const CANCELABLE: u8 = 1;
/// The cancel routine claimed the request: it completes it.
const CANCEL_CLAIMED: u8 = 2;
/// The driver unmarked it first: the cancel routine, if KMDF still calls it, leaves it alone.
const UNMARKED: u8 = 3;
/// `mark_cancelable` is writing the routine (the request is the driver's and not yet
/// cancelable).
const MARKING: u8 = 4;
/// `unmark_cancelable` took the request from the cancel routine and is asking KMDF for it.
const UNMARKING: u8 = 5;
/// KMDF answered `STATUS_CANCELLED`: the cancellation got there first, and KMDF calls the
/// cancel routine, which must complete the request (completing it before is what KMDF's
/// verifier breaks on: `VerifyCompleteInternal`).
const LOST: u8 = 6;

/// Held (at DISPATCH_LEVEL) across an unmark's window, so the cancel trampoline that waits for
/// `UNMARKING` to end never waits for a thread it preempted on its own processor.
static UNMARKING_WINDOW: wdm_compat::SpinLock<()> = wdm_compat::SpinLock::new(());

/// Who owns a cancelable request now ([`FRESH`] … [`LOST`]), in crate memory shared by the
/// request's cancel context and a kept handle, so a kept handle finds out that it lost without
/// touching the request (which KMDF may have freed by then).
pub(crate) struct CancelCell {
    state: AtomicU8,
    /// The context's share (until the request is destroyed) and a kept handle's.
    shares: AtomicUsize,
}

impl CancelCell {
    /// Drops one share; the last frees the cell.
    ///
    /// # Safety
    ///
    /// `cell` came from `Box::into_raw` in `mark_cancelable`, and the caller owns one share,
    /// which it gives up.
    unsafe fn release(cell: NonNull<Self>) {
        // SAFETY: the caller's share keeps the cell until here.
        if unsafe { cell.as_ref() }
            .shares
            .fetch_sub(1, Ordering::AcqRel)
            == 1
        {
            // SAFETY: the last share: no one else can reach the cell.
            drop(unsafe { Box::from_raw(cell.as_ptr()) });
        }
    }
}

/// The context of a cancelable request: its ownership cell, and the driver's cancel routine.
#[repr(C)]
struct CancelContext<C> {
    cell: AtomicPtr<CancelCell>,
    routine: C,
}

/// The size of the [`CANCEL`] context: room for the cell pointer and a routine of two words.
const CANCEL_CONTEXT_SIZE: usize = 32;

/// The context type of a cancelable request ([`CancelContext`]).
pub(super) static CANCEL: TypeInfo = TypeInfo(WDF_OBJECT_CONTEXT_TYPE_INFO {
    Size: size_of::<WDF_OBJECT_CONTEXT_TYPE_INFO>() as u32,
    ContextName: c"WdfSafeCancelRoutine".as_ptr(),
    ContextSize: CANCEL_CONTEXT_SIZE,
    UniqueType: &raw const CANCEL.0,
    EvtDriverGetUniqueContextType: None,
});

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
        // SAFETY: called inside the request's `EvtIoStop` (the typed layer brands the handle to
        // that call), where KMDF holds a reference on the request, so it is live even if a
        // completion raced the callback (`FxIoQueue::ProcessPowerEvents`, `FXREQUEST_HOLD_TAG`); not
        // requeueing leaves its ownership where it was.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestStopAcknowledge, self.0.as_ptr(), 0) };
    }
}

/// `WDFREQUEST`, owned by the driver: one pointer, like the handle it is.
pub(crate) struct RequestHandle(NonNull<wdk_sys::WDFREQUEST__>);

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
    ) -> Option<&'static T> {
        let queue = self.queue()?;
        // Every queue of the image is the crate's, with a `QueueRecord<D>` that starts with its
        // `ObjectHead` (`repr(C)`), whatever the driver type.
        let head = registered_queue(queue.cast()).map_or_else(
            || record_of::<ObjectHead<wdk_sys::WDFQUEUE__>>(queue.cast()),
            <*const _>::cast,
        );
        // SAFETY: records are kept until the driver unloads.
        let head = unsafe { head.as_ref() }?;
        head.contexts.find::<T>(info)
    }

    /// The context of type `T` (type info `info`) of the device of the request's queue
    /// (`WdfIoQueueGetDevice`).
    pub(crate) fn device_context<T: Any>(
        &self,
        info: &'static ContextTypeInfo,
    ) -> Option<&'static T> {
        let device = device_of(self.queue()?);
        // The device record starts with its `ObjectHead` (`repr(C)`), whatever the driver type.
        let head = record_of::<ObjectHead<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: records are kept until the driver unloads.
        let head = unsafe { head.as_ref() }?;
        head.contexts.find::<T>(info)
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
        // The device record starts with its device cell (`repr(C)`), whatever the driver type.
        let cell = record_of::<LiveCell<wdk_sys::WDFDEVICE__>>(device.cast());
        // SAFETY: records are kept until the driver unloads.
        let cell = unsafe { cell.as_ref() }?;
        let target = IoTargetHandle(cell);
        // The request is the driver's, so its device is not disposed: no reference needed.
        let device = cell.peek()?;
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
    /// (`WdfRequestGetStatus`); also when it could not be sent. PASSIVE_LEVEL only: above it
    /// the send is refused (`STATUS_INVALID_DEVICE_REQUEST`) without a framework call.
    pub(crate) fn send_synchronously(
        self,
        target: &IoTargetHandle,
        timeout_ms: u32,
    ) -> (Self, NtStatus) {
        let irql = crate::sys::current_irql();
        if irql > 0 {
            wdm_compat::kd_print!(
                "a synchronous send refused at IRQL {irql}: it waits, so it needs PASSIVE_LEVEL"
            );
            return (self, NtStatus::INVALID_DEVICE_REQUEST);
        }
        let Some((_device, target)) = target.io_target() else {
            return (self, NtStatus::INVALID_DEVICE_STATE);
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
        let _sent = unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestSend, self.raw(), target, &mut options)
        };
        let status = self.status();
        (self, status)
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSetCompletionRoutine` +
    /// `WdfRequestSend`: the completion routine shows the outcome to the driver (when
    /// `observe`), then completes the request with it.
    pub(crate) fn send_with_completion<D: DriverCallbacks>(
        self,
        target: &IoTargetHandle,
        observe: bool,
    ) -> Result<(), (Self, NtStatus)> {
        let Some((_device, target)) = target.io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        // SAFETY: the driver owns the live request.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestFormatRequestUsingCurrentType, self.raw());
        }
        // SAFETY: as above; the routine needs no context.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestSetCompletionRoutine,
                self.raw(),
                Some(if observe {
                    evt_request_completion::<D>
                } else {
                    evt_request_completion_unobserved
                }),
                ptr::null_mut()
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

    /// `WdfRequestRetrieveOutputBuffer` or `WdfRequestRetrieveInputBuffer`, with no minimum
    /// (the safe layer checks lengths): the buffer's address and length.
    fn retrieve(&self, output: bool) -> NtResult<(*mut u8, usize)> {
        let mut buffer: *mut c_void = ptr::null_mut();
        let mut length: usize = 0;
        let status = if output {
            // SAFETY: the driver owns the live request; the out-pointers are locals.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveOutputBuffer,
                    self.raw(),
                    0,
                    &mut buffer,
                    &mut length
                )
            }
        } else {
            // SAFETY: as above.
            unsafe {
                call_unsafe_wdf_function_binding!(
                    WdfRequestRetrieveInputBuffer,
                    self.raw(),
                    0,
                    &mut buffer,
                    &mut length
                )
            }
        };
        NtStatus::from_raw(status).ok()?;
        Ok((buffer.cast(), length))
    }

    /// The output buffer, borrowed from the handle.
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
    fn input(&mut self) -> NtResult<&[u8]> {
        let (buffer, length) = self.retrieve(false)?;
        if buffer.is_null() {
            return Ok(&[]);
        }
        // SAFETY: as in `output`.
        Ok(unsafe { core::slice::from_raw_parts(buffer, length) })
    }

    /// `WdfRequestRetrieveOutputBuffer` on a read.
    pub(crate) fn read_buffer(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// `WdfRequestRetrieveInputBuffer` on a write.
    pub(crate) fn write_buffer(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveInputBuffer` on a device control.
    pub(crate) fn ioctl_input(&mut self) -> NtResult<&[u8]> {
        self.input()
    }

    /// `WdfRequestRetrieveOutputBuffer` on a device control.
    pub(crate) fn ioctl_output(&mut self) -> NtResult<&mut [u8]> {
        self.output()
    }

    /// The request's cancel context, if it was ever marked cancelable (its cell is its first
    /// field, whatever the routine's type).
    fn cancel_context<C>(&self) -> Option<NonNull<CancelContext<C>>> {
        NonNull::new(context_of(self.raw().cast(), &CANCEL).cast())
    }

    /// The ownership cell of a request marked cancelable before.
    fn cancel_cell(&self) -> Option<NonNull<CancelCell>> {
        let context = self.cancel_context::<()>()?;
        // SAFETY: the context lives as long as the request, which the caller holds (owner or
        // reference); only the atomic pointer field is borrowed.
        NonNull::new(unsafe { &(*context.as_ptr()).cell }.load(Ordering::Acquire))
    }

    /// Stores `routine` in the request's [`CANCEL`] context and the ownership state in its
    /// cell (made at the first mark), then `WdfRequestMarkCancelableEx`: the driver's handle to
    /// the cancelable request is a share of the cell, not a reference on the request (KMDF
    /// frees a request into its device's lookaside list, so a reference must not outlive the
    /// device, and a handle the driver keeps may).
    pub(crate) fn mark_cancelable<C: CancelCallback>(
        self,
        routine: C,
    ) -> Result<KeptHandle, (Self, NtStatus)> {
        const {
            assert!(size_of::<CancelContext<C>>() <= CANCEL_CONTEXT_SIZE);
            assert!(align_of::<CancelContext<C>>() <= 16);
        };
        let mut attributes = attributes(&CANCEL, None, Some(evt_cancel_context_destroy));
        let mut context: *mut c_void = ptr::null_mut();
        // SAFETY: the driver owns the live request; the out-pointer is a local. A second
        // allocation returns STATUS_OBJECT_NAME_EXISTS with the existing context.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfObjectAllocateContext,
                self.raw().cast(),
                &mut attributes,
                &mut context
            )
        };
        let status = NtStatus::from_raw(status);
        if !status.is_success() {
            return Err((self, status));
        }
        let Some(context) = NonNull::new(context.cast::<CancelContext<C>>()) else {
            return Err((self, NtStatus::INSUFFICIENT_RESOURCES));
        };
        // SAFETY: a CANCEL context is CANCEL_CONTEXT_SIZE bytes, aligned to 16 (both checked
        // above against `CancelContext<C>`), zeroed by the framework, living as long as the
        // request; only the atomic cell field is borrowed.
        let cell_field = unsafe { &(*context.as_ptr()).cell };
        let cell = match NonNull::new(cell_field.load(Ordering::Acquire)) {
            Some(cell) => cell,
            None => {
                // The first mark: no cancel routine or kept handle can look yet.
                let Ok(made) = try_box(CancelCell {
                    state: AtomicU8::new(FRESH),
                    shares: AtomicUsize::new(1),
                }) else {
                    return Err((self, NtStatus::INSUFFICIENT_RESOURCES));
                };
                let made = Box::into_raw(made);
                cell_field.store(made, Ordering::Release);
                // SAFETY: from `Box::into_raw`, not null.
                unsafe { NonNull::new_unchecked(made) }
            }
        };
        // SAFETY: the context's share keeps the cell until the request is destroyed.
        let state = unsafe { &cell.as_ref().state };
        // A request marked before may be marked again only once the driver unmarked it. A
        // request its cancel routine claimed stays claimed (KMDF answers `STATUS_CANCELLED`
        // for it too): resetting the state would let a stale unmark win it back.
        let marking = state
            .compare_exchange(FRESH, MARKING, Ordering::AcqRel, Ordering::Acquire)
            .or_else(|_| {
                state.compare_exchange(UNMARKED, MARKING, Ordering::AcqRel, Ordering::Acquire)
            });
        if let Err(found) = marking {
            let status = if found == CANCEL_CLAIMED {
                NtStatus::CANCELLED
            } else {
                NtStatus::INVALID_DEVICE_REQUEST
            };
            return Err((self, status));
        }
        // The routine field, written through the raw pointer, never borrowed.
        let slot = context
            .as_ptr()
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(CancelContext<C>, routine))
            .cast::<C>();
        // SAFETY: `slot` is the context's routine field, aligned as `C`; the state is MARKING,
        // which this call set, so no cancel trampoline reads it (one reads it only after
        // claiming a CANCELABLE request), and the driver owns the request.
        unsafe { slot.write(routine) };
        // The driver's handle's share, taken before anyone can race for the request.
        // SAFETY: the context's share keeps the cell until the request is destroyed.
        unsafe { cell.as_ref() }
            .shares
            .fetch_add(1, Ordering::Relaxed);
        state.store(CANCELABLE, Ordering::Release);
        // SAFETY: the driver owns the live request.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfRequestMarkCancelableEx,
                self.raw(),
                Some(evt_request_cancel::<C>)
            )
        };
        match NtStatus::from_raw(status).ok() {
            Ok(()) => Ok(KeptHandle {
                request: self.0,
                cell,
            }),
            Err(status) => {
                // Not cancelable after all (already cancelled): KMDF calls no routine, and the
                // request is the driver's, unmarked.
                state.store(UNMARKED, Ordering::Release);
                // SAFETY: the share taken above, released once.
                unsafe { CancelCell::release(cell) };
                Err((self, status))
            }
        }
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

/// Asks KMDF for a cancelable request the caller found CANCELABLE, racing its cancel routine:
/// `Ok` when the driver has it back, `Err(STATUS_CANCELLED)` when the routine has it (or will:
/// KMDF answered `STATUS_CANCELLED`, and calls it on another thread). The request is touched only
/// after the cell said it is neither claimed nor completed.
fn unmark(request: WDFREQUEST, cell: NonNull<CancelCell>) -> NtResult {
    // SAFETY: the caller holds a share of the cell or a reference on the request whose
    // context holds one.
    let state = unsafe { &cell.as_ref().state };
    let window = UNMARKING_WINDOW.lock();
    if state
        .compare_exchange(CANCELABLE, UNMARKING, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        return Err(NtStatus::CANCELLED);
    }
    // SAFETY: the request is cancelable and not claimed (the state was CANCELABLE), so it is
    // the driver's, not completed, and held by KMDF's list of cancelable requests; the cancel
    // routine waits while the state is UNMARKING.
    let status = unsafe { call_unsafe_wdf_function_binding!(WdfRequestUnmarkCancelable, request) };
    if NtStatus::from_raw(status) != NtStatus::SUCCESS {
        // STATUS_CANCELLED: the cancel routine won and KMDF calls it. Anything else (the
        // verifier's refusals) leaves the request on KMDF's cancelable list too: either way it
        // is not the driver's to complete now.
        state.store(LOST, Ordering::Release);
        drop(window);
        return Err(NtStatus::CANCELLED);
    }
    state.store(UNMARKED, Ordering::Release);
    drop(window);
    Ok(())
}

/// The driver's handle to a request it marked cancelable — in the callback
/// (`CancelableRequest`) or kept in its state past it (`KeptRequest`, the C echo sample's
/// `CurrentRequest`, unmarked or let go by another thread such as a timer's DPC): the request's
/// handle and a share of its ownership cell, no reference on the request.
pub(crate) struct KeptHandle {
    request: NonNull<wdk_sys::WDFREQUEST__>,
    cell: NonNull<CancelCell>,
}

// SAFETY: the cell is shared crate memory (atomics) freed by its last share, which this handle
// holds until `unmark` or `leave` consumes it; the request is touched only by `unmark`, after
// the cell's compare-and-swap said the cancel routine has not claimed it, while KMDF holds it
// as a cancelable request; KMDF lets a request be unmarked and completed from any thread at
// ≤ DISPATCH_LEVEL.
unsafe impl Send for KeptHandle {}
// SAFETY: every use consumes the handle; a shared reference allows nothing.
unsafe impl Sync for KeptHandle {}

impl KeptHandle {
    /// `WdfRequestUnmarkCancelable` for a kept request: the request back (the driver's, to
    /// complete), or `Err(STATUS_CANCELLED)` when its cancel routine has it.
    pub(crate) fn unmark(self) -> Result<RequestHandle, NtStatus> {
        let won = unmark(self.request.as_ptr(), self.cell);
        // SAFETY: this handle's share, released once (the handle is consumed).
        unsafe { CancelCell::release(self.cell) };
        won.map(|()| RequestHandle(self.request))
    }

    /// The driver lets go of a kept request, leaving it to its cancel routine.
    pub(crate) fn leave(self) {
        // SAFETY: this handle's share, released once (the handle is consumed).
        unsafe { CancelCell::release(self.cell) };
    }
}

/// The cancel context's `EvtDestroyCallback`: the request is going, and with it the context's
/// share of the cell.
unsafe extern "C" fn evt_cancel_context_destroy(object: wdk_sys::WDFOBJECT) {
    guarded((), || {
        let context = context_of(object, &CANCEL).cast::<CancelContext<()>>();
        if context.is_null() {
            return;
        }
        // SAFETY: the context lives until the object's destroy callbacks have run; only the
        // atomic cell field is borrowed (`CancelContext` is `repr(C)`, the cell first).
        let cell = unsafe { &(*context).cell }.swap(ptr::null_mut(), Ordering::AcqRel);
        if let Some(cell) = NonNull::new(cell) {
            // SAFETY: the context's share, released once (the pointer was swapped out).
            unsafe { CancelCell::release(cell) };
        }
    });
}

/// `EvtRequestCancel`: runs the routine stored by `mark_cancelable`, unless the driver
/// unmarked the request first.
unsafe extern "C" fn evt_request_cancel<C: CancelCallback>(request: WDFREQUEST) {
    guarded((), || {
        let Some(handle) = NonNull::new(request).map(RequestHandle) else {
            return;
        };
        let (Some(context), Some(cell)) = (handle.cancel_context::<C>(), handle.cancel_cell())
        else {
            return handle.complete(NtStatus::CANCELLED, 0);
        };
        // SAFETY: the framework keeps the request, and so its context and the context's share
        // of the cell, alive while its cancel routine runs.
        let state = unsafe { &cell.as_ref().state };
        let claimed = loop {
            match state.load(Ordering::Acquire) {
                // An unmark is asking KMDF for the request (one DDI call, at DISPATCH_LEVEL on
                // another processor): its answer decides who completes it.
                UNMARKING => core::hint::spin_loop(),
                from @ (CANCELABLE | LOST) => {
                    if state
                        .compare_exchange(from, CANCEL_CLAIMED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        break true;
                    }
                }
                // Unmarked by the driver (it has the request), or claimed already.
                _ => break false,
            }
        };
        if claimed {
            let slot = context
                .as_ptr()
                .cast::<u8>()
                .wrapping_add(core::mem::offset_of!(CancelContext<C>, routine))
                .cast::<C>();
            // SAFETY: the routine field, written by `mark_cancelable` before it published
            // CANCELABLE (release; the claim acquired it), and never written again once claimed.
            let routine = unsafe { slot.read() };
            routine.cancel(handle);
        }
    });
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
        // SAFETY: KMDF passes the completion parameters of this request, valid for the call
        // (checked for NULL).
        let Some(params) = (unsafe { params.as_ref() }) else {
            let (status, information) = (handle.status(), handle.information());
            return handle.complete(status, information);
        };
        // SAFETY: `Status` is the member of `IoStatus`'s union a completed IRP carries.
        let status = NtStatus::from_raw(unsafe { params.IoStatus.__bindgen_anon_1.Status });
        let information = usize::try_from(params.IoStatus.Information).unwrap_or(usize::MAX);
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

/// `WDFIOTARGET`: the default I/O target of a device, reached through the device's record
/// (its device cell), so a target kept past the device's removal finds no device instead of a
/// deleted one.
#[derive(Clone, Copy)]
pub(crate) struct IoTargetHandle(&'static LiveCell<wdk_sys::WDFDEVICE__>);

impl IoTargetHandle {
    /// `WdfDeviceGetIoTarget` of the device, and the device held by a reference for the send
    /// (the default target is the device's, so it stays while the device does).
    fn io_target(&self) -> Option<(Held<wdk_sys::WDFDEVICE__>, WDFIOTARGET)> {
        let device = self.0.hold()?;
        // SAFETY: a held device, not disposed when the reference was taken.
        let target =
            unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetIoTarget, device.raw()) };
        (!target.is_null()).then_some((device, target))
    }
}

impl IoTargetHandle {
    /// The default target of the device whose cell this is, when it has one (`None` for a
    /// control device or once the device is gone).
    pub(super) fn of_device(cell: &'static LiveCell<wdk_sys::WDFDEVICE__>) -> Option<Self> {
        let handle = Self(cell);
        handle.io_target().map(|_| handle)
    }

    /// `WdfIoTargetSendIoctlSynchronously` (or `…SendInternalIoctlSynchronously` when
    /// `internal`) with a NULL request (the framework makes its own), `input` and `output` as
    /// buffer descriptors and a timeout of `timeout_ms` milliseconds: the bytes returned. It
    /// waits, so PASSIVE_LEVEL only: above it the call is refused with a trace line.
    pub(crate) fn send_ioctl_synchronously(
        &self,
        internal: bool,
        code: u32,
        input: &[u8],
        output: &mut [u8],
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
        let input_length = u32::try_from(input.len()).map_err(|_| NtStatus::INVALID_BUFFER_SIZE)?;
        let output_length =
            u32::try_from(output.len()).map_err(|_| NtStatus::INVALID_BUFFER_SIZE)?;
        let (_device, target) = self.io_target().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let descriptor = |buffer: *mut c_void, length: u32| wdk_sys::WDF_MEMORY_DESCRIPTOR {
            Type: wdk_sys::_WDF_MEMORY_DESCRIPTOR_TYPE::WdfMemoryDescriptorTypeBuffer,
            u: wdk_sys::_WDF_MEMORY_DESCRIPTOR__bindgen_ty_1 {
                BufferType: wdk_sys::_WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1 {
                    Buffer: buffer,
                    Length: length,
                },
            },
        };
        // A copy, which the lower driver may write: for METHOD_IN/OUT_DIRECT and METHOD_NEITHER
        // the framework passes the buffer itself down (`FormatIoctlRequest`), and the caller's
        // is only borrowed shared.
        let mut scratch: Vec<u8> = Vec::new();
        scratch
            .try_reserve_exact(input.len())
            .map_err(|_| NtStatus::INSUFFICIENT_RESOURCES)?;
        scratch.extend_from_slice(input);
        let mut input_descriptor = descriptor(scratch.as_mut_ptr().cast(), input_length);
        let mut output_descriptor = descriptor(output.as_mut_ptr().cast(), output_length);
        let mut options = WDF_REQUEST_SEND_OPTIONS {
            Size: size_of::<WDF_REQUEST_SEND_OPTIONS>() as u32,
            Flags: enum_flags(
                wdk_sys::_WDF_REQUEST_SEND_OPTIONS_FLAGS::WDF_REQUEST_SEND_OPTION_TIMEOUT,
            ),
            // WDF_REL_TIMEOUT_IN_MS: relative, in 100 ns units.
            Timeout: -(i64::from(timeout_ms) * 10_000),
        };
        let input_descriptor = if input.is_empty() {
            ptr::null_mut()
        } else {
            ptr::from_mut(&mut input_descriptor)
        };
        let output_descriptor = if output.is_empty() {
            ptr::null_mut()
        } else {
            ptr::from_mut(&mut output_descriptor)
        };
        let mut returned: u64 = 0;
        let request: WDFREQUEST = ptr::null_mut();
        let status = if internal {
            // SAFETY: the target is the default target of a device held by a reference for the
            // call; the descriptors point to the scratch copy of the input and to the caller's
            // output, both of which outlive the call (it waits for the request's completion); the options and the out-count are locals;
            // the framework makes its own request (NULL); PASSIVE_LEVEL was checked.
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
            // SAFETY: as above.
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
            .min(output.len()))
    }
}

impl core::fmt::Debug for IoTargetHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("IoTarget").field(&self.0.peek()).finish()
    }
}

// The device record's first field is the cell an I/O target reads.
const _: () = assert!(
    core::mem::offset_of!(
        DeviceRecord<crate::io::KmdfBackend<crate::device::Nothing>>,
        head
    ) == 0
);
