//! Power-managed queues: what `FxIoQueue` does when its device leaves and re-enters D0
//! (shared/irphandlers/io/fxioqueue.cpp `StopProcessingForPower`,
//! `ResumeProcessingForPower`, `ProcessAcknowledgedRequests`; fxpkgio.cpp; the request side in
//! shared/core/fxrequest.cpp `StopAcknowledge`, `VerifyStopAcknowledge`).
//!
//! * Leaving D0 (after `EvtDeviceSelfManagedIoSuspend`, before `EvtDeviceD0Exit`), each
//!   power-managed queue of the device stops presenting, and every request it delivered that
//!   the driver still owns (presented, retrieved or sent, not cancelled) goes to the queue's
//!   `EvtIoStop` with `WdfRequestStopActionSuspend` (and `WdfRequestStopRequestCancelable` if
//!   the driver marked it cancelable). The power-down waits until each is acknowledged
//!   (`WdfRequestStopAcknowledge`) or completed; without an `EvtIoStop`, until each is
//!   completed.
//! * Back in D0 (after `EvtDeviceD0Entry`, before self-managed I/O init or restart), each
//!   power-managed queue presents again, after `EvtIoResume` for the requests acknowledged
//!   without requeueing.
//! * At removal (after `EvtDeviceReleaseHardware`), each power-managed queue is purged: it
//!   accepts nothing more, waiting requests are cancelled, driver-cancelable ones go to their
//!   cancel routine, and the rest to `EvtIoStop` with `WdfRequestStopActionPurge`; the other
//!   queues the same way before self-managed I/O cleanup.
//! * A request cancelled while the driver owns it gets no `EvtIoStop`; the power-down waits for
//!   its completion.
//!
//! A request nobody acknowledges or completes would keep KMDF's power thread waiting forever
//! (bug check 0x9F, DRIVER_POWER_STATE_FAILURE, once the power IRP times out): the simulation
//! reports it (SDV EvtIoStopCompleteOrStopAck, or DrvAckIoStop without an `EvtIoStop`) when no
//! other thread could still finish it, or after 10 s, and goes on.
//!
//! Simplified: KMDF first waits for `EvtIo*` callbacks still running on other processors to
//! return; the simulation does not. An acknowledgement made after `EvtIoStop` returned wakes
//! the waiting power-down at once, where KMDF picks it up only the next time its queue's event
//! loop runs.

use std::format;
use std::time::{Duration, Instant};
use std::vec::Vec;

use super::objects::Handle;
use super::queue::{self, QueueCallbacks};
use super::request::{self, Owner, StopState};
use super::{Cx, State};
use crate::ffi::callbacks;

/// `WdfRequestStopActionSuspend`.
pub(crate) const ACTION_SUSPEND: u32 = 0x1;
/// `WdfRequestStopActionPurge`.
pub(crate) const ACTION_PURGE: u32 = 0x2;
/// `WdfRequestStopRequestCancelable`.
const REQUEST_CANCELABLE: u32 = 0x1000_0000;

/// The queues of `device` that are power-managed (`managed`) or not, with their callbacks.
fn queues_of(cx: &Cx, device: Handle, managed: bool) -> Vec<(Handle, QueueCallbacks)> {
    let state = cx.lock();
    state
        .objects
        .of_image(cx.image.id)
        .filter_map(|(handle, object)| {
            let body = object.queue()?;
            (body.device == device && body.power_managed == managed)
                .then_some((handle, body.callbacks))
        })
        .collect()
}

/// A request being stopped: its handle, whether the driver marked it cancelable, and whether
/// it was cancelled (then it gets no `EvtIoStop`, and only its completion lets the power-down
/// go on).
type Stopped = (Handle, bool, bool);

/// The requests of `queue` the driver owns as KMDF counts them, each marked notified (a purge
/// forgets earlier acknowledgements: `ClearPowerStopState`).
fn notify_driver_owned(state: &mut State, queue: Handle) -> Vec<Stopped> {
    let owned: Vec<Handle> = state
        .objects
        .of_image(state.objects.get(queue).map_or(usize::MAX, |o| o.image))
        .filter_map(|(handle, object)| {
            let r = object.request()?;
            (r.queue == Some(queue) && r.driver_owned_or_sent()).then_some(handle)
        })
        .collect();
    owned
        .into_iter()
        .filter_map(|handle| {
            let r = state.objects.get_mut(handle)?.request_mut()?;
            r.stop = StopState::Notified;
            Some((handle, r.cancel.is_some(), r.canceled))
        })
        .collect()
}

/// The device leaves D0 (`FxPkgIo::StopProcessingForPower`): every power-managed queue stops
/// presenting first (`StartPowerTransitionOff`), then each hands what the driver owns to its
/// `EvtIoStop` with `action` and waits for the acknowledgements.
pub(crate) fn power_off(cx: &Cx, device: Handle, action: u32) {
    stop_queues(cx, &queues_of(cx, device, true), action);
}

fn stop_queues(cx: &Cx, queues: &[(Handle, QueueCallbacks)], action: u32) {
    for (queue, _) in queues {
        if let Some(body) = cx
            .lock()
            .objects
            .get_mut(*queue)
            .and_then(|o| o.queue_mut())
        {
            body.powered = false;
        }
    }
    for (queue, callbacks) in queues {
        let notified = notify_driver_owned(&mut cx.lock(), *queue);
        if callbacks.stop.is_some() {
            for (request, cancelable, canceled) in &notified {
                if *canceled {
                    continue;
                }
                let flags = if *cancelable {
                    action | REQUEST_CANCELABLE
                } else {
                    action
                };
                if let Some(r) = cx
                    .lock()
                    .objects
                    .get_mut(*request)
                    .and_then(|o| o.request_mut())
                {
                    r.in_evt_io_stop = true;
                }
                // Under the queue's callback lock, as every EvtIo* callback
                // (`FxIoQueueIoStop` is an `FxLockedCallback`).
                let _referenced = super::lifecycle::AroundCallback::new(cx, *queue);
                let lock = super::serialization::of_queue(cx, *queue);
                let _held = lock.as_ref().map(|lock| lock.acquire(cx));
                callbacks::evt_io_stop(callbacks.stop, *queue, *request, flags);
            }
        }
        wait_for_acknowledgements(cx, &notified, callbacks.stop.is_some(), action);
    }
}

/// Waits until each of `notified` is acknowledged or completed; reports what never will be.
fn wait_for_acknowledgements(cx: &Cx, notified: &[Stopped], has_stop: bool, action: u32) {
    let me = std::thread::current().id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut state = cx.lock();
    loop {
        let waiting: Vec<(Handle, Owner)> = notified
            .iter()
            .filter_map(|(handle, _, _)| {
                let r = state.objects.get(*handle)?.request()?;
                (r.stop == StopState::Notified && r.driver_owned_or_sent())
                    .then_some((*handle, r.owner))
            })
            .collect();
        if waiting.is_empty() {
            return;
        }
        // Another thread holding a request may still acknowledge or complete it; a request this
        // thread holds, or one below in a single-threaded test, cannot be.
        let others = waiting
            .iter()
            .any(|(_, owner)| matches!(owner, Owner::Driver(holder) if *holder != me));
        let now = Instant::now();
        if !others || now >= deadline {
            for (handle, _) in &waiting {
                if let Some(r) = state.objects.get_mut(*handle).and_then(|o| o.request_mut()) {
                    r.stop = StopState::None;
                    r.in_evt_io_stop = false;
                }
            }
            drop(state);
            report_unacknowledged(cx, waiting.len(), has_stop, action);
            return;
        }
        state = cx.fx().wait_released(state, deadline - now);
    }
}

fn report_unacknowledged(cx: &Cx, count: usize, has_stop: bool, action: u32) {
    let when = if action == ACTION_PURGE {
        "the device's removal would wait for them forever"
    } else {
        "the device cannot leave D0, and Windows stops with DRIVER_POWER_STATE_FAILURE (0x9F) \
         when the power IRP times out"
    };
    if has_stop {
        cx.verifier_break(
            Some("EvtIoStopCompleteOrStopAck"),
            &format!(
                "EvtIoStop neither acknowledged (WdfRequestStopAcknowledge) nor completed \
                 {count} request(s) of a power-managed queue: {when}"
            ),
        );
    } else {
        cx.verifier_break(
            Some("DrvAckIoStop"),
            &format!(
                "a power-managed queue without EvtIoStop powers down while the driver owns \
                 {count} of its request(s), which it does not complete: {when}"
            ),
        );
    }
}

/// The device is back in D0 (`ResumeProcessingForPower`): `EvtIoResume` on every
/// power-managed queue for the requests acknowledged without requeueing, then the queues
/// present again.
pub(crate) fn power_on(cx: &Cx, device: Handle) {
    let queues = queues_of(cx, device, true);
    for (queue, callbacks) in &queues {
        let acknowledged: Vec<Handle> = {
            let mut state = cx.lock();
            let handles: Vec<Handle> = state
                .objects
                .of_image(cx.image.id)
                .filter_map(|(handle, object)| {
                    let r = object.request()?;
                    (r.queue == Some(*queue)
                        && r.stop == StopState::Acknowledged
                        && r.driver_owned_or_sent()
                        && !r.canceled)
                        .then_some(handle)
                })
                .collect();
            for handle in &handles {
                if let Some(r) = state.objects.get_mut(*handle).and_then(|o| o.request_mut()) {
                    r.stop = StopState::None;
                }
            }
            handles
        };
        // Under the queue's callback lock (`FxIoQueueIoResume` is an `FxLockedCallback`).
        let lock = super::serialization::of_queue(cx, *queue);
        for request in acknowledged {
            let _referenced = super::lifecycle::AroundCallback::new(cx, *queue);
            let _held = lock.as_ref().map(|lock| lock.acquire(cx));
            callbacks::evt_io_resume(callbacks.resume, *queue, request);
        }
    }
    for (queue, _) in &queues {
        if let Some(body) = cx
            .lock()
            .objects
            .get_mut(*queue)
            .and_then(|o| o.queue_mut())
        {
            body.powered = true;
        }
    }
    for (queue, _) in &queues {
        queue::dispatch_events(cx, *queue);
    }
}

/// The removal's purge (`FxIoStopProcessingForPowerPurgeManaged` after release hardware,
/// `…PurgeNonManaged` before self-managed I/O cleanup): the queues accept nothing more, waiting
/// requests are cancelled, driver-cancelable ones go to their cancel routine, and the rest to
/// `EvtIoStop` with `WdfRequestStopActionPurge`.
pub(crate) fn purge_for_removal(cx: &Cx, device: Handle, managed: bool) {
    // One queue after the other (`FxPkgIo::StopProcessingForPower`): each is shut and cancels
    // what it can before its driver-owned requests go to `EvtIoStop`.
    for (queue, callbacks) in queues_of(cx, device, managed) {
        let waiting = {
            let mut state = cx.lock();
            state
                .objects
                .get_mut(queue)
                .and_then(|o| o.queue_mut())
                .map(super::queue::QueueBody::shut)
                .unwrap_or_default()
        };
        for request in waiting {
            request::cancel_for_queue(cx, queue, request);
        }
        for request in request::driver_cancelable_of(cx, queue) {
            request::cancel_for_driver(cx, request);
        }
        stop_queues(cx, &[(queue, callbacks)], ACTION_PURGE);
    }
}

/// `WdfRequestStopAcknowledge`: only for a request in its `EvtIoStop` (a verifier break and
/// nothing else otherwise). Without requeueing the request stays the driver's; requeued, it
/// goes back to the head of its queue, which presents it again once powered on.
pub(crate) fn stop_acknowledge(cx: &Cx, request: Handle, requeue: bool) {
    let (queue, notified, cancelable, holder) = {
        let state = cx.lock();
        let Some(r) = state.objects.get(request).and_then(|o| o.request()) else {
            return;
        };
        (
            r.queue,
            r.stop == StopState::Notified,
            r.cancel.is_some(),
            r.owner,
        )
    };
    if !notified {
        cx.verifier_break(
            Some("StopAckWithinEvtIoStop"),
            "WdfRequestStopAcknowledge is valid only in EvtIoStop, for the request it was given",
        );
        return;
    }
    if !requeue {
        if let Some(r) = cx
            .lock()
            .objects
            .get_mut(request)
            .and_then(|o| o.request_mut())
        {
            r.stop = StopState::Acknowledged;
        }
        cx.fx().notify_released();
        return;
    }
    let refusal = if cancelable {
        Some("the request should be unmarked cancelable before it is requeued")
    } else if !matches!(holder, Owner::Driver(_)) {
        Some("the request is not the driver's (it was sent)")
    } else {
        None
    };
    if let Some(why) = refusal {
        cx.verifier_break(
            None,
            &format!("WdfRequestStopAcknowledge(Requeue = TRUE): {why}"),
        );
        return;
    }
    let Some(queue) = queue else {
        return;
    };
    let (irp, shut) = {
        let mut state = cx.lock();
        if let Some(r) = state.objects.get_mut(request).and_then(|o| o.request_mut()) {
            r.stop = StopState::None;
            r.in_evt_io_stop = false;
        }
        let mut shut = false;
        if let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut()) {
            body.release_one();
            shut = body.cancel_dispatched() || !body.accepts();
        }
        let irp = request::enqueue_locked(cx, &mut state, queue, request);
        if let Some(body) = state.objects.get_mut(queue).and_then(|o| o.queue_mut())
            && body.unqueue(request)
        {
            body.pending_push_front(request);
        }
        (irp, shut)
    };
    cx.fx().notify_released();
    if shut {
        // Requeued into a purged queue: cancelled at once (`ProcessAcknowledgedRequests`).
        let unqueued = cx
            .lock()
            .objects
            .get_mut(queue)
            .and_then(|o| o.queue_mut())
            .is_some_and(|body| body.unqueue(request));
        if unqueued {
            request::cancel_for_queue(cx, queue, request);
        }
        return;
    }
    if let Some(irp) = irp {
        request::cancel_if_already_cancelled(cx, request, irp);
    }
}
