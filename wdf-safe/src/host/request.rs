//! Simulated `FxRequest`: a WDFREQUEST wrapped around a pended IRP, and the request half of the
//! seam ([`RequestHandle`]).

use alloc::vec::Vec;

use wdm_compat::{IoctlBuffers, LowerDevice, NtResult, NtStatus, Parameters, PendingIrp, SpinLock};

use super::queue::{QueueCore, QueueHandle};
use super::{Framework, leak, report};
use crate::kind::RequestType;
use crate::request::CancelRoutine;
use crate::sys::{HasIrpCell, IrpCell, IrpSlot};

/// `WDF_VIOLATION`.
const WDF_VIOLATION: u32 = 0x10D;
/// `WDF_REQUEST_FATAL_ERROR`.
const REQUEST_FATAL_ERROR: usize = 6;
/// `WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH`.
const INFORMATION_LENGTH_MISMATCH: usize = 4;

/// Where a request is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// In a queue, owned by the framework.
    Queued,
    /// Presented to or retrieved by the driver.
    Driver,
    /// Completed, forwarded down, or sent: gone.
    Finished,
}

pub(crate) struct RequestState {
    pub(crate) owner: Owner,
    /// The queue it belongs to (counts toward that queue's driver-owned requests).
    pub(crate) queue: Option<&'static QueueCore>,
    pub(crate) cancel: Option<CancelRoutine>,
    /// A cancel routine that could not run yet because the driver was holding the request.
    pub(crate) cancel_deferred: Option<CancelRoutine>,
    pub(crate) cancelled: bool,
    pub(crate) information: usize,
}

/// A framework request object (`FxRequest`).
pub(crate) struct FxRequest {
    irp: IrpCell,
    pub(crate) request_type: RequestType,
    pub(crate) parameters: Parameters,
    /// The default I/O target of the device it arrived at (the device below), if any.
    pub(crate) lower: Option<LowerDevice>,
    pub(crate) state: SpinLock<RequestState>,
}

impl HasIrpCell for FxRequest {
    fn irp_cell(&self) -> &IrpCell {
        &self.irp
    }
}

impl FxRequest {
    /// The length `Information` is checked against on success (facts: KMDF verifier,
    /// INFORMATION_LENGTH_MISMATCH): read length, write length, IOCTL output length.
    fn information_limit(&self) -> Option<usize> {
        match self.parameters {
            Parameters::Read { length, .. } | Parameters::Write { length, .. } => Some(length),
            Parameters::DeviceControl { output_length, .. }
                if self.request_type == RequestType::DeviceControl && output_length > 0 =>
            {
                Some(output_length)
            }
            _ => None,
        }
    }

    /// The driver gives the request up (completed, forwarded down, sent): its queue's count of
    /// driver-owned requests drops.
    pub(crate) fn finish(&self) -> bool {
        let queue = {
            let mut state = self.state.lock();
            if state.owner == Owner::Finished {
                return false;
            }
            state.owner = Owner::Finished;
            state.queue.take()
        };
        if let Some(queue) = queue {
            queue.release_one();
        }
        true
    }
}

/// Every request ever created (requests are leaked objects; purges look for the live ones).
static REGISTRY: SpinLock<Vec<&'static FxRequest>> = SpinLock::new(Vec::new());

/// A request that just arrived, wrapped around its pended IRP.
pub(crate) fn new_request(
    irp: PendingIrp,
    request_type: RequestType,
    parameters: Parameters,
    lower: Option<LowerDevice>,
) -> &'static FxRequest {
    let request = leak(FxRequest {
        irp: IrpCell::new(irp),
        request_type,
        parameters,
        lower,
        state: SpinLock::new(RequestState {
            owner: Owner::Queued,
            queue: None,
            cancel: None,
            cancel_deferred: None,
            cancelled: false,
            information: 0,
        }),
    });
    REGISTRY.lock().push(request);
    request
}

/// Requests the driver holds from `queue` (they are tracked only through their state).
pub(crate) fn driver_owned_of(queue: &'static QueueCore) -> Vec<&'static FxRequest> {
    REGISTRY
        .lock()
        .iter()
        .copied()
        .filter(|request| {
            let state = request.state.lock();
            state.owner == Owner::Driver && state.queue.is_some_and(|q| core::ptr::eq(q, queue))
        })
        .collect()
}

/// Completes the request in `slot` (`WdfRequestCompleteWithInformation`).
pub(crate) fn complete(mut slot: IrpSlot<FxRequest>, status: NtStatus, information: usize) {
    let request = slot.owner();
    // A cancelable request cannot be completed (`CancelableRequest` has no `complete`), and a
    // request is completed through its one handle, consumed here: the types rule out SDV
    // ReqNotCanceledLocal and DoubleCompletion, so the framework has nothing to check for them.
    if status.is_success()
        && let Some(limit) = request.information_limit()
        && information > limit
    {
        report(
            "WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH",
            Some((
                WDF_VIOLATION,
                [REQUEST_FATAL_ERROR, INFORMATION_LENGTH_MISMATCH, 0, 0],
            )),
            &alloc::format!(
                "request completed with Information {information} > buffer length {limit}"
            ),
        );
    }
    if !request.finish() {
        return;
    }
    if let Some(irp) = slot.take() {
        irp.complete_with_information(translate(status), information);
    }
}

/// The framework's translation of its own (`FACILITY_DRIVER_FRAMEWORK`) statuses at completion.
fn translate(status: NtStatus) -> NtStatus {
    const FACILITY_DRIVER_FRAMEWORK: u16 = 0x020;
    if status.facility() != FACILITY_DRIVER_FRAMEWORK || !status.is_error() {
        status
    } else if status == NtStatus::WDF_PAUSED || status == NtStatus::WDF_BUSY {
        NtStatus::DEVICE_BUSY
    } else if status == NtStatus::WDF_INTERNAL_ERROR {
        NtStatus::INTERNAL_ERROR
    } else {
        NtStatus::INVALID_DEVICE_REQUEST
    }
}

/// Runs `routine` (`EvtRequestCancel`) on the request in `slot`.
pub(crate) fn run_cancel(routine: CancelRoutine, slot: IrpSlot<FxRequest>) {
    let handle = RequestHandle(slot);
    let _done = match routine {
        CancelRoutine::Read(f) => f(crate::Request::from_raw(handle)),
        CancelRoutine::Write(f) => f(crate::Request::from_raw(handle)),
        CancelRoutine::DeviceControl(f) => f(crate::Request::from_raw(handle)),
        CancelRoutine::InternalDeviceControl(f) => f(crate::Request::from_raw(handle)),
        CancelRoutine::Create(f) => f(crate::Request::from_raw(handle)),
    };
}

/// Runs a cancel routine that was waiting for the driver to let go of the request.
fn run_deferred_cancel(slot: IrpSlot<FxRequest>) {
    let deferred = slot.owner().state.lock().cancel_deferred.take();
    if let Some(routine) = deferred {
        run_cancel(routine, slot);
    }
}

/// Reports a send while a spin lock is held (SDV ReqSendWhileSpinlock).
fn check_send_allowed() {
    if wdm_compat::host::spin_lock_held() {
        report(
            "ReqSendWhileSpinlock",
            None,
            "a request was sent while a spin lock was held",
        );
    }
}

/// The seam's `WDFREQUEST` handle on the host: the unique way into the request's IRP.
pub(crate) struct RequestHandle(IrpSlot<FxRequest>);

impl RequestHandle {
    pub(crate) const fn new(slot: IrpSlot<FxRequest>) -> Self {
        Self(slot)
    }

    fn fx(&self) -> &'static FxRequest {
        self.0.owner()
    }

    /// `WdfRequestGetParameters`'s `Type`.
    pub(crate) fn request_type(&self) -> RequestType {
        self.fx().request_type
    }

    /// `WdfRequestGetParameters`.
    pub(crate) fn parameters(&self) -> Parameters {
        self.fx().parameters
    }

    /// `WdfRequestSetInformation`.
    pub(crate) fn set_information(&self, information: usize) {
        self.fx().state.lock().information = information;
    }

    /// `WdfRequestGetInformation`.
    pub(crate) fn information(&self) -> usize {
        self.fx().state.lock().information
    }

    /// `WdfRequestCompleteWithInformation`.
    pub(crate) fn complete(self, status: NtStatus, information: usize) {
        complete(self.0, status, information);
    }

    /// `WdfRequestForwardToIoQueue`.
    pub(crate) fn forward_to_queue(self, queue: QueueHandle) -> Result<(), (Self, NtStatus)> {
        let fx = self.fx();
        let target = queue.core();
        let source = fx.state.lock().queue;
        let same_device = source.is_none_or(|q| q.device == target.device);
        let same_queue = source.is_some_and(|q| core::ptr::eq(q, target));
        if !same_device || same_queue {
            return Err((self, NtStatus::INVALID_DEVICE_REQUEST));
        }
        if let Err(status) = target.enqueue(fx) {
            fx.state.lock().owner = Owner::Driver;
            return Err((self, status));
        }
        // The source queue no longer counts it as driver-owned.
        let source = fx.state.lock().queue.take();
        if let Some(source) = source {
            source.release_one();
        }
        Ok(())
    }

    /// `WdfDeviceGetIoTarget` of the device the request arrived at.
    pub(crate) fn default_io_target(&self) -> Option<IoTargetHandle> {
        self.fx().lower.map(IoTargetHandle)
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSend(SEND_AND_FORGET)`.
    pub(crate) fn send_and_forget(
        mut self,
        target: &IoTargetHandle,
    ) -> Result<(), (Self, NtStatus)> {
        check_send_allowed();
        let Some(irp) = self.0.take() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        let _ = self.fx().finish();
        irp.forward(&target.0);
        Ok(())
    }

    /// `WdfRequestFormatRequestUsingCurrentType` + `WdfRequestSetCompletionRoutine` +
    /// `WdfRequestSend` (asynchronous).
    pub(crate) fn send_observed<D: crate::KmdfDriver>(
        mut self,
        target: &IoTargetHandle,
    ) -> Result<(), (Self, NtStatus)> {
        check_send_allowed();
        let Some(irp) = self.0.take() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        let _ = self.fx().finish();
        irp.forward_observing::<Framework<D>>(&target.0, super::observe::<D>);
        Ok(())
    }

    /// `WdfRequestIsCanceled`.
    pub(crate) fn is_canceled(&self) -> bool {
        let irp_cancelled = self
            .0
            .irp()
            .is_some_and(wdm_compat::PendingIrp::is_cancel_requested);
        irp_cancelled || self.fx().state.lock().cancelled
    }

    /// `WdfRequestRetrieveOutputBuffer` on a read (before the length check).
    pub(crate) fn read_buffer(&mut self) -> NtResult<&mut [u8]> {
        let irp = self.0.irp_mut().ok_or(NtStatus::INTERNAL_ERROR)?;
        irp.request().read_buffer()
    }

    /// `WdfRequestRetrieveInputBuffer` on a write (before the length check).
    pub(crate) fn write_buffer(&mut self) -> NtResult<&[u8]> {
        let irp = self.0.irp_mut().ok_or(NtStatus::INTERNAL_ERROR)?;
        irp.request()
            .write_buffer()
            .map(|buffer| -> &[u8] { buffer })
    }

    /// `WdfRequestRetrieveInputBuffer` on a device control (before the length check).
    pub(crate) fn ioctl_input(&mut self) -> NtResult<&[u8]> {
        let irp = self.0.irp_mut().ok_or(NtStatus::INTERNAL_ERROR)?;
        match irp.request().ioctl_buffers()? {
            IoctlBuffers::Buffered(buffers) => Ok(buffers.into_input()),
            IoctlBuffers::Direct(buffers) => Ok(buffers.into_input()),
            IoctlBuffers::Neither { .. } => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// `WdfRequestRetrieveOutputBuffer` on a device control (before the length check).
    pub(crate) fn ioctl_output(&mut self) -> NtResult<&mut [u8]> {
        let irp = self.0.irp_mut().ok_or(NtStatus::INTERNAL_ERROR)?;
        match irp.request().ioctl_buffers()? {
            IoctlBuffers::Buffered(buffers) => Ok(buffers.into_output()),
            IoctlBuffers::Direct(buffers) => Ok(buffers.into_output()),
            IoctlBuffers::Neither { .. } => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// `WdfRequestMarkCancelableEx`: fails with `STATUS_CANCELLED` when the request was
    /// cancelled already (the routine is not set then).
    pub(crate) fn mark_cancelable(self, routine: CancelRoutine) -> Result<Self, (Self, NtStatus)> {
        if self.is_canceled() {
            return Err((self, NtStatus::CANCELLED));
        }
        self.fx().state.lock().cancel = Some(routine);
        Ok(self)
    }

    /// `WdfRequestUnmarkCancelable`: `Err` (`STATUS_CANCELLED`) when the cancel routine owns the
    /// request now; a routine that was waiting for the driver to let go runs before this
    /// returns.
    pub(crate) fn unmark_cancelable(self) -> Result<Self, NtStatus> {
        let still_cancelable = self.fx().state.lock().cancel.take().is_some();
        if still_cancelable {
            Ok(self)
        } else {
            run_deferred_cancel(self.0);
            Err(NtStatus::CANCELLED)
        }
    }

    /// The driver returns from its callback leaving a cancelable request to its cancel
    /// routine; a routine that was waiting for the driver to let go runs now.
    pub(crate) fn leave_to_cancel_routine(self) {
        run_deferred_cancel(self.0);
    }

    /// A request handle was dropped without completing, forwarding or sending it: KMDF would
    /// wait for the request forever.
    pub(crate) fn dropped(self) {
        let request = self.fx();
        let owned = request.state.lock().owner == Owner::Driver;
        if owned {
            report(
                "RequestCompleted",
                None,
                &alloc::format!(
                    "a {:?} request was dropped without being completed, forwarded or sent; the \
                     framework will wait for it forever",
                    request.request_type
                ),
            );
        }
    }
}

/// The seam's `WDFIOTARGET` handle on the host: the device below.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IoTargetHandle(LowerDevice);
