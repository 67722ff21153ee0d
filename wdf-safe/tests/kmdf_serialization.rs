//! Callback serialization through the shipped seam and the simulated KMDF: a queue created
//! `synchronized()` (`WdfSynchronizationScopeQueue`) and a timer created for it with
//! `AutomaticSerialization` never run at the same time — the C echo sample's arrangement. The
//! same driver with an unsynchronized queue shows the timer running in the middle of a write.
//! Two threads: one inside the queue's `EvtIoWrite` until the test lets it go, one advancing
//! the clock; the simulation says when a callback waits for the lock, so nothing is timed.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, OnceLock};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Sequential, Write};
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
    Request, RequestDone,
};
use wdm_compat::host::IoManager;

/// One test's state (each variant has its own).
#[derive(Default)]
struct Shared {
    in_write: AtomicBool,
    overlapped: AtomicBool,
    ticks: AtomicU32,
    entered: Mutex<Option<Sender<()>>>,
    go: Mutex<Option<Receiver<()>>>,
}

fn shared<const SYNC: bool>() -> &'static Shared {
    static SYNCHRONIZED: OnceLock<Shared> = OnceLock::new();
    static FREE: OnceLock<Shared> = OnceLock::new();
    if SYNC { &SYNCHRONIZED } else { &FREE }.get_or_init(Shared::default)
}

struct Echo<const SYNC: bool> {
    _queue: Queue<Sequential>,
    _timer: Timer<Self>,
}

/// Inside until the test lets it go.
fn write<'r, const SYNC: bool>(_: &Echo<SYNC>, request: Request<'r, Write>) -> RequestDone<'r> {
    let shared = shared::<SYNC>();
    shared.in_write.store(true, Ordering::SeqCst);
    if let Some(entered) = shared.entered.lock().unwrap().as_ref() {
        entered.send(()).unwrap();
    }
    if let Some(go) = shared.go.lock().unwrap().as_ref() {
        go.recv().unwrap();
    }
    shared.in_write.store(false, Ordering::SeqCst);
    let length = request.length();
    request.complete_with_information(NtStatus::SUCCESS, length)
}

fn tick<const SYNC: bool>(_: &Echo<SYNC>, _device: Device<Echo<SYNC>, Ready>) {
    let shared = shared::<SYNC>();
    if shared.in_write.load(Ordering::SeqCst) {
        shared.overlapped.store(true, Ordering::SeqCst);
    }
    shared.ticks.fetch_add(1, Ordering::SeqCst);
}

impl<const SYNC: bool> KmdfDriver for Echo<SYNC> {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(if SYNC {
            r"\Device\Serial"
        } else {
            r"\Device\Free"
        })?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(if SYNC {
            r"\DosDevices\Serial"
        } else {
            r"\DosDevices\Free"
        })?;
        let config = QueueConfig::sequential().on_write(write::<SYNC>);
        let config = if SYNC { config.synchronized() } else { config };
        let queue = device.create_default_queue(config)?;
        let timer = device.create_serialized_timer(&queue, TimerConfig::one_shot(tick::<SYNC>))?;
        let _ready = device.finish_initializing();
        timer.start(10);
        Ok(Self {
            _queue: queue,
            _timer: timer,
        })
    }
}

/// Runs a write that stays in its callback while the timer falls due on another thread; returns
/// whether the timer had to wait for the write (the lock's waiter count said so before the
/// write was let go) and what the timer saw.
fn race<const SYNC: bool>() -> (bool, bool, u32) {
    let io = IoManager::new();
    let driver = io
        .load_driver(
            if SYNC { "serial" } else { "free" },
            wdf_safe::entry_point::<Echo<SYNC>>(),
        )
        .unwrap();
    let state = shared::<SYNC>();
    let (entered_tx, entered) = channel();
    let (go, go_rx) = channel();
    *state.entered.lock().unwrap() = Some(entered_tx);
    *state.go.lock().unwrap() = Some(go_rx);
    let path = if SYNC { r"\\.\Serial" } else { r"\\.\Free" };
    let handle = io.open(path).unwrap();
    let timer = {
        // Started from the test's side of the driver: a one-shot 10 ms from now.
        let io = io.clone();
        move || wdf_safe::advance_clock(&io, core::time::Duration::from_millis(10))
    };
    let waited = std::thread::scope(|scope| {
        let writer = scope.spawn(|| handle.write(b"held"));
        entered.recv().unwrap();
        let ticker = scope.spawn(timer);
        // Either the timer waits for the lock the write holds, or it runs and returns.
        while kmdf_sim::callback_lock_waiters(&io) == 0 && !ticker.is_finished() {
            std::thread::yield_now();
        }
        let waited = kmdf_sim::callback_lock_waiters(&io) == 1;
        go.send(()).unwrap();
        let written = writer.join().unwrap();
        assert_eq!(
            (written.status, written.information),
            (NtStatus::SUCCESS, 4)
        );
        ticker.join().unwrap();
        waited
    });
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    (
        waited,
        state.overlapped.load(Ordering::SeqCst),
        state.ticks.load(Ordering::SeqCst),
    )
}

#[test]
fn a_synchronized_queues_timer_waits_for_the_write_in_progress() {
    assert_eq!(race::<true>(), (true, false, 1));
}

#[test]
fn without_synchronization_the_timer_runs_in_the_middle_of_the_write() {
    assert_eq!(race::<false>(), (false, true, 1));
}
