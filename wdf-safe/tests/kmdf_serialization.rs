//! Callback serialization through the shipped seam and the simulated KMDF: a queue created
//! `synchronized()` (`WdfSynchronizationScopeQueue`) and a timer created for it with
//! `AutomaticSerialization` never run at the same time — the C echo sample's arrangement. The
//! same driver with an unsynchronized queue shows the timer running in the middle of a write.
//! Two threads: one inside the queue's `EvtIoWrite` until the test lets it go, one advancing
//! the clock; the simulation says when a callback waits for the lock, so nothing is timed.
//! A synchronized queue's `EvtIoCanceledOnQueue` is under the lock too.
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
use wdf_safe::kind::{Manual, Read, Sequential, Write};
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone,
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

/// Reads wait in a manual queue (`synchronized()` when `SYNC`) until cancelled; its
/// `EvtIoCanceledOnQueue` records the IRQL it runs at and completes them.
struct Waiter<const SYNC: bool> {
    waiting: Queue<Manual>,
}

/// The IRQL each `EvtIoCanceledOnQueue` ran at (one test per variant).
static CANCELED_AT: Mutex<Vec<(bool, u8)>> = Mutex::new(Vec::new());

fn wait_read<'r, const SYNC: bool>(
    waiter: &Waiter<SYNC>,
    request: Request<'r, Read>,
) -> RequestDone<'r> {
    match request.forward_to_queue(&waiter.waiting) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

fn canceled_on_queue<'r, const SYNC: bool>(
    _: &Waiter<SYNC>,
    request: AnyRequest<'r>,
) -> RequestDone<'r> {
    CANCELED_AT
        .lock()
        .unwrap()
        .push((SYNC, wdm_compat::host::simulated_irql()));
    request.complete_with_information(NtStatus::CANCELLED, 0)
}

impl<const SYNC: bool> KmdfDriver for Waiter<SYNC> {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(if SYNC {
            r"\Device\SyncWaiter"
        } else {
            r"\Device\FreeWaiter"
        })?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(if SYNC {
            r"\DosDevices\SyncWaiter"
        } else {
            r"\DosDevices\FreeWaiter"
        })?;
        device.create_default_queue(QueueConfig::sequential().on_read(wait_read::<SYNC>))?;
        let config = QueueConfig::manual().on_canceled_on_queue(canceled_on_queue::<SYNC>);
        let waiting = device.create_queue(if SYNC { config.synchronized() } else { config })?;
        let _ready = device.finish_initializing();
        Ok(Self { waiting })
    }
}

fn cancel_a_waiting_read<const SYNC: bool>() -> u8 {
    let io = IoManager::new();
    let driver = io
        .load_driver(
            if SYNC { "syncwaiter" } else { "freewaiter" },
            wdf_safe::entry_point::<Waiter<SYNC>>(),
        )
        .unwrap();
    let path = if SYNC {
        r"\\.\SyncWaiter"
    } else {
        r"\\.\FreeWaiter"
    };
    let handle = io.open(path).unwrap();
    let read = handle.read_async(4).unwrap();
    assert!(!read.is_complete(), "the read waits in the manual queue");
    assert!(read.cancel(), "the queue's cancel routine took it");
    assert_eq!(read.result().unwrap().status, NtStatus::CANCELLED);
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    let at = CANCELED_AT.lock().unwrap();
    let mine: Vec<u8> = at
        .iter()
        .filter(|(s, _)| *s == SYNC)
        .map(|(_, irql)| *irql)
        .collect();
    assert_eq!(mine.len(), 1, "one EvtIoCanceledOnQueue");
    mine[0]
}

#[test]
fn a_synchronized_queues_canceled_on_queue_runs_under_its_lock_at_dispatch_level() {
    assert_eq!(cancel_a_waiting_read::<true>(), 2);
}

#[test]
fn an_unsynchronized_queues_canceled_on_queue_runs_at_the_cancellers_irql() {
    assert_eq!(cancel_a_waiting_read::<false>(), 0);
}
