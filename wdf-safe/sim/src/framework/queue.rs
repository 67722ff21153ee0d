//! `FxIoQueue`: queue creation, the dispatch loop that presents requests, stop, start, purge
//! and retrieval (shared/irphandlers/io/fxioqueue.cpp, fxioqueueapi.cpp; the header
//! shared/inc/private/common/fxioqueue.hpp).
//!
//! The dispatch loop (`DispatchEvents`) runs when a request arrives, when the queue starts and
//! when it is purged; after a request leaves the driver's hands the queue only re-enters it if
//! no loop is running on it (`DispatchInternalEvents`, guarded by `m_Dispatching`). So a
//! request completed inside its own callback lets the next one be presented after that callback
//! returns, by the same loop, while one completed later presents the next inside the
//! completion call. Requests cancelled while queued are completed with `STATUS_CANCELLED`
//! whatever the queue's state (`CancelForQueue`).

use std::collections::VecDeque;
use std::format;
use std::thread::ThreadId;
use std::time::{Duration, Instant};
use std::vec::Vec;

use wdm_compat::NtStatus;
use wdm_compat::host::{FileObject, IrpId};

use super::Cx;
use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle};
use super::request::{self, Owner};
use crate::ffi::bindings::{
    _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, _WDF_IO_QUEUE_STATE as QueueState,
    _WDF_REQUEST_TYPE as RequestType, PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    PFN_WDF_IO_QUEUE_IO_DEFAULT, PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL, PFN_WDF_IO_QUEUE_IO_READ,
    PFN_WDF_IO_QUEUE_IO_RESUME, PFN_WDF_IO_QUEUE_IO_STOP, PFN_WDF_IO_QUEUE_IO_WRITE,
    WDF_IO_QUEUE_DISPATCH_TYPE, WDF_REQUEST_TYPE,
};
use crate::ffi::callbacks;

/// The `EvtIo*` callbacks of a queue.
#[derive(Clone, Copy, Default)]
pub(crate) struct QueueCallbacks {
    pub(crate) default: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    pub(crate) read: PFN_WDF_IO_QUEUE_IO_READ,
    pub(crate) write: PFN_WDF_IO_QUEUE_IO_WRITE,
    pub(crate) device_control: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    pub(crate) internal_device_control: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    pub(crate) canceled_on_queue: PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    pub(crate) stop: PFN_WDF_IO_QUEUE_IO_STOP,
    pub(crate) resume: PFN_WDF_IO_QUEUE_IO_RESUME,
}

impl QueueCallbacks {
    /// Whether any of the five request callbacks is set.
    const fn any_request_callback(&self) -> bool {
        self.default.is_some()
            || self.read.is_some()
            || self.write.is_some()
            || self.device_control.is_some()
            || self.internal_device_control.is_some()
    }
}

/// `WDF_IO_QUEUE_CONFIG`, read by the table's entry.
pub(crate) struct QueueConfig {
    pub(crate) dispatch: WDF_IO_QUEUE_DISPATCH_TYPE,
    pub(crate) callbacks: QueueCallbacks,
    pub(crate) allow_zero_length: bool,
    pub(crate) default_queue: bool,
    pub(crate) presented_limit: u32,
    /// `PowerManaged` (`WDF_TRI_STATE`).
    pub(crate) power_managed: i32,
}

/// `FxIoQueue`.
pub(crate) struct QueueBody {
    pub(crate) device: Handle,
    pub(crate) dispatch: WDF_IO_QUEUE_DISPATCH_TYPE,
    pub(crate) callbacks: QueueCallbacks,
    allow_zero_length: bool,
    presented_limit: u32,
    /// `WdfIoQueueAcceptRequests`.
    accept: bool,
    /// `WdfIoQueueDispatchRequests`.
    dispatching: bool,
    pending: VecDeque<Handle>,
    /// `m_DriverIoCount`: presented or retrieved, not yet completed, forwarded or sent.
    driver_io: usize,
    /// `m_Dispatching`: dispatch loops running on the queue.
    loops: usize,
    /// `m_CancelDispatchedRequests`: set by a purge until the queue restarts or empties.
    cancel_dispatched: bool,
    /// `m_PowerManaged`: the queue stops and restarts with the device's D0.
    pub(crate) power_managed: bool,
    /// `m_PowerState` is on: a power-managed queue presents only while its device is in D0.
    pub(crate) powered: bool,
    /// A `WdfIoQueueStopSynchronously` waits for the queue to idle (its idle callback is
    /// registered).
    idling: bool,
    /// The callback lock its attributes asked for (`WdfSynchronizationScopeQueue`), or its
    /// device's (`WdfSynchronizationScopeDevice`, inherited).
    pub(crate) lock: Option<std::sync::Arc<super::serialization::CallbackLock>>,
}

impl QueueBody {
    /// `IsIoEventHandlerRegistered`: whether a request of `request_type` has a callback.
    pub(crate) const fn handles(&self, request_type: WDF_REQUEST_TYPE) -> bool {
        let c = &self.callbacks;
        c.default.is_some()
            || match request_type {
                RequestType::WdfRequestTypeRead => c.read.is_some(),
                RequestType::WdfRequestTypeWrite => c.write.is_some(),
                RequestType::WdfRequestTypeDeviceControl => c.device_control.is_some(),
                RequestType::WdfRequestTypeDeviceControlInternal => {
                    c.internal_device_control.is_some()
                }
                _ => false,
            }
    }

    pub(crate) const fn is_manual(&self) -> bool {
        self.dispatch == Dispatch::WdfIoQueueDispatchManual
    }

    pub(crate) const fn accepts(&self) -> bool {
        self.accept
    }

    pub(crate) const fn cancel_dispatched(&self) -> bool {
        self.cancel_dispatched
    }

    /// `QueueIdle`'s part of a power-managed purge: no more requests are accepted, and the
    /// waiting ones are taken out (for the caller to cancel).
    pub(crate) fn shut(&mut self) -> Vec<Handle> {
        self.accept = false;
        self.cancel_dispatched = true;
        self.pending.drain(..).collect()
    }

    /// Puts a request back at the head of the waiting ones.
    pub(crate) fn pending_push_front(&mut self, request: Handle) {
        self.pending.push_front(request);
    }

    /// `RequestCompletedCallback` / the source side of a forward: one request fewer in the
    /// driver's hands.
    pub(crate) fn release_one(&mut self) {
        self.driver_io = self.driver_io.saturating_sub(1);
        if self.driver_io == 0 {
            self.cancel_dispatched = false;
        }
    }

    /// Adds a request at the tail of the waiting ones.
    pub(crate) fn pending_push(&mut self, request: Handle) {
        self.pending.push_back(request);
    }

    /// Takes `request` off the list of waiting requests; whether it was there.
    pub(crate) fn unqueue(&mut self, request: Handle) -> bool {
        let before = self.pending.len();
        self.pending.retain(|r| *r != request);
        self.pending.len() != before
    }
}

/// `WdfIoQueueCreate` (checks in the order of `FxIoQueue::Initialize` and the DDI).
pub(crate) fn create(
    cx: &Cx,
    device: Handle,
    config: &QueueConfig,
    attributes: Option<&Attributes>,
) -> Result<Handle, NtStatus> {
    {
        let state = cx.lock();
        let body = state
            .objects
            .get(device)
            .and_then(|o| o.device())
            .ok_or(NtStatus::INVALID_HANDLE)?;
        if config.default_queue && body.initialized {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
    }
    if config.dispatch <= Dispatch::WdfIoQueueDispatchInvalid
        || config.dispatch >= Dispatch::WdfIoQueueDispatchMax
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let manual = config.dispatch == Dispatch::WdfIoQueueDispatchManual;
    if !manual && !config.callbacks.any_request_callback() {
        return Err(NtStatus::WDF_NO_CALLBACK);
    }
    if manual && config.callbacks.any_request_callback() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let parallel = config.dispatch == Dispatch::WdfIoQueueDispatchParallel;
    if !parallel && config.presented_limit != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // FxIoQueue::Initialize: by default a filter's queues are not power-managed and a function
    // driver's are; a control device's never are; a power-managed queue starts in the device's
    // power state.
    let (control, filter, in_d0, device_lock) = {
        let state = cx.lock();
        let body = state
            .objects
            .get(device)
            .and_then(|o| o.device())
            .ok_or(NtStatus::INVALID_HANDLE)?;
        (
            body.control,
            body.filter,
            body.power.in_d0,
            body.lock.clone(),
        )
    };
    // `_GetEffectiveLock`: a queue asking for `WdfSynchronizationScopeQueue` gets a lock of its
    // own; one inheriting its scope shares its device's, if the device asked for
    // `WdfSynchronizationScopeDevice`; `WdfSynchronizationScopeNone` gets none.
    let scope = attributes.map_or(SCOPE_INHERIT, |a| a.scope);
    let lock = match scope {
        SCOPE_QUEUE => Some(std::sync::Arc::default()),
        SCOPE_INHERIT => device_lock,
        _ => None,
    };
    let power_managed = !control
        && match config.power_managed {
            crate::ffi::bindings::_WDF_TRI_STATE::WdfTrue => true,
            crate::ffi::bindings::_WDF_TRI_STATE::WdfFalse => false,
            _ => !filter,
        };
    let parent = match attributes.and_then(|a| a.parent) {
        Some(raw) => {
            let parent = Handle::from_raw(raw).ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
            if parent != device {
                return Err(NtStatus::INVALID_DEVICE_REQUEST);
            }
            parent
        }
        None => device,
    };
    let body = Body::Queue(QueueBody {
        device,
        dispatch: config.dispatch,
        callbacks: config.callbacks,
        allow_zero_length: config.allow_zero_length,
        presented_limit: if parallel { config.presented_limit } else { 1 },
        accept: true,
        dispatching: true,
        pending: VecDeque::new(),
        driver_io: 0,
        loops: 0,
        cancel_dispatched: false,
        power_managed,
        powered: !power_managed || in_d0,
        idling: false,
        lock,
    });
    let queue = lifecycle::create_object(cx, Some(parent), attributes, body)?;
    if config.default_queue {
        let mut state = cx.lock();
        let body = state.objects.get_mut(device).and_then(|o| o.device_mut());
        match body {
            Some(body) if body.default_queue.is_none() => body.default_queue = Some(queue),
            _ => {
                // "Default Queue Already Configured": the new queue is deleted
                // (DeleteFromFailedCreate: no callbacks run).
                drop(state.objects.remove(queue));
                return Err(NtStatus::UNSUCCESSFUL);
            }
        }
    }
    Ok(queue)
}

/// `FxIoQueue::QueueRequest`: a new request arrives (after a purge the framework completes it
/// with `STATUS_INVALID_DEVICE_STATE`).
pub(crate) fn queue_request(cx: &Cx, queue: Handle, request: Handle) {
    let queued = {
        let mut state = cx.lock();
        let accepting = state
            .objects
            .get(queue)
            .and_then(|o| o.queue())
            .is_some_and(QueueBody::accepts);
        if accepting {
            request::enqueue_locked(cx, &mut state, queue, request)
        } else {
            None
        }
    };
    let Some(irp) = queued else {
        request::complete_unpresented(cx, request, NtStatus::INVALID_DEVICE_STATE);
        return;
    };
    request::cancel_if_already_cancelled(cx, request, irp);
    dispatch_events(cx, queue);
}

/// What the dispatch loop found to do next.
enum Next {
    Present {
        request: Handle,
        request_type: WDF_REQUEST_TYPE,
        callbacks: QueueCallbacks,
    },
    /// A zero-length read or write the queue does not present.
    CompleteZeroLength(Handle),
    Done,
}

/// `WdfSynchronizationScopeQueue`.
const SCOPE_QUEUE: i32 =
    crate::ffi::bindings::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeQueue;
/// `WdfSynchronizationScopeInheritFromParent`.
const SCOPE_INHERIT: i32 =
    crate::ffi::bindings::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent;

/// `DispatchEvents`: presents requests while the queue's kind and state allow.
pub(crate) fn dispatch_events(cx: &Cx, queue: Handle) {
    // The loop counter goes up with the first look and down with the last, under the same
    // locks as the looks themselves.
    let mut step = Step::First;
    loop {
        match next(cx, queue, step) {
            Next::Present {
                request,
                request_type,
                callbacks,
            } => present(cx, queue, request, request_type, &callbacks),
            Next::CompleteZeroLength(request) => {
                request::complete(cx, request, NtStatus::SUCCESS, 0, "the queue");
            }
            Next::Done => break,
        }
        step = Step::Again;
    }
}

/// Which look of one run of the dispatch loop this is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    First,
    Again,
}

/// `DispatchInternalEvents`: re-enters the loop only when none runs on the queue.
pub(crate) fn dispatch_internal_events(cx: &Cx, queue: Handle) {
    let idle = cx
        .lock()
        .objects
        .get(queue)
        .and_then(|o| o.queue())
        .is_some_and(|q| q.loops == 0);
    if idle {
        dispatch_events(cx, queue);
    }
}

/// One step of the loop, under the lock: the next request to present, if any.
fn next(cx: &Cx, queue: Handle, step: Step) -> Next {
    let mut state = cx.lock();
    if step == Step::First
        && let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut())
    {
        body.loops += 1;
    }
    loop {
        let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) else {
            return Next::Done;
        };
        let busy = match body.dispatch {
            Dispatch::WdfIoQueueDispatchSequential => body.driver_io > 0,
            Dispatch::WdfIoQueueDispatchParallel => body.driver_io >= body.presented_limit as usize,
            _ => true,
        };
        if !body.dispatching || !body.powered || busy {
            body.loops = body.loops.saturating_sub(1);
            return Next::Done;
        }
        let Some(request) = body.pending.pop_front() else {
            body.loops = body.loops.saturating_sub(1);
            return Next::Done;
        };
        let allow_zero_length = body.allow_zero_length;
        let callbacks = body.callbacks;
        // The queue's IRP cancel routine goes before the driver sees the request; if a
        // cancellation already took it, the cancel routine completes the request.
        if !request::take_from_queue_locked(cx, &mut state, request) {
            continue;
        }
        let Some(info) = state.objects.get(request).and_then(|o| o.request()) else {
            continue;
        };
        let request_type = info.request_type;
        if info.is_zero_length() && !allow_zero_length {
            return Next::CompleteZeroLength(request);
        }
        hand_to_driver_locked(&mut state, queue, request);
        return Next::Present {
            request,
            request_type,
            callbacks,
        };
    }
}

/// The request becomes the driver's (`InsertInDriverOwnedList`, `SetPresented`).
pub(crate) fn hand_to_driver_locked(state: &mut super::State, queue: Handle, request: Handle) {
    if let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) {
        body.driver_io += 1;
    }
    if let Some(info) = state.objects.get_mut(request).and_then(|o| o.request_mut()) {
        info.owner = Owner::Driver(std::thread::current().id());
        info.queue = Some(queue);
        info.presented = true;
    }
}

std::thread_local! {
    /// The queues whose `EvtIo*` callbacks this thread is inside, innermost last.
    static PRESENTING: core::cell::RefCell<Vec<Handle>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// This thread is inside an `EvtIo*` callback of the queue while it lives.
struct Presenting;

impl Presenting {
    fn enter(queue: Handle) -> Self {
        PRESENTING.with(|p| p.borrow_mut().push(queue));
        Self
    }
}

impl Drop for Presenting {
    fn drop(&mut self) {
        PRESENTING.with(|p| p.borrow_mut().pop());
    }
}

/// Whether this thread is inside an `EvtIo*` callback of `queue`.
pub(crate) fn in_callback_of(queue: Handle) -> bool {
    PRESENTING.with(|p| p.borrow().contains(&queue))
}

/// `DispatchRequestToDriver`: the callback for the request's type, else `EvtIoDefault`, else
/// `STATUS_INVALID_DEVICE_REQUEST`.
fn present(
    cx: &Cx,
    queue: Handle,
    request: Handle,
    request_type: WDF_REQUEST_TYPE,
    c: &QueueCallbacks,
) {
    let parameters = request::parameters(cx, request);
    // Released last: the queue outlives its callback.
    let _referenced = super::lifecycle::AroundCallback::new(cx, queue);
    // A synchronized queue's callbacks run one at a time, at DISPATCH_LEVEL.
    let lock = super::serialization::of_queue(cx, queue);
    let _held = lock.as_ref().map(|lock| lock.acquire(cx));
    let _presenting = Presenting::enter(queue);
    match request_type {
        RequestType::WdfRequestTypeRead if c.read.is_some() => {
            callbacks::evt_io_read(c.read, queue, request, parameters.length);
        }
        RequestType::WdfRequestTypeWrite if c.write.is_some() => {
            callbacks::evt_io_write(c.write, queue, request, parameters.length);
        }
        RequestType::WdfRequestTypeDeviceControl if c.device_control.is_some() => {
            callbacks::evt_io_device_control(c.device_control, queue, request, &parameters);
        }
        RequestType::WdfRequestTypeDeviceControlInternal if c.internal_device_control.is_some() => {
            callbacks::evt_io_device_control(
                c.internal_device_control,
                queue,
                request,
                &parameters,
            );
        }
        _ if c.default.is_some() => callbacks::evt_io_default(c.default, queue, request),
        _ => {
            request::complete(
                cx,
                request,
                NtStatus::INVALID_DEVICE_REQUEST,
                0,
                "the queue",
            );
        }
    }
}

/// `WdfIoQueueRetrieveNextRequest`.
pub(crate) fn retrieve_next(cx: &Cx, queue: Handle) -> Result<Handle, NtStatus> {
    retrieve(cx, queue, None)
}

/// `WdfIoQueueRetrieveRequestByFileObject` (`FxIoQueue::GetRequest` with a file object): the
/// first queued request of the open `file`, as [`retrieve_next`] otherwise.
pub(crate) fn retrieve_by_file(cx: &Cx, queue: Handle, file: Handle) -> Result<Handle, NtStatus> {
    retrieve(cx, queue, Some(file))
}

fn retrieve(cx: &Cx, queue: Handle, file: Option<Handle>) -> Result<Handle, NtStatus> {
    loop {
        // The request of `file` to take, found outside the lock (its file object is the
        // IRP's, which the kernel side answers).
        let wanted = match file {
            None => None,
            Some(file) => {
                let pending: Vec<Handle> = cx
                    .lock()
                    .objects
                    .get(queue)
                    .and_then(|o| o.queue())
                    .map(|q| q.pending.iter().copied().collect())
                    .unwrap_or_default();
                Some(
                    pending
                        .into_iter()
                        .find(|r| super::file::of_request(cx, *r) == Ok(Some(file))),
                )
            }
        };
        let mut state = cx.lock();
        let body = state
            .objects
            .get_mut(queue)
            .and_then(|o| o.queue_mut())
            .ok_or(NtStatus::INVALID_HANDLE)?;
        if body.dispatch == Dispatch::WdfIoQueueDispatchParallel {
            return Err(NtStatus::INVALID_DEVICE_STATE);
        }
        let racy = body.dispatch == Dispatch::WdfIoQueueDispatchSequential && body.driver_io == 0;
        if !body.dispatching || !body.powered {
            drop(state);
            warn_racy_retrieval(cx, racy);
            return Err(NtStatus::WDF_PAUSED);
        }
        let taken = match wanted {
            None => body.pending.pop_front(),
            Some(None) => None,
            Some(Some(request)) => match body.pending.iter().position(|r| *r == request) {
                Some(position) => body.pending.remove(position),
                // Taken meanwhile (cancelled, retrieved): look again.
                None => continue,
            },
        };
        let Some(request) = taken else {
            drop(state);
            warn_racy_retrieval(cx, racy);
            return Err(NtStatus::NO_MORE_ENTRIES);
        };
        let allow_zero_length = body.allow_zero_length;
        if !request::take_from_queue_locked(cx, &mut state, request) {
            continue;
        }
        let zero = state
            .objects
            .get(request)
            .and_then(|o| o.request())
            .is_some_and(request::RequestBody::is_zero_length);
        if zero && !allow_zero_length {
            hand_to_driver_locked(&mut state, queue, request);
            drop(state);
            request::complete(cx, request, NtStatus::SUCCESS, 0, "the queue");
            continue;
        }
        hand_to_driver_locked(&mut state, queue, request);
        drop(state);
        warn_racy_retrieval(cx, racy);
        return Ok(request);
    }
}

/// `VerifyGetRequestUpdateFlags`: retrieving from a sequential queue while the driver holds
/// none of its requests races with the framework's own presentation.
fn warn_racy_retrieval(cx: &Cx, racy: bool) {
    if racy {
        cx.verifier_break(
            None,
            "WdfIoQueueRetrieveNextRequest on a sequential queue while the driver holds none of \
             its requests can cause a race with automatically dispatched requests",
        );
    }
}

/// `WdfIoQueueStop`: keeps accepting, stops presenting; driver-owned requests are untouched.
pub(crate) fn stop(cx: &Cx, queue: Handle) -> bool {
    let mut state = cx.lock();
    let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) else {
        return false;
    };
    body.accept = true;
    body.dispatching = false;
    true
}

/// `WdfIoQueueStart`: accepts and presents again; what waited is presented before it returns.
pub(crate) fn start(cx: &Cx, queue: Handle) -> bool {
    {
        let mut state = cx.lock();
        let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) else {
            return false;
        };
        body.accept = true;
        body.dispatching = true;
        body.cancel_dispatched = false;
    }
    dispatch_events(cx, queue);
    true
}

/// `WdfIoQueueGetState`: the state bits, the queued and the driver-owned counts.
pub(crate) fn state(cx: &Cx, queue: Handle) -> Option<(i32, usize, usize)> {
    let state = cx.lock();
    let body = state.objects.get(queue)?.queue()?;
    let mut bits = 0;
    if body.accept {
        bits |= QueueState::WdfIoQueueAcceptRequests;
    }
    if body.dispatching {
        bits |= QueueState::WdfIoQueueDispatchRequests;
    }
    if body.pending.is_empty() {
        bits |= QueueState::WdfIoQueueNoRequests;
    }
    if body.driver_io == 0 {
        bits |= QueueState::WdfIoQueueDriverNoRequests;
    }
    Some((bits, body.pending.len(), body.driver_io))
}

/// What [`purge_synchronously`] is told when the driver called `WdfIoQueuePurgeSynchronously`.
pub(crate) const PURGE_DDI: &str = "queue purge";

/// What the wait is told for `WdfIoQueueStopSynchronously`.
const STOP_DDI: &str = "WdfIoQueueStopSynchronously";

/// `WdfIoQueueStopSynchronously` (`FxIoQueue::QueueIdleSynchronously`): stops presenting, as
/// [`stop`], then waits until the driver holds no request the queue delivered (completed, or
/// forwarded elsewhere). From the queue's own callback, whose request the thread holds, KMDF
/// would wait forever: reported instead.
pub(crate) fn stop_synchronously(cx: &Cx, queue: Handle) {
    // `QueueIdle` fails for a queue being deleted (`m_Deleted`, STATUS_DELETE_PENDING) or one
    // whose idle callback another stop registered (STATUS_INVALID_DEVICE_REQUEST), and
    // `QueueIdleSynchronously` turns either into `FatalError`: bug check WDF_QUEUE_FATAL_ERROR.
    let refused = {
        let mut state = cx.lock();
        let deleting = state
            .objects
            .get(queue)
            .is_some_and(|o| o.life != super::objects::Life::Created);
        match state.objects.get_mut(queue).and_then(|o| o.queue_mut()) {
            None => return,
            Some(_) if deleting => Some(NtStatus::DELETE_PENDING),
            Some(body) if body.idling => Some(NtStatus::INVALID_DEVICE_REQUEST),
            Some(body) => {
                body.idling = true;
                None
            }
        }
    };
    if let Some(status) = refused {
        cx.bug_check(
            None,
            [
                QUEUE_FATAL_ERROR,
                queue.raw(),
                0,
                status.to_raw() as u32 as usize,
            ],
            &format!(
                "WdfIoQueueStopSynchronously: the queue cannot idle ({status}): it is being \
                 deleted, or another stop is waiting on it (WDF_QUEUE_FATAL_ERROR)"
            ),
        );
        return;
    }
    if stop(cx, queue) {
        wait_for_driver(cx, queue, STOP_DDI);
    }
    if let Some(body) = cx.lock().objects.get_mut(queue).and_then(|o| o.queue_mut()) {
        body.idling = false;
    }
}

/// `WDF_QUEUE_FATAL_ERROR`, the `WDF_VIOLATION` subcode of `FxIoQueue::FatalError`.
const QUEUE_FATAL_ERROR: usize = 0xA;

/// `WdfIoQueuePurgeSynchronously` (also what deleting a queue does): accepts nothing more,
/// completes the waiting requests with `STATUS_CANCELLED`, calls the cancel routines of the
/// driver's cancelable requests, and waits for the driver to complete the rest. A request the
/// calling thread itself holds could never be completed while it waits — KMDF would hang — so
/// that is reported (SDV RequestCompleted) instead of waited for.
pub(crate) fn purge_synchronously(cx: &Cx, queue: Handle, when: &str) {
    let waiting = {
        let mut state = cx.lock();
        let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) else {
            return;
        };
        body.accept = false;
        body.cancel_dispatched = true;
        body.pending.drain(..).collect::<Vec<Handle>>()
    };
    for request in waiting {
        request::cancel_for_queue(cx, queue, request);
    }
    for request in request::driver_cancelable_of(cx, queue) {
        request::cancel_for_driver(cx, request);
    }
    dispatch_events(cx, queue);
    wait_for_driver(cx, queue, when);
}

/// `FxPkgIo::FlushAllQueuesByFileObject` on `IRP_MJ_CLEANUP` (fxpkgio.cpp, called from
/// `FxPkgGeneral::OnCleanup` after the driver's `EvtFileCleanup`): each queue of `device`
/// cancels the requests waiting in it that came through the closing handle's file object.
/// Requests already presented to the driver are the driver's to finish.
pub(crate) fn flush_by_file_object(cx: &Cx, device: Handle, file: FileObject) {
    let waiting: Vec<(Handle, Handle, IrpId)> = {
        let state = cx.lock();
        state
            .objects
            .of_image(cx.image.id)
            .filter(|(_, object)| object.parent == Some(device))
            .filter_map(|(queue, object)| Some((queue, object.queue()?)))
            .flat_map(|(queue, body)| body.pending.iter().map(move |r| (queue, *r)))
            .filter_map(|(queue, request)| {
                let irp = state.objects.get(request)?.request()?.irp;
                Some((queue, request, irp))
            })
            .collect()
    };
    for (queue, request, irp) in waiting {
        if cx.kernel.file_object(irp) != Some(file) {
            continue;
        }
        let unqueued = cx
            .lock()
            .objects
            .get_mut(queue)
            .and_then(|o| o.queue_mut())
            .is_some_and(|body| body.unqueue(request));
        if unqueued {
            request::cancel_for_queue(cx, queue, request);
        }
    }
}

/// Waits until the driver holds no request of `queue`.
///
/// A wait that could never end is reported instead: KMDF would wait forever
/// (`FxIoQueue::QueuePurgeSynchronously` → `WaitForSignal`, which only prints a message and
/// breaks every 60 s). A purge from inside the queue's own `EvtIo*` callback, whose request the
/// thread holds, is SDV NoIoQueuePurgeSynchronously; otherwise it is a request the driver never
/// finishes, RequestCompleted.
fn wait_for_driver(cx: &Cx, queue: Handle, when: &str) {
    let me = std::thread::current().id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut state = cx.lock();
    loop {
        let held = request::driver_owned_of(&state, queue);
        if held.is_empty() {
            return;
        }
        let mine: Vec<&(Handle, ThreadId, WDF_REQUEST_TYPE)> =
            held.iter().filter(|(_, holder, _)| *holder == me).collect();
        let now = Instant::now();
        if !mine.is_empty() || now >= deadline {
            let kinds: Vec<&str> = held
                .iter()
                .map(|(_, _, t)| request::type_name(*t))
                .collect();
            drop(state);
            let rule = if !mine.is_empty() && when == PURGE_DDI && in_callback_of(queue) {
                Some("NoIoQueuePurgeSynchronously")
            } else if when == STOP_DDI {
                None
            } else {
                Some("RequestCompleted")
            };
            cx.verifier_break(
                rule,
                &format!(
                    "the driver still owns {} request(s) of the queue ({}) at {when}; the \
                     framework would wait for them forever",
                    kinds.len(),
                    kinds.join(", ")
                ),
            );
            return;
        }
        state = cx.fx().wait_released(state, deadline - now);
    }
}
