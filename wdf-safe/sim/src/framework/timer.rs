//! `WDFTIMER` (shared/core/fxtimer.cpp, fxtimerapi.cpp) on a clock only tests move
//! ([`crate::advance_clock`]): a timer is due at a tick of that clock; advancing it fires the due
//! timers in order, each `EvtTimerFunc` at DISPATCH_LEVEL (a timer's DPC) on the advancing
//! thread, a periodic one re-armed by its period first. No real time passes, so what a test
//! sees does not depend on how fast it runs.

use std::format;
use std::thread::ThreadId;
use std::vec::Vec;

use wdm_compat::NtStatus;

use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle};
use super::{Cx, EnterShared, Framework};
use crate::ffi::bindings::PFN_WDF_TIMER;
use crate::ffi::callbacks;

/// 100 ns ticks per millisecond (the unit of `WDF_TIMER_CONFIG::Period`).
const TICKS_PER_MS: u64 = 10_000;
/// The simulated clock interrupt: the earliest a timer can fire after it is started (Windows'
/// is 15.6 ms by default, 1 ms at the finest).
const CLOCK_INTERRUPT: u64 = TICKS_PER_MS;
/// DISPATCH_LEVEL: where a timer's DPC runs its callback.
const DISPATCH: u8 = 2;

/// A timer's state (`FxTimer`).
pub(crate) struct TimerBody {
    callback: PFN_WDF_TIMER,
    /// Milliseconds between firings; 0 for a one-shot timer.
    period: u32,
    /// The tick it fires at next; `None` when it is not in the system's timer queue.
    due: Option<u64>,
    /// The image and kernel calls its callback runs with.
    cx: Cx,
    /// `m_CallbackThread`: the thread running its callback now.
    running_on: Option<ThreadId>,
    /// `m_CallbackLock`: its parent's callback lock, with `AutomaticSerialization`.
    lock: Option<std::sync::Arc<super::serialization::CallbackLock>>,
}

/// `FxTimer::_Create`: the parent (required) is a live object.
pub(crate) fn create(
    cx: &Cx,
    callback: PFN_WDF_TIMER,
    period: u32,
    parent: Handle,
    attributes: &Attributes,
    lock: Option<std::sync::Arc<super::serialization::CallbackLock>>,
) -> Result<Handle, NtStatus> {
    let body = TimerBody {
        callback,
        period,
        due: None,
        cx: cx.clone(),
        running_on: None,
        lock,
    };
    let timer = lifecycle::create_object(cx, Some(parent), Some(attributes), Body::Timer(body))?;
    cx.lock().timers.push(timer);
    Ok(timer)
}

/// `FxTimer::Start` (`KeSetTimerEx`): due `due_time` from now when negative (relative, 100 ns),
/// at that tick when positive (absolute), at the next clock interrupt when zero. Whether it was
/// queued already. A timer whose deletion has begun (`m_RunningDown`) is a verifier break and
/// is not started.
pub(crate) fn start(cx: &Cx, ddi: &str, timer: Handle, due_time: i64) -> bool {
    let mut state = cx.lock();
    if state
        .objects
        .get(timer)
        .is_some_and(|o| o.life != super::objects::Life::Created)
    {
        drop(state);
        cx.verifier_break(
            None,
            &format!("{ddi}: the WDFTIMER is being deleted (its parent is going): not started"),
        );
        return false;
    }
    let now = state.clock;
    let due = if due_time < 0 {
        now.saturating_add(due_time.unsigned_abs())
    } else {
        now.max(due_time.unsigned_abs())
    };
    // Nothing fires before the next clock interrupt: a timer restarting itself with no delay
    // from its own callback fires once per interrupt, not forever at the same instant.
    let due = due.max(now.saturating_add(CLOCK_INTERRUPT));
    state
        .objects
        .get_mut(timer)
        .and_then(|o| o.timer_mut())
        .is_some_and(|body| body.due.replace(due).is_some())
}

/// `FxTimer::Stop`: takes the timer out of the queue; whether it was in it. With `wait`, also
/// waits for a callback running on another thread; from its own callback, or above
/// PASSIVE_LEVEL, that wait could never end, and KMDF's verifier breaks instead.
pub(crate) fn stop(cx: &Cx, ddi: &str, timer: Handle, wait: bool) -> bool {
    let me = std::thread::current().id();
    if wait {
        let running_here = cx
            .lock()
            .objects
            .get(timer)
            .and_then(|o| o.timer())
            .is_some_and(|body| body.running_on == Some(me));
        if running_here {
            cx.verifier_break(
                None,
                &format!("{ddi}(Wait = TRUE) from within the timer's own callback would wait for itself forever"),
            );
            return false;
        }
        if !cx.check_irql(ddi, 0) {
            return false;
        }
    }
    let mut state = cx.lock();
    let was_queued = state
        .objects
        .get_mut(timer)
        .and_then(|o| o.timer_mut())
        .is_some_and(|body| body.due.take().is_some());
    while wait
        && state
            .objects
            .get(timer)
            .and_then(|o| o.timer())
            .is_some_and(|body| body.running_on.is_some())
    {
        state = cx
            .fx()
            .wait_released(state, core::time::Duration::from_millis(10));
    }
    was_queued
}

/// Takes a disposed timer out of the queue (`FxTimer::Dispose` stops it).
pub(crate) fn dispose(cx: &Cx, timer: Handle) {
    let mut state = cx.lock();
    if let Some(body) = state.objects.get_mut(timer).and_then(|o| o.timer_mut()) {
        body.due = None;
    }
}

/// Moves the clock `ticks` forward, firing every timer that falls due on the way, in order.
pub(crate) fn advance(fx: &Framework, ticks: u64) {
    let target = fx.lock().clock.saturating_add(ticks);
    loop {
        let next = {
            let mut state = fx.lock();
            let super::State {
                objects, timers, ..
            } = &mut *state;
            timers.retain(|t| objects.get(*t).is_some());
            let due = state
                .timers
                .iter()
                .filter_map(|t| {
                    let body = state.objects.get(*t)?.timer()?;
                    body.due.filter(|due| *due <= target).map(|due| (due, *t))
                })
                // The earliest; among timers due at the same tick, the one created first.
                .min_by_key(|(due, _)| *due);
            let Some((due, timer)) = due else {
                state.clock = target;
                return;
            };
            state.clock = state.clock.max(due);
            let Some(body) = state.objects.get_mut(timer).and_then(|o| o.timer_mut()) else {
                continue;
            };
            // A periodic timer is queued again before its DPC runs, as KeSetTimerEx does.
            body.due = (body.period > 0)
                .then(|| due.saturating_add(u64::from(body.period) * TICKS_PER_MS));
            body.running_on = Some(std::thread::current().id());
            (timer, body.callback, body.cx.clone(), body.lock.clone())
        };
        fire(next.0, next.1, &next.2, next.3.as_deref());
        let mut state = fx.lock();
        if let Some(body) = state.objects.get_mut(next.0).and_then(|o| o.timer_mut()) {
            body.running_on = None;
        }
        drop(state);
        fx.notify_released();
    }
}

/// Runs `EvtTimerFunc(timer)` as the timer's DPC: the driver's code, at DISPATCH_LEVEL, under
/// its parent's callback lock when it is serialized with it.
fn fire(
    timer: Handle,
    callback: PFN_WDF_TIMER,
    cx: &Cx,
    lock: Option<&super::serialization::CallbackLock>,
) {
    let shared = std::rc::Rc::new(cx.clone());
    cx.kernel.as_driver(|| {
        let old = cx.kernel.raise_irql(DISPATCH);
        let frame = shared.enter_shared();
        let held = lock.map(|lock| lock.acquire(cx));
        callbacks::evt_timer_func(callback, timer);
        drop(held);
        drop(frame);
        cx.kernel.lower_irql(old);
    });
}

/// The timers of one framework, for [`advance`].
pub(crate) type Timers = Vec<Handle>;
