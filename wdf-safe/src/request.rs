//! `WDFREQUEST` in types: [`Request<K>`](Request) is owned by the driver from presentation (or
//! retrieval) until it is completed, forwarded to another queue, or sent.
//!
//! * The kind `K` decides the buffers: `Request<Read>` has only an output buffer,
//!   `Request<Write>` only an input buffer (SDV InputBufferAPI / OutputBufferAPI).
//! * Buffers borrow the request, and completing needs the request by value, so no buffer
//!   survives completion (SDV BufAfterReqCompleted*).
//! * [`complete`](Request::complete), [`forward_to_queue`](Request::forward_to_queue),
//!   [`send_and_forget`](Request::send_and_forget) and [`send_observed`](Request::send_observed)
//!   consume the request (SDV DoubleCompletion, InvalidReqAccess) and are the only ways to get
//!   the [`RequestDone`] an I/O callback must return: forgetting a request does not compile.
//! * A request marked cancelable becomes a [`CancelableRequest`], which cannot be completed,
//!   forwarded or sent until [`unmark`](CancelableRequest::unmark)ed; unmarking tells you when
//!   the cancel routine won (SDV CompleteCanceledReq, ReqNotCanceledLocal,
//!   ReqMarkCancelableSend).
//!
//! Requests are neither `Send` nor `Sync`: a callback works on its request in its own thread;
//! to keep one for later, forward it to a manual queue.

use core::marker::PhantomData;

use wdm_compat::ioctl::TransferMethod;
use wdm_compat::{IoBuffer, IoControlCode, NtResult, NtStatus, Parameters};

use crate::context::{ContextRef, ContextType};
use crate::kind::{
    Create, DeviceControl, InternalDeviceControl, QueueKind, Read, RequestKind, RequestType, Write,
};
use crate::queue::Queue;
use crate::sys::{self, Given, IoTargetHandle, RequestHandle};
use crate::thread_rules::ARequestIsFinishedInItsCallbackOrForwardedToAManualQueue;
use wdm_compat::thread_rules::StaysOnItsThread;

/// Which request a value belongs to: a lifetime `'r` the compiler never unifies with another
/// (invariant), so a [`RequestDone<'r>`](RequestDone) proves that the request `'r` itself was
/// finished, not some other one.
type Brand<'r> = PhantomData<fn(&'r ()) -> &'r ()>;

/// Proof that the request `'r` was finished: completed, forwarded to a queue, sent, or left to
/// its cancel routine. I/O callbacks return the proof of the request they were given (their
/// signature says so with one lifetime: `fn<'r>(&D, Request<'r, K>) -> RequestDone<'r>`), so
/// returning another request's proof, or one kept from earlier, does not compile; nothing else
/// creates one.
#[must_use = "return this from the I/O callback"]
#[derive(Debug)]
pub struct RequestDone<'r>(Brand<'r>);

static_assertions::assert_not_impl_any!(RequestDone<'static>: Clone, Copy, Default);
static_assertions::assert_eq_size!(RequestDone<'static>, ());

impl RequestDone<'_> {
    const fn new() -> Self {
        Self(PhantomData)
    }
}

/// What the target a request was sent to completed it with
/// ([`Request::send_with_completion_routine`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentOutcome {
    /// The target's status.
    pub status: NtStatus,
    /// Its `IoStatus.Information` (for a read or an IOCTL, the bytes it returned).
    pub information: usize,
}

/// A driver's completion routine for a request it sent on
/// ([`Request::send_with_completion_routine`]): the request comes back with the target's
/// outcome, and the routine finishes it (its [`RequestDone`] says so).
///
/// IRQL: ≤ DISPATCH_LEVEL.
pub type CompletionRoutine<D, K> = for<'c> fn(&D, Request<'c, K>, SentOutcome) -> RequestDone<'c>;

/// The seam's handle on a [`CompletionRoutine`] (one pointer, as the routine's context).
#[repr(transparent)]
struct Routine<D, K: RequestKind>(CompletionRoutine<D, K>);

impl<D, K: RequestKind> Clone for Routine<D, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D, K: RequestKind> Copy for Routine<D, K> {}

impl<D: crate::KmdfDriver, K: RequestKind> sys::SentCallback<D> for Routine<D, K> {
    fn completed(self, driver: &D, request: RequestHandle, status: NtStatus, information: usize) {
        let request = Request::<K>::from_raw(request);
        let _done = (self.0)(
            driver,
            request,
            SentOutcome {
                status,
                information,
            },
        );
    }
}

/// A request of kind `K` that the driver owns.
#[must_use = "a request must be completed, forwarded or sent"]
pub struct Request<'r, K: RequestKind> {
    // First, so that moving a request to another thread is refused in the rule's words.
    _thread: StaysOnItsThread<dyn ARequestIsFinishedInItsCallbackOrForwardedToAManualQueue>,
    // `None` only once a consuming method took it; `Drop` then has nothing to check.
    raw: Option<RequestHandle>,
    /// What the `EvtIo*` callback was given (lengths, control code), so reading them again
    /// needs no framework call.
    given: Given,
    _kind: PhantomData<K>,
    _brand: Brand<'r>,
}

// The handle and the callback's parameters: what a C callback has in its arguments.
static_assertions::assert_eq_size!(Request<'static, Read>, [usize; 3]);
static_assertions::assert_not_impl_any!(Request<'static, Read>: Send, Sync, Clone);

impl<'r, K: RequestKind> Request<'r, K> {
    /// A request the driver got other than from its `EvtIo*` callback.
    pub(crate) const fn from_raw(raw: RequestHandle) -> Self {
        Self::presented(raw, Given::Unknown)
    }

    /// A request an `EvtIo*` callback presented, with what the callback was given.
    pub(crate) const fn presented(raw: RequestHandle, given: Given) -> Self {
        Self {
            _thread: PhantomData,
            raw: Some(raw),
            given,
            _kind: PhantomData,
            _brand: PhantomData,
        }
    }

    pub(crate) fn take_raw(mut self) -> Option<RequestHandle> {
        self.raw.take()
    }

    /// The handle, while the request has one.
    pub(crate) const fn raw_ref(&self) -> Option<&RequestHandle> {
        self.raw.as_ref()
    }

    pub(crate) fn raw_mut(&mut self) -> NtResult<&mut RequestHandle> {
        self.raw.as_mut().ok_or(NtStatus::INTERNAL_ERROR)
    }

    /// The request's own context (`WdfDeviceInitSetRequestAttributes`, set with
    /// [`FdoInit::set_request_context`](crate::FdoInit::set_request_context) or
    /// [`ControlDeviceInit::set_request_context`](crate::ControlDeviceInit::set_request_context)):
    /// state that travels with the request from callback to callback (forwarded to a queue and
    /// retrieved, sent and back in the completion routine). Borrowed from the request, so it
    /// goes when the request is completed. `None` when the device's requests carry no context
    /// of type `T`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn context<T: ContextType>(&self) -> Option<&T> {
        self.raw.as_ref()?.context::<T>(T::type_info())
    }

    /// The context of type `T` of the device whose queue presented the request
    /// (`WdfIoQueueGetDevice(WdfRequestGetIoQueue(Request))`, then `WdfObjectGetTypedContext`):
    /// how an I/O callback reaches its device's state (the C samples' `FDO_DATA`, device
    /// extension). `None` when the device has no context of that type.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn device_context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw
            .as_ref()?
            .device_context::<T>(T::type_info())
            .map(ContextRef::new)
    }

    /// The context of type `T` of the queue that presented the request
    /// (`WdfRequestGetIoQueue`, then `WdfObjectGetTypedContext`; see
    /// [`Queue::allocate_context`](crate::Queue::allocate_context)).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn queue_context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw
            .as_ref()?
            .queue_context::<T>(T::type_info())
            .map(ContextRef::new)
    }

    /// The request type (`WdfRequestGetParameters`'s `Type`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn request_type(&self) -> RequestType {
        self.raw
            .as_ref()
            .map_or(K::TYPE, RequestHandle::request_type)
    }

    /// `WdfRequestSetInformation`: the information `complete` reports.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_information(&mut self, information: usize) {
        if let Some(raw) = &self.raw {
            raw.set_information(information);
        }
    }

    /// `WdfRequestGetInformation`: the information set so far (by the driver, or by the target
    /// a request was sent to synchronously).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn information(&self) -> usize {
        self.raw.as_ref().map_or(0, RequestHandle::information)
    }

    /// `WdfRequestComplete`: completes with `status` and the information set before.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete(self, status: NtStatus) -> RequestDone<'r> {
        let information = self.raw.as_ref().map_or(0, RequestHandle::information);
        self.complete_with_information(status, information)
    }

    /// `WdfRequestCompleteWithInformation`.
    ///
    /// On success, `information` must not exceed the buffer length (read or write length,
    /// or the output length of a user-mode IOCTL); the simulated verifier reports bug check
    /// 0x10D (6, 4) otherwise.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with_information(
        self,
        status: NtStatus,
        information: usize,
    ) -> RequestDone<'r> {
        if let Some(raw) = self.take_raw() {
            raw.complete(status, information);
        }
        RequestDone::new()
    }

    /// Completes with the outcome of `handler`: `Ok(n)` → success with `n` bytes, `Err(s)` →
    /// `s`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with(
        mut self,
        handler: impl FnOnce(&mut Self) -> NtResult<usize>,
    ) -> RequestDone<'r> {
        match handler(&mut self) {
            Ok(information) => self.complete_with_information(NtStatus::SUCCESS, information),
            Err(status) => self.complete_with_information(status, 0),
        }
    }

    /// `WdfRequestForwardToIoQueue` to another queue of the same device: the driver no longer
    /// owns the request; a sequential source queue may present its next one.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// Hands the request back (still owned) with `STATUS_INVALID_DEVICE_REQUEST` for a queue of
    /// another device or the request's own queue, or `STATUS_WDF_BUSY` when the queue does not
    /// accept requests.
    pub fn forward_to_queue<Q: QueueKind>(
        self,
        queue: &Queue<Q>,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        let given = self.given;
        let Some(raw) = self.take_raw() else {
            return Ok(RequestDone::new());
        };
        match raw.forward_to_queue(queue.raw()) {
            Ok(()) => Ok(RequestDone::new()),
            Err((raw, status)) => Err((Self::presented(raw, given), status)),
        }
    }

    /// The device's default I/O target (`WdfDeviceGetIoTarget`): the device below, for a PnP
    /// function or filter device; `None` for a control device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn default_io_target(&self) -> Option<IoTarget> {
        self.raw
            .as_ref()
            .and_then(RequestHandle::default_io_target)
            .map(IoTarget)
    }

    /// `WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET` after
    /// `WdfRequestFormatRequestUsingCurrentType`: the request goes to `target` as it is and
    /// the framework is done with it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL. Never while holding a spin lock (SDV ReqSendWhileSpinlock; the
    /// simulated verifier reports it).
    ///
    /// # Errors
    ///
    /// Hands the request back when it cannot be sent (`STATUS_INVALID_DEVICE_STATE`).
    pub fn send_and_forget(self, target: &IoTarget) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        let given = self.given;
        let Some(raw) = self.take_raw() else {
            return Ok(RequestDone::new());
        };
        match raw.send_and_forget(&target.0) {
            Ok(()) => Ok(RequestDone::new()),
            Err((raw, status)) => Err((Self::presented(raw, given), status)),
        }
    }

    /// `WdfRequestSend` with `WDF_REQUEST_SEND_OPTION_SYNCHRONOUS` after
    /// `WdfRequestFormatRequestUsingCurrentType`: waits until `target` completed the request
    /// (at most `timeout`, after which the framework cancels it), then hands it back — yours
    /// again, to look at (its buffers hold what the target returned,
    /// [`information`](Self::information) what it reported) and to complete, usually with the
    /// target's status, which comes with it.
    ///
    /// IRQL: PASSIVE_LEVEL (the call waits). Not while holding a spin lock.
    ///
    /// # Errors
    ///
    /// The request back, not sent, with why: `STATUS_INVALID_DEVICE_REQUEST` above
    /// PASSIVE_LEVEL (SDV WdfRequestSendSyncAtDispatch; nothing reaches the framework),
    /// `STATUS_INVALID_DEVICE_STATE` once the device is gone, or the framework's refusal.
    pub fn send_synchronously(
        mut self,
        target: &IoTarget,
        timeout: crate::io_target::SendTimeout,
    ) -> Result<(Self, NtStatus), (Self, NtStatus)> {
        let Some(raw) = self.raw.take() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        match raw.send_synchronously(&target.0, timeout.as_millis()) {
            Ok((raw, status)) => {
                self.raw = Some(raw);
                Ok((self, status))
            }
            Err((raw, status)) => {
                self.raw = Some(raw);
                Err((self, status))
            }
        }
    }

    /// Sends the request to `target` with a completion routine (`WdfRequestSend` after
    /// `WdfRequestFormatRequestUsingCurrentType` and `WdfRequestSetCompletionRoutine`): when
    /// the target completes it,
    /// [`KmdfDriver::on_sent_request_completed`](crate::KmdfDriver::on_sent_request_completed)
    /// sees the outcome, then the crate's completion routine completes the request to its
    /// sender with that outcome (KMDF hands a sent request back to the driver's completion
    /// routine, which must complete it).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL, not while holding a spin lock.
    ///
    /// # Errors
    ///
    /// As [`send_and_forget`](Self::send_and_forget).
    pub fn send_observed<D: crate::KmdfDriver>(
        self,
        target: &IoTarget,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        self.send_with_completion::<D>(target, true)
    }

    /// Sends the request to `target` with a completion routine that completes it to its sender
    /// with the target's outcome, unobserved. This is how a filter passes a create down: KMDF
    /// made a file object for it, so the create must come back through the framework (a
    /// send-and-forget create is a KMDF verifier error).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL, not while holding a spin lock.
    ///
    /// # Errors
    ///
    /// As [`send_and_forget`](Self::send_and_forget).
    pub fn send_and_complete<D: crate::KmdfDriver>(
        self,
        target: &IoTarget,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        self.send_with_completion::<D>(target, false)
    }

    /// Sends the request to `target` with the driver's own completion routine
    /// (`WdfRequestFormatRequestUsingCurrentType`, `WdfRequestSetCompletionRoutine`,
    /// `WdfRequestSend`): when the target completes it, `routine` gets it back with the
    /// target's [`SentOutcome`], reads what the target returned (the output buffer, the
    /// information) and must finish it, usually by completing it to its sender. This is
    /// kbfiltr's `KbFilterRequestCompletionRoutine`, which keeps the keyboard's attributes on
    /// their way up.
    ///
    /// The routine may run at DISPATCH_LEVEL, on any thread, before this call returns. `D` must
    /// be the image's driver type: for another, the routine cannot be given a driver value and
    /// the request is completed with the target's outcome instead. A routine that sends the
    /// request down again, to a target that completes it at once each time, nests on the
    /// kernel stack: bound the number of trips, as a C driver must.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL, not while holding a spin lock.
    ///
    /// # Errors
    ///
    /// As [`send_and_forget`](Self::send_and_forget): the request back, not sent, and the
    /// routine never runs.
    pub fn send_with_completion_routine<D: crate::KmdfDriver>(
        self,
        target: &IoTarget,
        routine: CompletionRoutine<D, K>,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        let given = self.given;
        let Some(raw) = self.take_raw() else {
            return Ok(RequestDone::new());
        };
        match raw.send_with_routine::<D, Routine<D, K>>(&target.0, Routine(routine)) {
            Ok(()) => Ok(RequestDone::new()),
            Err((raw, status)) => Err((Self::presented(raw, given), status)),
        }
    }

    fn send_with_completion<D: crate::KmdfDriver>(
        self,
        target: &IoTarget,
        observe: bool,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        let given = self.given;
        let Some(raw) = self.take_raw() else {
            return Ok(RequestDone::new());
        };
        match raw.send_with_completion::<D>(&target.0, observe) {
            Ok(()) => Ok(RequestDone::new()),
            Err((raw, status)) => Err((Self::presented(raw, given), status)),
        }
    }

    /// Whether the request was cancelled (`WdfRequestIsCanceled`, for a request not marked
    /// cancelable).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn is_canceled(&self) -> bool {
        self.raw.as_ref().is_some_and(RequestHandle::is_canceled)
    }

    fn parameters(&self) -> Parameters {
        self.raw
            .as_ref()
            .map_or(Parameters::Other, RequestHandle::parameters)
    }
}

/// A request's zero-length buffers fail like `WdfRequestRetrieve*Buffer`: always
/// `STATUS_BUFFER_TOO_SMALL`, even for a minimum of 0.
fn at_least<T: ?Sized + AsRef<[u8]>>(buffer: &T, minimum: usize) -> NtResult<()> {
    let length = buffer.as_ref().len();
    if length == 0 || length < minimum {
        Err(NtStatus::BUFFER_TOO_SMALL)
    } else {
        Ok(())
    }
}

impl Request<'_, Read> {
    /// The number of bytes to read.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn length(&self) -> usize {
        if let Given::Length(length) = self.given {
            return length as usize;
        }
        match self.parameters() {
            Parameters::Read { length, .. } => length,
            _ => 0,
        }
    }

    /// `WdfRequestRetrieveOutputBuffer`: the buffer to fill, at least `minimum` bytes.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when shorter than `minimum` or empty;
    /// `STATUS_INVALID_DEVICE_REQUEST` when the device gives no safe access (neither buffered
    /// nor direct I/O).
    pub fn output_buffer(&mut self, minimum: usize) -> NtResult<&mut [u8]> {
        let buffer = self.raw_mut()?.read_buffer()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }
}

impl Request<'_, Write> {
    /// The number of bytes written.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn length(&self) -> usize {
        if let Given::Length(length) = self.given {
            return length as usize;
        }
        match self.parameters() {
            Parameters::Write { length, .. } => length,
            _ => 0,
        }
    }

    /// `WdfRequestRetrieveInputBuffer`: the data, at least `minimum` bytes.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`Request::<Read>::output_buffer`].
    pub fn input_buffer(&mut self, minimum: usize) -> NtResult<&[u8]> {
        let buffer = self.raw_mut()?.write_buffer()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }
}

/// Device-control requests, internal or not.
pub trait IoctlKind: RequestKind {}
impl IoctlKind for DeviceControl {}
impl IoctlKind for InternalDeviceControl {}

impl<K: IoctlKind> Request<'_, K> {
    /// The control code.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn ioctl_code(&self) -> IoControlCode {
        if let Given::Ioctl { code, .. } = self.given {
            return IoControlCode::from_raw(code);
        }
        match self.parameters() {
            Parameters::DeviceControl { code, .. } => code,
            _ => IoControlCode::from_raw(0),
        }
    }

    /// `InputBufferLength`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn input_length(&self) -> usize {
        if let Given::Ioctl { input, .. } = self.given {
            return input as usize;
        }
        match self.parameters() {
            Parameters::DeviceControl { input_length, .. } => input_length,
            _ => 0,
        }
    }

    /// `OutputBufferLength`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn output_length(&self) -> usize {
        if let Given::Ioctl { output, .. } = self.given {
            return output as usize;
        }
        match self.parameters() {
            Parameters::DeviceControl { output_length, .. } => output_length,
            _ => 0,
        }
    }

    /// `WdfRequestRetrieveInputBuffer`: at least `minimum` bytes of input.
    ///
    /// For METHOD_BUFFERED the input and output are one buffer, so this borrows the request
    /// mutably: the input view is gone before the output view is taken.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when shorter than `minimum` or absent;
    /// `STATUS_INVALID_DEVICE_REQUEST` for METHOD_NEITHER.
    pub fn input_buffer(&mut self, minimum: usize) -> NtResult<&[u8]> {
        let buffer = self.raw_mut()?.ioctl_input()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }

    /// `WdfRequestRetrieveOutputBuffer`: at least `minimum` bytes of output.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`input_buffer`](Self::input_buffer), and `STATUS_INVALID_DEVICE_REQUEST` for
    /// METHOD_IN_DIRECT, whose "output" buffer is the caller's pages probed for *read* access:
    /// read it with [`in_direct_buffer`](Self::in_direct_buffer).
    pub fn output_buffer(&mut self, minimum: usize) -> NtResult<&mut [u8]> {
        if self.ioctl_code().method() == TransferMethod::InDirect {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let buffer = self.raw_mut()?.ioctl_output()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }

    /// `WdfRequestRetrieveOutputBuffer` of a METHOD_IN_DIRECT request: at least `minimum` bytes
    /// of the caller's pages, read-only. The I/O manager probed them for read access only (data
    /// flowing to the device), so the caller may have passed memory it cannot write, and
    /// writing would change what it sent.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`input_buffer`](Self::input_buffer), and `STATUS_INVALID_DEVICE_REQUEST` for any
    /// other transfer method.
    pub fn in_direct_buffer(&mut self, minimum: usize) -> NtResult<&[u8]> {
        if self.ioctl_code().method() != TransferMethod::InDirect {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        let buffer: &[u8] = self.raw_mut()?.ioctl_output()?;
        at_least(buffer, minimum)?;
        Ok(buffer)
    }

    /// Copies a `T` out of the input buffer.
    ///
    /// # Errors
    ///
    /// As [`input_buffer`](Self::input_buffer) with `minimum` the size of `T`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn read_input<T: IoBuffer>(&mut self) -> NtResult<T> {
        // Only the value's bytes: KMDF checks the buffer has them (as `input_buffer` does).
        let input = self.raw_mut()?.ioctl_input_prefix(T::SIZE)?;
        T::read_from(input).ok_or(NtStatus::BUFFER_TOO_SMALL)
    }

    /// Writes `value` at the start of the output buffer; returns the byte count to report.
    ///
    /// # Errors
    ///
    /// As [`output_buffer`](Self::output_buffer) with `minimum` the size of `T`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn write_output<T: IoBuffer>(&mut self, value: &T) -> NtResult<usize> {
        if self.ioctl_code().method() == TransferMethod::InDirect {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        }
        // Only the value's bytes: KMDF checks the buffer has them (as `output_buffer` does).
        let output = self.raw_mut()?.ioctl_output_prefix(T::SIZE)?;
        value.write_to(output).ok_or(NtStatus::BUFFER_TOO_SMALL)
    }
}

/// An I/O target (`WDFIOTARGET`): the device below, where requests are sent
/// (`WdfDeviceGetIoTarget`).
#[derive(Clone, Copy, Debug)]
pub struct IoTarget(pub(crate) IoTargetHandle);

// A ticket to its device's record: slot and generation (see `Device`).
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
static_assertions::assert_eq_size!(IoTarget, [usize; 2]);
static_assertions::assert_impl_all!(IoTarget: Clone, Copy);
#[cfg(feature = "host")]
static_assertions::assert_impl_all!(IoTarget: Send, Sync);

/// A request marked cancelable (`WdfRequestMarkCancelableEx`): it cannot be completed,
/// forwarded or sent until unmarked.
///
/// Dropping it is [`park`](Self::park): the request stays the driver's, left to its cancel
/// routine.
#[must_use = "a cancelable request must be unmarked (or left to its cancel routine)"]
pub struct CancelableRequest<'r, K: RequestKind> {
    _thread: StaysOnItsThread<dyn ARequestIsFinishedInItsCallbackOrForwardedToAManualQueue>,
    raw: Option<sys::KeptHandle>,
    _kind: PhantomData<K>,
    _brand: Brand<'r>,
}

// The request's handle and its ownership cell (one word without a backend).
static_assertions::const_assert!(
    size_of::<CancelableRequest<'static, Read>>() <= 2 * size_of::<usize>()
);
static_assertions::assert_not_impl_any!(CancelableRequest<'static, Read>: Send, Sync, Clone);
static_assertions::assert_not_impl_any!(AnyRequest<'static>: Send, Sync);

/// A cancel routine for requests of kind `K` (`EvtRequestCancel`): it gets the request back
/// and returns that request's proof.
pub type CancelFn<K> = for<'r> fn(Request<'r, K>) -> RequestDone<'r>;

/// A user's cancel routine, by request kind (`EvtRequestCancel`).
///
/// `pub` only because a sealed trait's method names it; it cannot be named outside the crate.
#[derive(Clone, Copy)]
#[allow(
    unreachable_pub,
    reason = "named by the sealed trait `request::sealed::StoreCancel`"
)]
pub enum CancelRoutine {
    /// For reads.
    Read(CancelFn<Read>),
    /// For writes.
    Write(CancelFn<Write>),
    /// For device controls.
    DeviceControl(CancelFn<DeviceControl>),
    /// For internal device controls.
    InternalDeviceControl(CancelFn<InternalDeviceControl>),
    /// For creates.
    Create(CancelFn<Create>),
}

mod sealed {
    use super::{CancelRoutine, RequestKind};

    /// Stores a kind's cancel routine in the request object.
    pub trait StoreCancel: RequestKind + Sized {
        fn routine(f: super::CancelFn<Self>) -> CancelRoutine;
    }
}

/// Request kinds that can be marked cancelable. The cancel routine (`EvtRequestCancel`) gets the
/// cancelled request and must complete it (normally with `STATUS_CANCELLED`).
pub trait Cancelable: sealed::StoreCancel {}

impl<K: sealed::StoreCancel> Cancelable for K {}

macro_rules! cancelable {
    ($($kind:ident),*) => {$(
        impl sealed::StoreCancel for $kind {
            fn routine(f: CancelFn<Self>) -> CancelRoutine {
                CancelRoutine::$kind(f)
            }
        }
    )*};
}

cancelable!(Create, Read, Write, DeviceControl, InternalDeviceControl);

/// What the seam calls when a cancelable request is cancelled: the driver's routine, with the
/// request typed by its kind.
impl sys::CancelCallback for CancelRoutine {
    fn cancel(self, request: RequestHandle) {
        let _done: RequestDone<'_> = match self {
            Self::Create(f) => f(Request::from_raw(request)),
            Self::Read(f) => f(Request::from_raw(request)),
            Self::Write(f) => f(Request::from_raw(request)),
            Self::DeviceControl(f) => f(Request::from_raw(request)),
            Self::InternalDeviceControl(f) => f(Request::from_raw(request)),
        };
    }
}

impl<'r, K: Cancelable> Request<'r, K> {
    /// `WdfRequestMarkCancelableEx`: from now on a cancellation (a queue purge, or the sender
    /// cancelling) calls `on_cancel` with the request instead of leaving it to the driver.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_CANCELLED` with the request handed back when it was cancelled already; the
    /// cancel routine will not run, and the driver completes the request itself.
    pub fn mark_cancelable(
        self,
        on_cancel: CancelFn<K>,
    ) -> Result<CancelableRequest<'r, K>, (Self, NtStatus)> {
        let given = self.given;
        let Some(raw) = self.take_raw() else {
            return Ok(CancelableRequest {
                _thread: PhantomData,
                raw: None,
                _kind: PhantomData,
                _brand: PhantomData,
            });
        };
        match raw.mark_cancelable(K::routine(on_cancel)) {
            Ok(raw) => Ok(CancelableRequest {
                _thread: PhantomData,
                raw: Some(raw),
                _kind: PhantomData,
                _brand: PhantomData,
            }),
            Err((raw, status)) => Err((Self::presented(raw, given), status)),
        }
    }
}

/// Why [`CancelableRequest::unmark`] did not give the request back: the cancel routine won the
/// race and finishes the request; it is no longer yours.
#[derive(Debug)]
pub struct Cancelled<'r>(RequestDone<'r>);

impl<'r> Cancelled<'r> {
    /// The proof the I/O callback returns: the cancel routine finished the request.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn into_done(self) -> RequestDone<'r> {
        self.0
    }
}

impl<'r, K: RequestKind> CancelableRequest<'r, K> {
    /// `WdfRequestUnmarkCancelable`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the request was cancelled: its cancel routine completes it (it runs
    /// now, if it was waiting for this request to be let go); you must not touch it.
    pub fn unmark(mut self) -> Result<Request<'r, K>, Cancelled<'r>> {
        let Some(raw) = self.raw.take() else {
            return Err(Cancelled(RequestDone::new()));
        };
        match raw.unmark() {
            Ok(raw) => Ok(Request::from_raw(raw)),
            Err(_cancelled) => Err(Cancelled(RequestDone::new())),
        }
    }

    /// Leaves the request to its cancel routine and returns from the I/O callback: the driver
    /// still owns the request, and a cancellation (a queue purge, removal or unload) completes
    /// it through the routine. This is KMDF's "mark cancelable and return" pattern.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn park(mut self) -> RequestDone<'r> {
        if let Some(raw) = self.raw.take() {
            raw.leave();
        }
        RequestDone::new()
    }
}

impl<'r, K: RequestKind> CancelableRequest<'r, K> {
    /// Keeps the request in the driver's state past the callback — the C echo sample's
    /// `CurrentRequest` in its queue context — and returns from the callback. Whoever finishes
    /// it later (a timer, on another processor) calls [`KeptRequest::unmark`]; if the request
    /// is cancelled first (by its sender, a purge, the device's removal), its cancel routine
    /// gets it instead and `unmark` says so. Exactly one of them completes it: the other finds
    /// nothing to complete. A kept request holds no reference on the request, so it may outlive
    /// the request and its device.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn keep(mut self) -> (KeptRequest<K>, RequestDone<'r>) {
        let kept = KeptRequest {
            raw: self.raw.take(),
            _kind: PhantomData,
        };
        (kept, RequestDone::new())
    }
}

/// A cancelable request the driver keeps in its state (see [`CancelableRequest::keep`]): it may
/// be moved to and finished on any thread. Dropping it leaves the request to its cancel
/// routine, as [`CancelableRequest::park`] does.
#[must_use = "a kept request is unmarked and completed, or left to its cancel routine"]
pub struct KeptRequest<K: RequestKind> {
    raw: Option<sys::KeptHandle>,
    _kind: PhantomData<fn() -> K>,
}

// The request's handle and its ownership cell (one word without a backend).
static_assertions::const_assert!(size_of::<KeptRequest<Read>>() <= 2 * size_of::<usize>());
static_assertions::assert_impl_all!(KeptRequest<Read>: Send, Sync);

impl<K: RequestKind> KeptRequest<K> {
    /// `WdfRequestUnmarkCancelable`: the request back, to complete (here, on this thread).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// [`Cancelled`] when the request was cancelled first: its cancel routine completes it (or
    /// has), and it is no longer yours.
    pub fn unmark(mut self) -> Result<Request<'static, K>, Cancelled<'static>> {
        let Some(kept) = self.raw.take() else {
            return Err(Cancelled(RequestDone::new()));
        };
        match kept.unmark() {
            Ok(raw) => Ok(Request::from_raw(raw)),
            Err(_cancelled) => Err(Cancelled(RequestDone::new())),
        }
    }
}

impl<K: RequestKind> Drop for KeptRequest<K> {
    fn drop(&mut self) {
        if let Some(kept) = self.raw.take() {
            kept.leave();
        }
    }
}

impl<K: RequestKind> Drop for CancelableRequest<'_, K> {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            raw.leave();
        }
    }
}

impl<K: RequestKind> Drop for Request<'_, K> {
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            raw.dropped();
        }
    }
}

/// A request retrieved from a queue that holds requests of several kinds.
pub enum AnyRequest<'r> {
    /// A create request.
    Create(Request<'r, Create>),
    /// A read.
    Read(Request<'r, Read>),
    /// A write.
    Write(Request<'r, Write>),
    /// A device-control request.
    DeviceControl(Request<'r, DeviceControl>),
    /// An internal device-control request.
    InternalDeviceControl(Request<'r, InternalDeviceControl>),
}

impl<'r> AnyRequest<'r> {
    pub(crate) fn from_raw(raw: RequestHandle) -> Self {
        match raw.request_type() {
            RequestType::Create => Self::Create(Request::from_raw(raw)),
            RequestType::Read => Self::Read(Request::from_raw(raw)),
            RequestType::Write => Self::Write(Request::from_raw(raw)),
            RequestType::DeviceControl => Self::DeviceControl(Request::from_raw(raw)),
            RequestType::InternalDeviceControl => {
                Self::InternalDeviceControl(Request::from_raw(raw))
            }
        }
    }

    /// Completes the request whatever its kind.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn complete_with_information(
        self,
        status: NtStatus,
        information: usize,
    ) -> RequestDone<'r> {
        match self {
            Self::Create(r) => r.complete_with_information(status, information),
            Self::Read(r) => r.complete_with_information(status, information),
            Self::Write(r) => r.complete_with_information(status, information),
            Self::DeviceControl(r) => r.complete_with_information(status, information),
            Self::InternalDeviceControl(r) => r.complete_with_information(status, information),
        }
    }
}
