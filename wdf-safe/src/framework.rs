//! The simulated framework: KMDF's object model and queue engine, built as a WDM driver on
//! `wdm-compat` (KMDF is a layer over IRPs, and so is this).
//!
//! Every IRP that reaches a device of the driver is routed by request type to a queue (a
//! dedicated one, else the default queue). One that no queue takes is completed with
//! `STATUS_INVALID_DEVICE_REQUEST`, or passed down on a filter. A queued IRP is marked pending
//! (the dispatch routine returns `STATUS_PENDING`, legal WDM even when the request completes
//! before the return) and becomes a request object, presented to the queue's callback or left
//! for the driver to retrieve.
//!
//! Simplifications, each visible only in timing:
//!
//! * presentation is pumped after every callback returns, not from inside `WdfRequestComplete`:
//!   a sequential queue presents its next request when the callback that finished the previous
//!   one returns;
//! * a request is cancelled by a queue purge, or is found cancelled when marked cancelable;
//!   a user-mode `CancelIo` on a request the driver holds is not delivered to it;
//! * no power management, file objects, or execution-level / synchronization-scope
//!   serialization: callbacks run on the thread that sent the request.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use wdm_compat::io::Completion;
use wdm_compat::{
    Device as WdmDevice, DispatchStatus, Irp, IrpOutcome, LowerDevice, NamedDevice, NtStatus,
    OwnedDevice, Parameters, PendingIrp, SpinLock,
};

use crate::kind::{DispatchType, RequestType};
use crate::request::{AnyRequest, RequestDone};
use crate::sys::{HasIrpCell, IrpCell, IrpSlot};

/// Leaks `value`: framework objects live as long as the process, so a stale handle is a state
/// error, never a dangling pointer (the same rule as the simulated I/O manager).
pub(crate) fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// Reports a verifier finding: to the simulated I/O manager's verifier on the host, as a trace
/// line elsewhere.
pub(crate) fn report(rule: &'static str, bug_check: Option<(u32, [usize; 4])>, message: &str) {
    #[cfg(feature = "host")]
    {
        let _ = wdm_compat::host::report_framework_violation(rule, bug_check, true, message);
    }
    #[cfg(not(feature = "host"))]
    {
        let _ = bug_check;
        wdm_compat::kd_print!("WDF detected a potentially invalid operation ({rule}): {message}");
    }
}

/// Reports a PASSIVE_LEVEL-only DDI called above PASSIVE_LEVEL (SDV KmdfIrql; the KMDF verifier
/// breaks and fails the call).
pub(crate) fn check_passive(ddi: &str) {
    #[cfg(feature = "host")]
    if wdm_compat::host::simulated_irql() > 0 {
        report(
            "KmdfIrql",
            None,
            &alloc::format!(
                "{ddi} called at IRQL {}; it requires PASSIVE_LEVEL",
                wdm_compat::host::simulated_irql()
            ),
        );
    }
    #[cfg(not(feature = "host"))]
    let _ = ddi;
}

/// `WDF_VIOLATION`.
const WDF_VIOLATION: u32 = 0x10D;
/// `WDF_REQUEST_FATAL_ERROR`.
const REQUEST_FATAL_ERROR: usize = 6;
/// `WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH`.
const INFORMATION_LENGTH_MISMATCH: usize = 4;

// ---------------------------------------------------------------------------------------------
// Requests

/// A user's cancel routine, by request kind (`EvtRequestCancel`).
///
/// `pub` only because a sealed trait's method names it; the module is private.
#[derive(Clone, Copy)]
#[allow(
    unreachable_pub,
    reason = "named by the sealed trait `request::sealed::StoreCancel`"
)]
pub enum CancelRoutine {
    /// For reads.
    Read(fn(crate::Request<crate::kind::Read>) -> RequestDone),
    /// For writes.
    Write(fn(crate::Request<crate::kind::Write>) -> RequestDone),
    /// For device controls.
    DeviceControl(fn(crate::Request<crate::kind::DeviceControl>) -> RequestDone),
    /// For internal device controls.
    InternalDeviceControl(fn(crate::Request<crate::kind::InternalDeviceControl>) -> RequestDone),
    /// For creates.
    Create(fn(crate::Request<crate::kind::Create>) -> RequestDone),
}

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

/// Completes the request in `slot` (`WdfRequestCompleteWithInformation`).
pub(crate) fn complete(mut slot: IrpSlot<FxRequest>, status: NtStatus, information: usize) {
    let request = slot.owner();
    // A cancelable request cannot be completed (`CancelableRequest` has no `complete`), and a
    // request is completed through its one slot, consumed here: the types rule out SDV
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

/// A request that just arrived, wrapped around its pended IRP.
fn new_request(
    irp: PendingIrp,
    request_type: RequestType,
    parameters: Parameters,
    lower: Option<LowerDevice>,
) -> &'static FxRequest {
    leak(FxRequest {
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
    })
}

// ---------------------------------------------------------------------------------------------
// Queues

pub(crate) struct QueueState {
    pub(crate) pending: VecDeque<&'static FxRequest>,
    /// Requests of this queue the driver holds (presented or retrieved).
    pub(crate) driver_owned: usize,
    pub(crate) started: bool,
    pub(crate) accepting: bool,
}

/// The part of a queue that does not depend on the driver type: its requests and state.
pub(crate) struct QueueCore {
    pub(crate) dispatch: DispatchType,
    pub(crate) allow_zero_length: bool,
    pub(crate) state: SpinLock<QueueState>,
    /// The device the queue belongs to, by identity (forwarding stays within one device).
    pub(crate) device: usize,
}

impl QueueCore {
    pub(crate) fn new(dispatch: DispatchType, allow_zero_length: bool, device: usize) -> Self {
        Self {
            dispatch,
            allow_zero_length,
            state: SpinLock::new(QueueState {
                pending: VecDeque::new(),
                driver_owned: 0,
                started: true,
                accepting: true,
            }),
            device,
        }
    }

    pub(crate) fn release_one(&self) {
        let mut state = self.state.lock();
        state.driver_owned = state.driver_owned.saturating_sub(1);
    }

    /// Adds an arriving or forwarded request at the tail.
    pub(crate) fn enqueue(&'static self, request: &'static FxRequest) -> Result<(), NtStatus> {
        let mut state = self.state.lock();
        if !state.accepting {
            return Err(NtStatus::WDF_BUSY);
        }
        request.state.lock().owner = Owner::Queued;
        state.pending.push_back(request);
        Ok(())
    }

    /// Takes the next request for the driver (presentation or retrieval) and counts it.
    pub(crate) fn take_next(&'static self) -> Option<&'static FxRequest> {
        let mut state = self.state.lock();
        let request = state.pending.pop_front()?;
        state.driver_owned += 1;
        let mut request_state = request.state.lock();
        request_state.owner = Owner::Driver;
        request_state.queue = Some(self);
        drop(request_state);
        Some(request)
    }

    /// Whether the queue may present a request now.
    fn can_present(&self) -> bool {
        let state = self.state.lock();
        state.started
            && !state.pending.is_empty()
            && match self.dispatch {
                DispatchType::Sequential => state.driver_owned == 0,
                DispatchType::Parallel => true,
                DispatchType::Manual => false,
            }
    }

    /// `WdfIoQueueRetrieveNextRequest`.
    pub(crate) fn retrieve(&'static self) -> Result<AnyRequest, NtStatus> {
        {
            let state = self.state.lock();
            if !state.started {
                return Err(NtStatus::WDF_PAUSED);
            }
        }
        let request = self.take_next().ok_or(NtStatus::NO_MORE_ENTRIES)?;
        let slot = crate::sys::claim(request).ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        Ok(AnyRequest::from_slot(slot))
    }

    /// `WdfIoQueuePurgeSynchronously`: stops accepting, cancels what is queued, and cancels or
    /// reports what the driver holds.
    pub(crate) fn purge(&'static self, when: &str) {
        let queued: Vec<&'static FxRequest> = {
            let mut state = self.state.lock();
            state.accepting = false;
            state.pending.drain(..).collect()
        };
        for request in queued {
            if let Some(slot) = crate::sys::claim(request) {
                request.state.lock().owner = Owner::Driver;
                complete(slot, NtStatus::CANCELLED, 0);
            }
        }
        self.cancel_driver_owned(when);
    }

    /// Delivers `EvtRequestCancel` to cancelable driver-owned requests of this queue and reports
    /// the non-cancelable ones as leaks (the real framework would wait forever).
    fn cancel_driver_owned(&'static self, when: &str) {
        let owned: Vec<&'static FxRequest> = all_requests_of(self);
        for request in owned {
            let cancel = {
                let mut state = request.state.lock();
                state.cancelled = true;
                state.cancel.take()
            };
            match cancel {
                Some(routine) => match crate::sys::claim(request) {
                    Some(slot) => run_cancel(routine, slot),
                    // The driver is holding it right now: the routine runs when it lets go.
                    None => request.state.lock().cancel_deferred = Some(routine),
                },
                None => report(
                    "RequestCompleted",
                    None,
                    &alloc::format!(
                        "a {:?} request is still owned by the driver at {when}; the framework \
                         would wait for it forever",
                        request.request_type
                    ),
                ),
            }
        }
    }
}

/// Requests the driver holds from `queue` (they are tracked only through their state).
fn all_requests_of(queue: &'static QueueCore) -> Vec<&'static FxRequest> {
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

/// Every request ever created (requests are leaked objects; this only finds the live ones).
static REGISTRY: SpinLock<Vec<&'static FxRequest>> = SpinLock::new(Vec::new());

/// Runs a cancel routine that was waiting for the driver to let go of the request.
pub(crate) fn run_deferred_cancel(slot: IrpSlot<FxRequest>) {
    let deferred = slot.owner().state.lock().cancel_deferred.take();
    if let Some(routine) = deferred {
        run_cancel(routine, slot);
    }
}

/// A [`crate::Request`] was dropped while the driver owned it: KMDF would wait for it forever.
pub(crate) fn dropped(slot: &IrpSlot<FxRequest>) {
    let request = slot.owner();
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

/// The object a request handle points at after a consuming method emptied it (never reached:
/// every such method consumes the handle).
pub(crate) fn detached_request() -> &'static FxRequest {
    static DETACHED: SpinLock<Option<&'static FxRequest>> = SpinLock::new(None);
    let mut detached = DETACHED.lock();
    detached.get_or_insert_with(|| {
        leak(FxRequest {
            irp: IrpCell::empty(),
            request_type: RequestType::Read,
            parameters: Parameters::Other,
            lower: None,
            state: SpinLock::new(RequestState {
                owner: Owner::Finished,
                queue: None,
                cancel: None,
                cancel_deferred: None,
                cancelled: false,
                information: 0,
            }),
        })
    })
}

fn run_cancel(routine: CancelRoutine, slot: IrpSlot<FxRequest>) {
    let _done = match routine {
        CancelRoutine::Read(f) => f(crate::Request::from_slot(slot)),
        CancelRoutine::Write(f) => f(crate::Request::from_slot(slot)),
        CancelRoutine::DeviceControl(f) => f(crate::Request::from_slot(slot)),
        CancelRoutine::InternalDeviceControl(f) => f(crate::Request::from_slot(slot)),
        CancelRoutine::Create(f) => f(crate::Request::from_slot(slot)),
    };
}

/// The callbacks of a presenting queue.
pub(crate) struct Callbacks<D> {
    pub(crate) create: Option<fn(&D, crate::Request<crate::kind::Create>) -> RequestDone>,
    pub(crate) read: Option<fn(&D, crate::Request<crate::kind::Read>) -> RequestDone>,
    pub(crate) write: Option<fn(&D, crate::Request<crate::kind::Write>) -> RequestDone>,
    pub(crate) device_control:
        Option<fn(&D, crate::Request<crate::kind::DeviceControl>) -> RequestDone>,
    pub(crate) internal_device_control:
        Option<fn(&D, crate::Request<crate::kind::InternalDeviceControl>) -> RequestDone>,
    /// The queue's `EvtCleanupCallback`.
    pub(crate) cleanup: Option<fn(&D)>,
}

impl<D> Callbacks<D> {
    pub(crate) const fn none() -> Self {
        Self {
            create: None,
            read: None,
            write: None,
            device_control: None,
            internal_device_control: None,
            cleanup: None,
        }
    }

    pub(crate) const fn handles(&self, request_type: RequestType) -> bool {
        match request_type {
            RequestType::Create => self.create.is_some(),
            RequestType::Read => self.read.is_some(),
            RequestType::Write => self.write.is_some(),
            RequestType::DeviceControl => self.device_control.is_some(),
            RequestType::InternalDeviceControl => self.internal_device_control.is_some(),
        }
    }

    pub(crate) const fn is_empty(&self) -> bool {
        self.create.is_none()
            && self.read.is_none()
            && self.write.is_none()
            && self.device_control.is_none()
            && self.internal_device_control.is_none()
    }
}

/// A queue: its core and its callbacks.
pub(crate) struct FxQueue<D> {
    pub(crate) core: &'static QueueCore,
    pub(crate) callbacks: Callbacks<D>,
}

impl<D> FxQueue<D> {
    /// Presents requests while the queue allows it.
    fn pump(&self, driver: &D) {
        while self.core.can_present() {
            let Some(request) = self.core.take_next() else {
                break;
            };
            let Some(slot) = crate::sys::claim(request) else {
                break;
            };
            let _done = self.present(driver, slot);
        }
    }

    fn present(&self, driver: &D, slot: IrpSlot<FxRequest>) -> Option<RequestDone> {
        let c = &self.callbacks;
        Some(match slot.owner().request_type {
            RequestType::Create => (c.create?)(driver, crate::Request::from_slot(slot)),
            RequestType::Read => (c.read?)(driver, crate::Request::from_slot(slot)),
            RequestType::Write => (c.write?)(driver, crate::Request::from_slot(slot)),
            RequestType::DeviceControl => {
                (c.device_control?)(driver, crate::Request::from_slot(slot))
            }
            RequestType::InternalDeviceControl => {
                (c.internal_device_control?)(driver, crate::Request::from_slot(slot))
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Devices

/// The WDM device object behind a control device, and its link.
pub(crate) enum DeviceGuard<D: 'static> {
    Plain(OwnedDevice<&'static FxDevice<D>>),
    #[allow(
        dead_code,
        reason = "held for its drop: it removes the link, then the device"
    )]
    Named(NamedDevice<&'static FxDevice<D>>),
}

/// A framework device object (`FxDevice`).
pub(crate) struct FxDevice<D: 'static> {
    /// `WdfFdoInitSetFilter` was called.
    pub(crate) filter: AtomicBool,
    /// `WdfDeviceCreate` succeeded for it.
    pub(crate) created: AtomicBool,
    /// A filter whose `EvtDriverDeviceAdd` failed or created no device: the stand-in object
    /// passes every IRP down.
    pub(crate) transparent: AtomicBool,
    /// Its queues were purged and its cleanup callbacks ran.
    pub(crate) disposed: AtomicBool,
    pub(crate) ready: AtomicBool,
    pub(crate) name: SpinLock<Option<&'static str>>,
    /// What the init set up.
    pub(crate) settings: SpinLock<crate::device::InitSettings>,
    pub(crate) default_queue: SpinLock<Option<&'static FxQueue<D>>>,
    pub(crate) dispatching: SpinLock<[Option<&'static FxQueue<D>>; 5]>,
    pub(crate) queues: SpinLock<Vec<&'static FxQueue<D>>>,
    pub(crate) guard: SpinLock<Option<DeviceGuard<D>>>,
    pub(crate) cleanup: SpinLock<Vec<fn(&D)>>,
    pub(crate) contexts: SpinLock<Vec<crate::context::Attached>>,
    /// The physical device object under a PnP device (`None` for a control device).
    pub(crate) physical: SpinLock<Option<wdm_compat::PhysicalDevice>>,
    /// Enabled device interfaces; disabled when the device goes.
    pub(crate) interfaces: SpinLock<Vec<wdm_compat::DeviceInterface>>,
}

impl<D> FxDevice<D> {
    pub(crate) fn new() -> Self {
        Self {
            filter: AtomicBool::new(false),
            created: AtomicBool::new(false),
            transparent: AtomicBool::new(false),
            disposed: AtomicBool::new(false),
            ready: AtomicBool::new(false),
            name: SpinLock::new(None),
            settings: SpinLock::new(crate::device::InitSettings::DEFAULT),
            default_queue: SpinLock::new(None),
            dispatching: SpinLock::new([None; 5]),
            queues: SpinLock::new(Vec::new()),
            guard: SpinLock::new(None),
            cleanup: SpinLock::new(Vec::new()),
            contexts: SpinLock::new(Vec::new()),
            physical: SpinLock::new(None),
            interfaces: SpinLock::new(Vec::new()),
        }
    }

    /// The identity queues are checked against.
    pub(crate) fn id(&'static self) -> usize {
        core::ptr::from_ref(self).addr()
    }

    pub(crate) fn is_filter(&self) -> bool {
        self.filter.load(Ordering::Acquire)
    }

    pub(crate) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn queue_for(&self, request_type: RequestType) -> Option<&'static FxQueue<D>> {
        let dedicated = self
            .dispatching
            .lock()
            .get(request_type.index())
            .copied()
            .flatten();
        if request_type == RequestType::Create {
            // Creates reach a queue only through WdfDeviceConfigureRequestDispatching; without
            // one the framework handles them (EvtDeviceFileCreate's default).
            return dedicated;
        }
        dedicated.or(*self.default_queue.lock())
    }

    pub(crate) fn pump_all(&self, driver: &D) {
        let queues: Vec<&'static FxQueue<D>> = self.queues.lock().clone();
        for queue in queues {
            queue.pump(driver);
        }
    }

    /// Deletes the device's queues and runs cleanup callbacks, children (queues) before the
    /// parent (the device): purge every queue, then the device's own cleanup callbacks.
    pub(crate) fn dispose(&'static self, driver: &D, when: &str) {
        if self.disposed.swap(true, Ordering::AcqRel) {
            // Cleanup runs once (a failed EvtDriverDeviceAdd disposed of it already).
            return;
        }
        let queues: Vec<&'static FxQueue<D>> = self.queues.lock().clone();
        for queue in &queues {
            queue.core.purge(when);
        }
        // Children first: every queue's cleanup runs before the device's.
        for queue in queues {
            if let Some(cleanup) = queue.callbacks.cleanup {
                cleanup(driver);
            }
        }
        let callbacks: Vec<fn(&D)> = self.cleanup.lock().clone();
        for cleanup in callbacks {
            cleanup(driver);
        }
        // Context cleanup callbacks, in the order the contexts were attached.
        let contexts: Vec<_> = self
            .contexts
            .lock()
            .iter()
            .filter_map(|c| c.cleanup)
            .collect();
        for cleanup in contexts {
            cleanup();
        }
        // Interfaces are disabled first (the framework does it on removal), outside the lock.
        let interfaces: Vec<wdm_compat::DeviceInterface> =
            self.interfaces.lock().drain(..).collect();
        drop(interfaces);
        // Taken out first: deleting the device object must not happen under the spin lock
        // (IoDeleteDevice needs IRQL <= APC_LEVEL).
        let guard = self.guard.lock().take();
        drop(guard);
    }
}

// ---------------------------------------------------------------------------------------------
// The framework as a WDM driver

/// The simulated framework hosting the KMDF driver `D`.
pub(crate) struct Framework<D: crate::KmdfDriver> {
    pub(crate) driver: D,
    pub(crate) control_devices: Vec<&'static FxDevice<D>>,
    pub(crate) pnp_devices: SpinLock<Vec<&'static FxDevice<D>>>,
}

/// The request type of a major function, if KMDF queues it.
fn request_type(parameters: Parameters, major: wdm_compat::MajorFunction) -> Option<RequestType> {
    use wdm_compat::MajorFunction as Mj;
    match (major, parameters) {
        (Mj::CREATE, _) => Some(RequestType::Create),
        (Mj::READ, _) => Some(RequestType::Read),
        (Mj::WRITE, _) => Some(RequestType::Write),
        (Mj::DEVICE_CONTROL, _) => Some(RequestType::DeviceControl),
        (Mj::INTERNAL_DEVICE_CONTROL, _) => Some(RequestType::InternalDeviceControl),
        _ => None,
    }
}

impl<D: crate::KmdfDriver> Framework<D> {
    /// `FxPkgIo::Dispatch`: route one IRP to a queue.
    fn dispatch(
        &self,
        device: &WdmDevice<&'static FxDevice<D>>,
        major: wdm_compat::MajorFunction,
        mut irp: Irp,
    ) -> DispatchStatus {
        let fx = *device.extension();
        let filter = fx.is_filter();
        if fx.transparent.load(Ordering::Acquire)
            && let Some(lower) = device.lower()
        {
            return irp.forward(lower);
        }
        if !fx.is_ready() {
            // A control device before WdfControlFinishInitializing gets no I/O.
            return irp.complete(NtStatus::INVALID_DEVICE_STATE);
        }
        let parameters = irp.request().parameters();
        let Some(request_type) = request_type(parameters, major) else {
            if major == wdm_compat::MajorFunction::CLOSE {
                self.driver.on_file_close();
            }
            return pass_or_fail(irp, device.lower(), filter, major);
        };
        let Some(queue) = fx.queue_for(request_type) else {
            return match (request_type, device.lower()) {
                (_, Some(lower)) if filter => irp.forward(lower),
                // Without a create queue the framework opens the handle itself.
                (RequestType::Create, _) => irp.complete(NtStatus::SUCCESS),
                _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
            };
        };
        if queue.core.dispatch != DispatchType::Manual && !queue.callbacks.handles(request_type) {
            return match device.lower() {
                Some(lower) if filter => irp.forward(lower),
                _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
            };
        }
        let zero_length = matches!(
            parameters,
            Parameters::Read { length: 0, .. } | Parameters::Write { length: 0, .. }
        );
        if zero_length && !queue.core.allow_zero_length {
            return irp.complete(NtStatus::SUCCESS);
        }
        let (status, pending) = irp.mark_pending();
        let request = new_request(pending, request_type, parameters, device.lower().copied());
        REGISTRY.lock().push(request);
        if queue.core.enqueue(request).is_err() {
            // The queue was purged and accepts nothing: the framework fails the request.
            if let Some(slot) = crate::sys::claim(request) {
                request.state.lock().owner = Owner::Driver;
                complete(slot, NtStatus::INVALID_DEVICE_STATE, 0);
            }
            return status;
        }
        fx.pump_all(&self.driver);
        status
    }
}

/// A major function KMDF does not queue: a filter passes it down; a function or control
/// device completes close/cleanup itself and fails the rest.
fn pass_or_fail(
    irp: Irp,
    lower: Option<&LowerDevice>,
    filter: bool,
    major: wdm_compat::MajorFunction,
) -> DispatchStatus {
    use wdm_compat::MajorFunction as Mj;
    match lower {
        Some(lower) if filter || major == Mj::PNP || major == Mj::POWER => irp.forward(lower),
        _ if major == Mj::CLOSE || major == Mj::CLEANUP => irp.complete(NtStatus::SUCCESS),
        _ => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// The completion observer behind [`crate::Request::send_observed`].
pub(crate) fn observe<D: crate::KmdfDriver>(
    framework: &Framework<D>,
    _device: &WdmDevice<&'static FxDevice<D>>,
    outcome: &IrpOutcome<'_>,
) {
    use wdm_compat::MajorFunction as Mj;
    use wdm_compat::io::RequestKind as Kind;
    let kind = match outcome.major_function() {
        Mj::CREATE => Kind::Create,
        Mj::READ => Kind::Read,
        Mj::WRITE => Kind::Write,
        Mj::DEVICE_CONTROL => Kind::DeviceControl,
        Mj::INTERNAL_DEVICE_CONTROL => Kind::InternalDeviceControl,
        _ => Kind::Other,
    };
    framework.driver.on_sent_request_completed(&Completion {
        kind,
        status: outcome.status(),
        information: outcome.information(),
        ioctl_code: outcome.ioctl_code(),
    });
}

impl<D: crate::KmdfDriver> wdm_compat::WdmDriver for Framework<D> {
    type DeviceExtension = &'static FxDevice<D>;

    const PNP: bool = D::PNP;

    fn driver_entry(
        setup: &mut wdm_compat::DriverSetup<'_, &'static FxDevice<D>>,
    ) -> wdm_compat::NtResult<Self> {
        let mut context = crate::DriverContext {
            setup,
            control_devices: Vec::new(),
        };
        let driver = D::driver_entry(&mut context)?;
        let mut control_devices = Vec::new();
        for device in context.control_devices {
            if device.is_ready() {
                control_devices.push(device);
            } else {
                report(
                    "CtlDeviceFinishInitDrEntry",
                    None,
                    "a control device created in DriverEntry was never finished \
                     (WdfControlFinishInitializing); it will never receive I/O",
                );
                control_devices.push(device);
            }
        }
        Ok(Self {
            driver,
            control_devices,
            pnp_devices: SpinLock::new(Vec::new()),
        })
    }

    fn unload(self) {
        self.driver.unload();
        // Non-PnP driver: the framework deletes the control devices after EvtDriverUnload.
        for device in &self.control_devices {
            device.dispose(&self.driver, "unload");
        }
        for device in self.pnp_devices.lock().iter() {
            device.dispose(&self.driver, "unload");
        }
    }

    fn add_device(
        &self,
        physical_device: &wdm_compat::PhysicalDevice,
    ) -> wdm_compat::NtResult<&'static FxDevice<D>> {
        let device = leak(FxDevice::new());
        *device.physical.lock() = Some(*physical_device);
        let init = crate::device::FdoInit::new(device);
        let result = self.driver.device_add(init);
        let created = device.created.load(Ordering::Acquire);
        if result.is_err() && created {
            // Created, then failed: the framework deletes the device (its cleanup runs: the
            // object was committed).
            device.dispose(&self.driver, "a failed EvtDriverDeviceAdd");
        }
        if device.is_filter() && (result.is_err() || !created) {
            // KMDF turns a filter's failure (or success without a device) into
            // STATUS_SUCCESS and the stack carries on without it. wdm-compat's AddDevice always
            // attaches a device, so the simulation attaches a transparent one that passes every
            // IRP down: what the stack observes is the same.
            device.transparent.store(true, Ordering::Release);
            device.ready.store(true, Ordering::Release);
            return Ok(device);
        }
        result?;
        if !created {
            // A function driver's EvtDriverDeviceAdd returned success without creating a
            // device: the stack has no function device and cannot start.
            return Err(NtStatus::NO_SUCH_DEVICE);
        }
        // The framework finishes an FDO's initialization when EvtDriverDeviceAdd returns.
        device.ready.store(true, Ordering::Release);
        self.pnp_devices.lock().push(device);
        Ok(device)
    }

    fn on_remove_device(&self, device: &WdmDevice<&'static FxDevice<D>>) {
        let fx = *device.extension();
        fx.dispose(&self.driver, "device removal");
    }

    fn on_create(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CREATE, irp)
    }

    fn on_close(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CLOSE, irp)
    }

    fn on_cleanup(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::CLEANUP, irp)
    }

    fn on_read(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::READ, irp)
    }

    fn on_write(&self, device: &WdmDevice<Self::DeviceExtension>, irp: Irp) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::WRITE, irp)
    }

    fn on_device_control(
        &self,
        device: &WdmDevice<Self::DeviceExtension>,
        irp: Irp,
    ) -> DispatchStatus {
        self.dispatch(device, wdm_compat::MajorFunction::DEVICE_CONTROL, irp)
    }

    fn on_internal_device_control(
        &self,
        device: &WdmDevice<Self::DeviceExtension>,
        irp: Irp,
    ) -> DispatchStatus {
        self.dispatch(
            device,
            wdm_compat::MajorFunction::INTERNAL_DEVICE_CONTROL,
            irp,
        )
    }

    fn on_other(&self, device: &WdmDevice<Self::DeviceExtension>, mut irp: Irp) -> DispatchStatus {
        let major = irp.request().major_function();
        let filter = device.extension().is_filter();
        pass_or_fail(irp, device.lower(), filter, major)
    }
}
