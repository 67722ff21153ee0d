//! Simulated `FxIoQueue`: the queue engine (presentation, retrieval, purge), and the queue half
//! of the seam ([`QueueHandle`]).

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use wdm_compat::{NtStatus, SpinLock};

use super::report;
use super::request::{FxRequest, Owner, RequestHandle, complete, driver_owned_of, run_cancel};
use crate::kind::{DispatchType, RequestType};
use crate::queue::Callbacks;
use crate::request::RequestDone;

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
    fn take_next(&'static self) -> Option<&'static FxRequest> {
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
    pub(crate) fn retrieve(&'static self) -> Result<RequestHandle, NtStatus> {
        if !self.state.lock().started {
            return Err(NtStatus::WDF_PAUSED);
        }
        let request = self.take_next().ok_or(NtStatus::NO_MORE_ENTRIES)?;
        let slot = crate::sys::claim(request).ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        Ok(RequestHandle::new(slot))
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
        for request in driver_owned_of(self) {
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

/// A queue: its core and its callbacks.
pub(crate) struct FxQueue<D> {
    pub(crate) core: &'static QueueCore,
    pub(crate) callbacks: Callbacks<D>,
}

impl<D> FxQueue<D> {
    /// Presents requests while the queue allows it.
    pub(crate) fn pump(&self, driver: &D) {
        while self.core.can_present() {
            let Some(request) = self.core.take_next() else {
                break;
            };
            let Some(slot) = crate::sys::claim(request) else {
                break;
            };
            self.present(driver, RequestHandle::new(slot));
        }
    }

    /// Calls the queue's callback for the request's type. A request forwarded to a queue
    /// without that callback is completed with `STATUS_INVALID_DEVICE_REQUEST`, as the
    /// framework does for a type the queue does not handle.
    fn present(&self, driver: &D, handle: RequestHandle) {
        let c = &self.callbacks;
        let _done: RequestDone = match handle.request_type() {
            RequestType::Create => match c.create {
                Some(f) => f(driver, crate::Request::from_raw(handle)),
                None => return handle.complete(NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::Read => match c.read {
                Some(f) => f(driver, crate::Request::from_raw(handle)),
                None => return handle.complete(NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::Write => match c.write {
                Some(f) => f(driver, crate::Request::from_raw(handle)),
                None => return handle.complete(NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::DeviceControl => match c.device_control {
                Some(f) => f(driver, crate::Request::from_raw(handle)),
                None => return handle.complete(NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::InternalDeviceControl => match c.internal_device_control {
                Some(f) => f(driver, crate::Request::from_raw(handle)),
                None => return handle.complete(NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
        };
    }
}

/// The seam's `WDFQUEUE` handle on the host.
#[derive(Clone, Copy)]
pub(crate) struct QueueHandle(&'static QueueCore);

impl QueueHandle {
    pub(crate) const fn new(core: &'static QueueCore) -> Self {
        Self(core)
    }

    pub(crate) const fn core(self) -> &'static QueueCore {
        self.0
    }

    /// Requests waiting in the queue (`WdfIoQueueGetState`'s queued count).
    pub(crate) fn queued(self) -> usize {
        self.0.state.lock().pending.len()
    }
}
