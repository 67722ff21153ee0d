//! A sideband control device beside PnP filter devices, as kbfiltr has one: created from
//! `EvtDriverDeviceAdd` with the first filter device, reporting how many filter devices exist,
//! and deleted by the driver when the last one goes.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::DeviceControl;
use wdf_safe::kind::state::Ready;
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, QueueConfig,
    Request, RequestDone, WaitLock,
};
use wdm_compat::host::{IoManager, ScriptedDriver, major};

const SIDEBAND: &str = r"\\.\Sideband";
/// The sideband device's one IOCTL: how many filter devices exist.
const IOCTL_COUNT: u32 = (0x22 << 16) | (0xD00 << 2);

struct Sideband {
    filters: AtomicU32,
    /// The sideband control device while any filter device exists.
    control: WaitLock<Option<Device<Sideband, Ready>>>,
}

fn sideband_ioctl<'r>(driver: &Sideband, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    if request.ioctl_code().to_raw() != IOCTL_COUNT {
        return request.complete(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let count = driver.filters.load(Ordering::SeqCst);
    request.complete_with(|request| request.write_output(&count))
}

/// A filter device's cleanup: the last one takes the sideband device with it.
fn filter_gone(driver: &Sideband) {
    if driver.filters.fetch_sub(1, Ordering::SeqCst) == 1
        && let Ok(mut control) = driver.control.lock()
        && let Some(device) = control.take()
    {
        assert_eq!(device.delete(), Ok(()));
    }
}

impl KmdfDriver for Sideband {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            filters: AtomicU32::new(0),
            control: WaitLock::new(None)?,
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.on_cleanup(filter_gone)?;
        // A PnP device is KMDF's to delete, with its removal.
        assert_eq!(
            device.ready().delete(),
            Err(NtStatus::INVALID_DEVICE_REQUEST)
        );
        let mut control = self.control.lock()?;
        if control.is_none() {
            let mut sideband =
                ControlDeviceInit::allocate_beside(&device, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
                    .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
            sideband.assign_name(r"\Device\Sideband")?;
            let sideband = sideband
                .create_beside(&device)
                .map_err(|(_, status)| status)?;
            sideband.create_symbolic_link(r"\DosDevices\Sideband")?;
            let _queue = sideband
                .create_default_queue(QueueConfig::parallel().on_device_control(sideband_ioctl))?;
            *control = Some(sideband.finish_initializing());
        }
        self.filters.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[major::CREATE, major::CLEANUP, major::CLOSE, major::PNP])
}

fn filters_reported(io: &IoManager) -> Result<u32, NtStatus> {
    let handle = io.open(SIDEBAND)?;
    let result = handle.device_io_control(IOCTL_COUNT, &[], 4);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    Ok(u32::from_le_bytes(result.data.try_into().unwrap()))
}

#[test]
fn the_sideband_device_comes_with_the_first_filter_device_and_goes_with_the_last() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let filter = io
        .load_driver("sideband", wdf_safe::entry_point::<Sideband>())
        .unwrap();
    assert_eq!(filters_reported(&io), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    let first = common::started_node(&io, bus, filter, r"\Device\Keyboard0");
    let second = common::started_node(&io, bus, filter, r"\Device\Keyboard1");
    assert_eq!(filters_reported(&io), Ok(2));
    assert_eq!(first.remove(), NtStatus::SUCCESS);
    assert_eq!(filters_reported(&io), Ok(1));
    assert_eq!(second.remove(), NtStatus::SUCCESS);
    // The last filter device took the sideband device with it.
    assert_eq!(filters_reported(&io), Err(NtStatus::OBJECT_NAME_NOT_FOUND));
    // A third keyboard brings it back.
    let third = common::started_node(&io, bus, filter, r"\Device\Keyboard2");
    assert_eq!(filters_reported(&io), Ok(1));
    assert_eq!(third.remove(), NtStatus::SUCCESS);
    io.unload_driver(filter).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A filter that creates its sideband device in `EvtDriverDeviceAdd` and forgets to finish
/// initializing it.
struct Unfinished;

impl KmdfDriver for Unfinished {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        let mut sideband = ControlDeviceInit::allocate_beside(&device, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        sideband.assign_name(r"\Device\Unfinished")?;
        let _initializing = sideband
            .create_beside(&device)
            .map_err(|(_, status)| status)?;
        Ok(())
    }
}

#[test]
fn a_sideband_device_left_unfinished_by_evt_driver_device_add_is_reported() {
    let io = IoManager::new();
    io.set_strict(false);
    let bus = io.load_driver("bus", bus()).unwrap();
    let filter = io
        .load_driver("unfinished", wdf_safe::entry_point::<Unfinished>())
        .unwrap();
    let _node = common::started_node(&io, bus, filter, r"\Device\Keyboard9");
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(rules, ["CtlDeviceFinishInitDeviceAdd"]);
}
