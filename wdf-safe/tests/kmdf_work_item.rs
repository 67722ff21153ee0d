//! `WorkItem`, a `WDFWORKITEM` parented to a device: work queued at DISPATCH_LEVEL (from a
//! timer) runs later, once, at PASSIVE_LEVEL where a wait lock may be taken; a flush runs queued
//! work at once, but not from the item's own callback; work still queued when the device goes
//! runs first.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::DeviceControl;
use wdf_safe::kind::state::Ready;
use wdf_safe::timer::{Timer, TimerConfig};
use wdf_safe::work_item::WorkItem;
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone, WaitLock,
};
use wdm_compat::host::{FileHandle, IoManager};

const fn ioctl(function: u32) -> u32 {
    (0x22 << 16) | (function << 2)
}
/// Start the timer (due in 10 ms), whose callback queues the work item twice.
const START: u32 = ioctl(0xC00);
/// Queue the work item.
const ENQUEUE: u32 = ioctl(0xC01);
/// Flush the work item.
const FLUSH: u32 = ioctl(0xC02);
/// Make the work item flush itself when it next runs.
const SELF_FLUSH: u32 = ioctl(0xC03);

/// How often the work ran, across loads (the unload test reads it after the driver is gone).
static RUNS: AtomicU32 = AtomicU32::new(0);
/// Whether the work's wait lock was taken every time (it runs at PASSIVE_LEVEL).
static LOCKED_EVERY_TIME: AtomicBool = AtomicBool::new(true);
static TURNS: Mutex<()> = Mutex::new(());

struct Deferrer {
    timer: Timer<Deferrer>,
    work: WorkItem<Deferrer>,
    guarded: WaitLock<u32>,
    flush_itself: AtomicBool,
}

fn timer_fired(deferrer: &Deferrer, _device: Device<Deferrer, Ready>) {
    // At DISPATCH_LEVEL: queue the waiting part; twice before it runs is once.
    deferrer.work.enqueue();
    deferrer.work.enqueue();
}

fn work(deferrer: &Deferrer, _device: Device<Deferrer, Ready>) {
    match deferrer.guarded.lock() {
        Ok(mut guarded) => *guarded += 1,
        Err(_) => LOCKED_EVERY_TIME.store(false, Ordering::SeqCst),
    }
    RUNS.fetch_add(1, Ordering::SeqCst);
    if deferrer.flush_itself.swap(false, Ordering::SeqCst) {
        let _ = deferrer.work.flush();
    }
}

fn deferrer_ioctl<'r>(deferrer: &Deferrer, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    match request.ioctl_code().to_raw() {
        START => {
            deferrer.timer.start(10);
        }
        ENQUEUE => deferrer.work.enqueue(),
        FLUSH => {
            if let Err(status) = deferrer.work.flush() {
                return request.complete(status);
            }
        }
        SELF_FLUSH => deferrer.flush_itself.store(true, Ordering::SeqCst),
        _ => return request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
    request.complete(NtStatus::SUCCESS)
}

impl KmdfDriver for Deferrer {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Deferrer")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Deferrer")?;
        let _queue = device
            .create_default_queue(QueueConfig::parallel().on_device_control(deferrer_ioctl))?;
        let timer = device.create_timer(TimerConfig::one_shot(timer_fired))?;
        let work = device.create_work_item(work)?;
        let _ready = device.finish_initializing();
        Ok(Self {
            timer,
            work,
            guarded: WaitLock::new(0)?,
            flush_itself: AtomicBool::new(false),
        })
    }
}

fn load() -> (IoManager, wdm_compat::host::DriverId, FileHandle) {
    RUNS.store(0, Ordering::SeqCst);
    let io = IoManager::new();
    let driver = io
        .load_driver("deferrer", wdf_safe::entry_point::<Deferrer>())
        .unwrap();
    let handle = io.open(r"\\.\Deferrer").unwrap();
    (io, driver, handle)
}

fn send(handle: &FileHandle, code: u32) {
    assert_eq!(
        handle.device_io_control(code, &[], 0).status,
        NtStatus::SUCCESS
    );
}

#[test]
fn work_queued_at_dispatch_level_runs_later_once_at_passive_level() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, _driver, handle) = load();
    send(&handle, START);
    wdf_safe::advance_clock(&io, Duration::from_millis(10));
    assert_eq!(RUNS.load(Ordering::SeqCst), 0, "queued, not run yet");
    wdf_safe::run_work_items(&io);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "queued twice, run once");
    assert!(LOCKED_EVERY_TIME.load(Ordering::SeqCst));
    wdf_safe::run_work_items(&io);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_flush_runs_queued_work_at_once_but_not_from_the_work_itself() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, _driver, handle) = load();
    send(&handle, ENQUEUE);
    send(&handle, FLUSH);
    assert_eq!(RUNS.load(Ordering::SeqCst), 1, "the flush ran it");
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    io.set_strict(false);
    send(&handle, SELF_FLUSH);
    send(&handle, ENQUEUE);
    wdf_safe::run_work_items(&io);
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
    let reports = io.take_violations();
    assert!(
        reports
            .iter()
            .any(|v| v.message.contains("work item's own callback")),
        "{reports:#?}"
    );
}

#[test]
fn work_still_queued_when_its_device_goes_runs_first() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, driver, handle) = load();
    send(&handle, ENQUEUE);
    drop(handle);
    io.unload_driver(driver).unwrap();
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
