//! `WdfDeviceGetDefaultQueue` through the shipped seam and the simulated KMDF: the device's
//! default queue found again from the device, as the handle `create_default_queue` gave (the
//! same queue: its context is there), only for the kind it was created as; none for a device
//! without one.
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
use wdf_safe::kind::{Parallel, Read, Sequential};
use wdf_safe::{
    ControlDeviceInit, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone,
};
use wdm_compat::host::IoManager;

struct Mark(u32);
wdf_safe::declare_context_type!(Mark);

/// What the driver found: the default queue's context through the found handle, whether a
/// parallel one was found, and whether the second device (no default queue) had one.
static FOUND: Mutex<Option<(Option<u32>, bool, bool)>> = Mutex::new(None);

fn read<'r>(_: &Finder, request: Request<'r, Read>) -> RequestDone<'r> {
    request.complete_with_information(NtStatus::SUCCESS, 0)
}

struct Finder;

impl KmdfDriver for Finder {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Finder")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let queue = device.create_default_queue(QueueConfig::sequential().on_read(read))?;
        queue.allocate_context(|| Mark(42), None)?;
        let device = device.finish_initializing();
        let found = device
            .default_queue::<Sequential>()
            .and_then(|q| q.context::<Mark>())
            .map(|mark| mark.0);
        let parallel = device.default_queue::<Parallel>().is_some();

        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\FinderBare")?;
        let bare = init.create(driver).map_err(|(_, status)| status)?;
        let bare = bare.finish_initializing();
        let bare_has_one = bare.default_queue::<Sequential>().is_some();
        *FOUND.lock().unwrap() = Some((found, parallel, bare_has_one));
        Ok(Self)
    }
}

#[test]
fn the_default_queue_is_found_again_as_the_kind_it_was_created() {
    let io = IoManager::new();
    let driver = io
        .load_driver("finder", wdf_safe::entry_point::<Finder>())
        .unwrap();
    assert_eq!(*FOUND.lock().unwrap(), Some((Some(42), false, false)));
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
