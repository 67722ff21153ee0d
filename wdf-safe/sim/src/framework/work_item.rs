//! `WDFWORKITEM` (shared/core/fxworkitem.cpp, fxworkitemapi.cpp): a callback a driver queues
//! from any IRQL to run at PASSIVE_LEVEL on a system worker thread. The simulation's worker is
//! the test: [`crate::run_work_items`] runs what is queued, in order, on its thread; a flush or
//! the item's deletion runs a queued item at once, as waiting for the worker would.

use std::collections::VecDeque;
use std::format;
use std::thread::ThreadId;

use wdm_compat::NtStatus;

use super::lifecycle::{self, Attributes};
use super::objects::{Body, Handle};
use super::{Cx, EnterShared, Framework};
use crate::ffi::bindings::PFN_WDF_WORKITEM;
use crate::ffi::callbacks;

/// A work item's state (`FxWorkItem`).
pub(crate) struct WorkItemBody {
    callback: PFN_WDF_WORKITEM,
    /// `m_Enqueued`: waiting for the worker (cleared when its callback starts, so it may queue
    /// itself again).
    enqueued: bool,
    /// The image and kernel calls its callback runs with.
    cx: Cx,
    /// `m_WorkItemThread`: the thread running its callback now.
    running_on: Option<ThreadId>,
}

/// The work items waiting for the worker, in the order they were queued.
pub(crate) type Pending = VecDeque<Handle>;

/// `FxWorkItem::_Create`: the parent (required) is a live object.
pub(crate) fn create(
    cx: &Cx,
    callback: PFN_WDF_WORKITEM,
    parent: Handle,
    attributes: &Attributes,
) -> Result<Handle, NtStatus> {
    let body = WorkItemBody {
        callback,
        enqueued: false,
        cx: cx.clone(),
        running_on: None,
    };
    lifecycle::create_object(cx, Some(parent), Some(attributes), Body::WorkItem(body))
}

/// `FxWorkItem::Enqueue`: queued once however often it is enqueued before it runs; a work item
/// whose deletion has begun is a verifier break.
pub(crate) fn enqueue(cx: &Cx, ddi: &str, item: Handle) {
    let mut state = cx.lock();
    let disposed = state
        .objects
        .get(item)
        .is_some_and(|o| o.life != super::objects::Life::Created);
    if disposed {
        drop(state);
        cx.verifier_break(None, &format!("{ddi}: the WDFWORKITEM is already deleted"));
        return;
    }
    let Some(body) = state.objects.get_mut(item).and_then(|o| o.work_item_mut()) else {
        return;
    };
    if !body.enqueued {
        body.enqueued = true;
        state.work.push_back(item);
    }
}

/// `FxWorkItem::FlushAndWait`: a queued item runs now; from its own callback the wait could
/// never end, and KMDF's verifier breaks instead.
pub(crate) fn flush(cx: &Cx, ddi: &str, item: Handle) {
    let me = std::thread::current().id();
    let running_here = cx
        .lock()
        .objects
        .get(item)
        .and_then(|o| o.work_item())
        .is_some_and(|body| body.running_on == Some(me));
    if running_here {
        cx.verifier_break(
            None,
            &format!(
                "{ddi} from within the work item's own callback would wait for itself forever"
            ),
        );
        return;
    }
    run_now(cx.fx(), item);
}

/// A disposed work item: one still queued runs first (`FxWorkItem::Dispose` flushes it).
pub(crate) fn dispose(cx: &Cx, item: Handle) {
    run_now(cx.fx(), item);
}

/// Runs `item` at once if it is queued, taking it out of the worker's queue.
fn run_now(fx: &Framework, item: Handle) {
    let queued = {
        let mut state = fx.lock();
        let queued = state
            .objects
            .get(item)
            .and_then(|o| o.work_item())
            .is_some_and(|body| body.enqueued);
        if queued {
            state.work.retain(|w| *w != item);
        }
        queued
    };
    if queued {
        run(fx, item);
    }
}

/// Runs what is queued for the worker, in order, including what the callbacks queue.
pub(crate) fn run_pending(fx: &Framework) {
    loop {
        let Some(item) = fx.lock().work.pop_front() else {
            return;
        };
        run(fx, item);
    }
}

/// Runs one work item's callback at PASSIVE_LEVEL, as the worker thread does.
fn run(fx: &Framework, item: Handle) {
    let started = {
        let mut state = fx.lock();
        let Some(body) = state.objects.get_mut(item).and_then(|o| o.work_item_mut()) else {
            return;
        };
        if !body.enqueued {
            return;
        }
        body.enqueued = false;
        body.running_on = Some(std::thread::current().id());
        (body.callback, body.cx.clone())
    };
    let (callback, cx) = started;
    let shared = std::rc::Rc::new(cx.clone());
    cx.kernel.as_driver(|| {
        let _frame = shared.enter_shared();
        callbacks::evt_work_item(callback, item);
    });
    if let Some(body) = fx
        .lock()
        .objects
        .get_mut(item)
        .and_then(|o| o.work_item_mut())
    {
        body.running_on = None;
    }
    fx.notify_released();
}
