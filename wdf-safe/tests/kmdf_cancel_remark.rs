//! A cancel routine that tries to mark its request cancelable again is refused with
//! `STATUS_CANCELLED` and gets the request back to complete: a request its cancel routine
//! claimed stays claimed, so no earlier holder's unmark can win it back after the routine
//! completed it. Through the shipped seam and the simulated KMDF.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::Read;
use wdf_safe::{
    ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::host::IoManager;

/// What the second mark answered, in the cancel routine.
static REMARK: Mutex<Option<NtStatus>> = Mutex::new(None);

/// A second routine: never reached, since the second mark is refused.
fn never<'r>(request: Request<'r, Read>) -> RequestDone<'r> {
    *REMARK.lock().unwrap() = Some(NtStatus::UNSUCCESSFUL);
    request.complete(NtStatus::UNSUCCESSFUL)
}

fn cancel<'r>(request: Request<'r, Read>) -> RequestDone<'r> {
    match request.mark_cancelable(never) {
        Ok(cancelable) => {
            *REMARK.lock().unwrap() = Some(NtStatus::SUCCESS);
            cancelable.park()
        }
        Err((request, status)) => {
            *REMARK.lock().unwrap() = Some(status);
            request.complete(NtStatus::CANCELLED)
        }
    }
}

fn read<'r>(_: &Remarker, request: Request<'r, Read>) -> RequestDone<'r> {
    match request.mark_cancelable(cancel) {
        Ok(cancelable) => cancelable.park(),
        Err((request, status)) => request.complete(status),
    }
}

struct Remarker;

impl KmdfDriver for Remarker {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Remarker")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(r"\DosDevices\Remarker")?;
        device.create_default_queue(QueueConfig::parallel().on_read(read))?;
        let _ready = device.finish_initializing();
        Ok(Self)
    }
}

#[test]
fn a_cancel_routine_cannot_make_its_request_cancelable_again() {
    let io = IoManager::new();
    let driver = io
        .load_driver("remarker", wdf_safe::entry_point::<Remarker>())
        .unwrap();
    let handle = io.open(r"\\.\Remarker").unwrap();
    let parked = handle.read_async(4).unwrap();
    assert!(!parked.is_complete());
    assert!(parked.cancel());
    assert_eq!(parked.result().unwrap().status, NtStatus::CANCELLED);
    assert_eq!(*REMARK.lock().unwrap(), Some(NtStatus::CANCELLED));
    drop(parked);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
