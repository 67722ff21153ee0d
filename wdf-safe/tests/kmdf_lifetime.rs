//! Handles a driver keeps, used while KMDF deletes their objects: the crate's handle cell is
//! cleared when KMDF disposes the object (its `EvtCleanupCallback`), so a kept `Queue` or
//! `Device` used from then on reaches no framework object (a call that starts before then holds
//! a framework reference, `WdfObjectReferenceActual`, for its duration).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::Manual;
use wdf_safe::kind::state::Ready;
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
};
use wdm_compat::host::IoManager;

/// Whether the device's cleanup uses its kept queue (set before each load; the tests that read
/// it take turns).
static USE_IN_CLEANUP: AtomicBool = AtomicBool::new(false);
/// What the queue said it held when the device's cleanup asked.
static QUEUED_IN_CLEANUP: AtomicUsize = AtomicUsize::new(usize::MAX);
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A control device with a manual queue it keeps; its device cleanup callback may use them.
struct Keeper {
    device: Device<Keeper, Ready>,
    parked: Queue<Manual>,
}

fn cleanup(keeper: &Keeper) {
    if USE_IN_CLEANUP.load(Ordering::SeqCst) {
        // The queue, a child of the device, was disposed before this callback: these reach no
        // framework object now.
        keeper.device.purge_queue(&keeper.parked);
        keeper.device.stop_queue(&keeper.parked);
        QUEUED_IN_CLEANUP.store(keeper.parked.queued(), Ordering::SeqCst);
    }
}

impl KmdfDriver for Keeper {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Keeper")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let parked = device.create_queue(QueueConfig::manual())?;
        device.on_cleanup(cleanup)?;
        Ok(Self {
            device: device.finish_initializing(),
            parked,
        })
    }
}

/// The framework calls the driver's unload makes, with or without the cleanup's use of the
/// kept queue.
fn calls_during_unload(use_in_cleanup: bool) -> u64 {
    USE_IN_CLEANUP.store(use_in_cleanup, Ordering::SeqCst);
    let io = IoManager::new();
    let driver = io
        .load_driver("keeper", wdf_safe::entry_point::<Keeper>())
        .unwrap();
    let before = kmdf_sim::framework_calls(&io);
    io.unload_driver(driver).unwrap();
    let calls = kmdf_sim::framework_calls(&io) - before;
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    calls
}

#[test]
fn a_kept_queue_used_after_kmdf_disposed_it_reaches_no_framework_object() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let quiet = calls_during_unload(false);
    QUEUED_IN_CLEANUP.store(usize::MAX, Ordering::SeqCst);
    let used = calls_during_unload(true);
    // The purge, stop and state query found the cell cleared: not one framework call more.
    assert_eq!(used, quiet);
    assert_eq!(QUEUED_IN_CLEANUP.load(Ordering::SeqCst), 0);
}
