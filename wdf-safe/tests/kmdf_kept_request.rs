//! The C echo sample's race, written with wdf-safe: a write is marked cancelable and kept in
//! its queue's context (`CurrentRequest`), a periodic timer completes it, and a cancel routine
//! that reaches the same context takes it first when the sender cancels. Whoever loses finds
//! nothing to complete: each request completes once, with the winner's status. Through the
//! shipped seam and the simulated KMDF.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Sequential, Write};
use wdf_safe::request::KeptRequest;
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
    Request, RequestDone, SpinLock,
};
use wdm_compat::host::IoManager;

/// The queue's context, as the C sample's `QUEUE_CONTEXT`: the request the timer completes.
struct Current(SpinLock<Option<KeptRequest<Write>>>);
wdf_safe::declare_context_type!(Current);

/// Ticks that found a kept request its cancel routine had taken.
static LOST_TO_CANCEL: AtomicU32 = AtomicU32::new(0);
/// The tests read `LOST_TO_CANCEL` before and after what they do, so they take turns (the
/// harness runs tests in parallel, and another test's driver would count meanwhile).
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

std::thread_local! {
    /// The cancel routine leaves the context alone, as if the timer on another processor had
    /// taken the kept request out just before: the race's other order.
    static TIMER_TOOK_IT: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

struct Echo {
    queue: OnceLock<Queue<Sequential>>,
    timer: OnceLock<Timer<Echo>>,
}

/// `EvtRequestCancel`: reaches the queue's context through the request, forgets the kept
/// request and completes it.
fn cancel<'r>(request: Request<'r, Write>) -> RequestDone<'r> {
    if let Some(current) = request
        .queue_context::<Current>()
        .filter(|_| !TIMER_TOOK_IT.with(core::cell::Cell::get))
    {
        // Forgetting the kept handle here, in the routine, is what the C sample's
        // `CurrentRequest = NULL` does; a tick that took it first finds the request cancelled.
        drop(current.0.lock().take());
    }
    request.complete(NtStatus::CANCELLED)
}

/// `EvtIoWrite`: cancelable, kept in the queue context, left for the timer.
fn write<'r>(_: &Echo, request: Request<'r, Write>) -> RequestDone<'r> {
    let Some(current) = request.queue_context::<Current>() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.mark_cancelable(cancel) {
        Ok(cancelable) => {
            let (kept, done) = cancelable.keep();
            *current.0.lock() = Some(kept);
            done
        }
        Err((request, status)) => request.complete(status),
    }
}

/// `EvtTimerFunc` at DISPATCH_LEVEL: completes the kept request unless its cancel routine has.
fn tick(echo: &Echo, _device: Device<Echo, Ready>) {
    let Some(current) = echo.queue.get().and_then(|q| q.context::<Current>()) else {
        return;
    };
    let Some(kept) = current.0.lock().take() else {
        return;
    };
    match kept.unmark() {
        Ok(request) => {
            let length = request.length();
            let _done = request.complete_with_information(NtStatus::SUCCESS, length);
        }
        Err(_cancelled) => {
            LOST_TO_CANCEL.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl KmdfDriver for Echo {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\KeptEcho")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\KeptEcho")?;
        let queue = device.create_default_queue(QueueConfig::sequential().on_write(write))?;
        queue.allocate_context(|| Current(SpinLock::new(None)), None)?;
        let timer = device.create_timer(TimerConfig::periodic(10, tick))?;
        let _ready = device.finish_initializing();
        timer.start(10);
        let echo = Self {
            queue: OnceLock::new(),
            timer: OnceLock::new(),
        };
        let _ = echo.queue.set(queue);
        let _ = echo.timer.set(timer);
        Ok(echo)
    }
}

fn tick_once(io: &IoManager) {
    wdf_safe::advance_clock(io, core::time::Duration::from_millis(10));
}

#[test]
fn the_timer_completes_the_kept_request_once_and_the_sequential_queue_moves_on() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    let driver = io
        .load_driver("kept-echo", wdf_safe::entry_point::<Echo>())
        .unwrap();
    let handle = io.open(r"\\.\KeptEcho").unwrap();
    let first = handle.write_async(b"first").unwrap();
    let second = handle.write_async(b"second!").unwrap();
    assert!(!first.is_complete() && !second.is_complete());
    tick_once(&io);
    assert_eq!(first.result().unwrap().information, 5);
    // The sequential queue presented the second only once the first completed.
    assert!(!second.is_complete());
    tick_once(&io);
    assert_eq!(second.result().unwrap().information, 7);
    drop((first, second));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_cancel_that_wins_completes_the_request_and_the_timer_finds_nothing_to_complete() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    let driver = io
        .load_driver("kept-echo", wdf_safe::entry_point::<Echo>())
        .unwrap();
    let handle = io.open(r"\\.\KeptEcho").unwrap();
    let lost = LOST_TO_CANCEL.load(Ordering::SeqCst);
    let cancelled = handle.write_async(b"never mind").unwrap();
    assert!(cancelled.cancel());
    assert_eq!(cancelled.result().unwrap().status, NtStatus::CANCELLED);
    // The routine forgot the kept handle: the tick finds no request at all.
    tick_once(&io);
    assert_eq!(LOST_TO_CANCEL.load(Ordering::SeqCst), lost);
    let next = handle.write_async(b"next").unwrap();
    tick_once(&io);
    assert_eq!(next.result().unwrap().information, 4);
    drop((cancelled, next));
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    // Every request completed once (a second completion is a WDF_VIOLATION the verifier
    // reports), and no request object was left referenced.
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_timer_that_took_the_request_before_the_cancel_finds_it_cancelled_and_leaves_it() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    let driver = io
        .load_driver("kept-echo", wdf_safe::entry_point::<Echo>())
        .unwrap();
    let handle = io.open(r"\\.\KeptEcho").unwrap();
    let lost = LOST_TO_CANCEL.load(Ordering::SeqCst);
    TIMER_TOOK_IT.with(|took| took.set(true));
    let cancelled = handle.write_async(b"raced").unwrap();
    assert!(cancelled.cancel());
    TIMER_TOOK_IT.with(|took| took.set(false));
    // The cancel routine completed it; the kept handle is still in the context, as the timer
    // would hold it: unmarking it says the routine won, and nothing completes twice.
    assert_eq!(cancelled.result().unwrap().status, NtStatus::CANCELLED);
    tick_once(&io);
    assert_eq!(LOST_TO_CANCEL.load(Ordering::SeqCst), lost + 1);
    drop(cancelled);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_kept_request_outlives_its_device_and_finds_it_was_cancelled() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let io = IoManager::new();
    let driver = io
        .load_driver("kept-echo", wdf_safe::entry_point::<Echo>())
        .unwrap();
    let handle = io.open(r"\\.\KeptEcho").unwrap();
    let kept = handle.write_async(b"left behind").unwrap();
    assert!(!kept.is_complete());
    // Unloading deletes the device, whose queue is purged: the framework cancels the kept
    // request and its routine completes it, leaving the kept handle in the context (as a
    // routine that does not clear it would). The handle goes with the queue's context at
    // unload, after the device and the request are gone: it touches neither.
    TIMER_TOOK_IT.with(|took| took.set(true));
    drop(handle);
    io.unload_driver(driver).unwrap();
    TIMER_TOOK_IT.with(|took| took.set(false));
    assert_eq!(kept.result().unwrap().status, NtStatus::CANCELLED);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
