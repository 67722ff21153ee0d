//! Power-managed queues: requests wait while the device is in D3; a request the driver owns
//! when the device leaves D0 goes to `EvtIoStop`, and to `EvtIoResume` when it returns; at
//! removal the queue is purged. Through the shipped seam (`QueueConfig::power_managed`) and the
//! simulated KMDF (`WdfRequestStopAcknowledge` and the queue's power states).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::cell::RefCell;
use std::string::String;
use std::vec::Vec;

use wdf_safe::io_stop::{ResumedRequest, StopDone, StopRequest};
use wdf_safe::kind::Read;
use wdf_safe::{
    DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
};
use wdm_compat::host::{DeviceNode, IoManager, ScriptedDriver, major};

// The simulated framework calls back on the thread that sent the IRP: one log per test.
std::thread_local! {
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn record(line: String) {
    LOG.with(|log| log.borrow_mut().push(line));
}

fn take() -> Vec<String> {
    LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

/// Reads of 1 byte complete at once; longer ones are parked (left to their cancel routine),
/// as a driver waiting for its hardware would.
/// `SYNC`: the queue is `synchronized()` (`WdfSynchronizationScopeQueue`).
struct Parker<const SYNC: bool>;

fn cancelled<'r>(request: Request<'r, Read>) -> RequestDone<'r> {
    record("cancel routine".into());
    request.complete(NtStatus::CANCELLED)
}

fn on_read<'r, const SYNC: bool>(_: &Parker<SYNC>, request: Request<'r, Read>) -> RequestDone<'r> {
    record(format!("read of {}", request.length()));
    if request.length() <= 1 {
        return request.complete_with_information(NtStatus::SUCCESS, 0);
    }
    match request.mark_cancelable(cancelled) {
        Ok(parked) => parked.park(),
        Err((request, status)) => request.complete(status),
    }
}

fn on_stop<'r, const SYNC: bool>(_: &Parker<SYNC>, request: StopRequest<'r>) -> StopDone<'r> {
    record(format!(
        "stop: {:?}, cancelable {}",
        request.action(),
        request.is_cancelable()
    ));
    record(format!(
        "stop at IRQL {}",
        wdm_compat::host::simulated_irql()
    ));
    request.acknowledge()
}

fn on_resume<const SYNC: bool>(_: &Parker<SYNC>, _request: ResumedRequest<'_>) {
    record("resume".into());
    record(format!(
        "resume at IRQL {}",
        wdm_compat::host::simulated_irql()
    ));
}

impl<const SYNC: bool> KmdfDriver for Parker<SYNC> {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        let config = QueueConfig::parallel()
            .on_read(on_read)
            .power_managed(on_stop, on_resume);
        device.create_default_queue(if SYNC { config.synchronized() } else { config })?;
        Ok(())
    }
}

fn setup() -> (IoManager, DeviceNode) {
    setup_with::<false>()
}

fn setup_with<const SYNC: bool>() -> (IoManager, DeviceNode) {
    let io = IoManager::new();
    let bus = ScriptedDriver::new().succeeding(&[
        major::CREATE,
        major::CLEANUP,
        major::CLOSE,
        major::PNP,
        major::POWER,
    ]);
    let bus = io.load_driver("bus", bus).unwrap();
    let driver = io
        .load_driver("parker", wdf_safe::entry_point::<Parker<SYNC>>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\ParkerPdo");
    (io, node)
}

#[test]
fn a_request_arriving_in_d3_waits_in_the_queue_until_d0() {
    let (io, node) = setup();
    let handle = node.open().unwrap();
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    let read = handle.read_async(1).unwrap();
    assert!(
        !read.is_complete(),
        "a power-managed queue presents nothing in D3"
    );
    assert_eq!(take(), Vec::<String>::new());
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    assert_eq!(take(), ["read of 1"]);
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_parked_request_is_stopped_acknowledged_resumed_and_purged_at_removal() {
    let (io, node) = setup();
    let handle = node.open().unwrap();
    let parked = handle.read_async(8).unwrap();
    assert_eq!(take(), ["read of 8"]);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    assert_eq!(take(), ["stop: Suspend, cancelable true", "stop at IRQL 0"]);
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!(take(), ["resume", "resume at IRQL 0"]);
    assert!(
        !parked.is_complete(),
        "acknowledged, the request stayed the driver's"
    );
    // Removal: suspend again, then the purge cancels the parked request through its routine.
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(
        take(),
        [
            "stop: Suspend, cancelable true",
            "stop at IRQL 0",
            "cancel routine"
        ]
    );
    assert_eq!(parked.result().unwrap().status, NtStatus::CANCELLED);
    drop(parked);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A synchronized queue's `EvtIoStop` and `EvtIoResume` run under its callback lock, as its
/// `EvtIo*` callbacks do (KMDF's `FxIoQueueIoStop` / `FxIoQueueIoResume` are locked
/// callbacks): at DISPATCH_LEVEL, the lock being a spin lock.
#[test]
fn a_synchronized_queues_stop_and_resume_run_under_its_callback_lock() {
    let (io, node) = setup_with::<true>();
    let handle = node.open().unwrap();
    let parked = handle.read_async(8).unwrap();
    assert_eq!(take(), ["read of 8"]);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    assert_eq!(take(), ["stop: Suspend, cancelable true", "stop at IRQL 2"]);
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!(take(), ["resume", "resume at IRQL 2"]);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(parked.result().unwrap().status, NtStatus::CANCELLED);
    drop(parked);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
