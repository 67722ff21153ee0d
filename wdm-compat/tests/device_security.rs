//! `DeviceConfig::security`: the descriptor a device is created with decides who opens it, as
//! `IoCreateDeviceSecure` does.
#![cfg(feature = "host")]
#![allow(clippy::unwrap_used, missing_docs)]

use wdm_compat::host::{IoManager, OpenOptions};
use wdm_compat::{
    DeviceConfig, DeviceSecurity, DriverSetup, NamedDevice, NtResult, NtStatus, WdmDriver,
};

/// Two devices: one with the default security, one for administrators only.
struct TwoDoors {
    _open: NamedDevice<()>,
    _guarded: NamedDevice<()>,
}

impl WdmDriver for TwoDoors {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let open = setup
            .create_device(&DeviceConfig::named(r"\Device\OpenDoor"), ())?
            .create_symbolic_link(r"\DosDevices\OpenDoor")
            .map_err(|(_, status)| status)?;
        let guarded = setup
            .create_device(
                &DeviceConfig::named(r"\Device\GuardedDoor")
                    .security(DeviceSecurity::SystemAndAdministrators),
                (),
            )?
            .create_symbolic_link(r"\DosDevices\GuardedDoor")
            .map_err(|(_, status)| status)?;
        Ok(Self {
            _open: open,
            _guarded: guarded,
        })
    }
}

#[test]
fn a_device_for_administrators_refuses_a_standard_user_and_the_default_one_does_not() {
    let io = IoManager::new();
    io.load_driver("doors", wdm_compat::driver::entry_point::<TwoDoors>())
        .unwrap();
    assert!(io.open_with(r"\\.\OpenDoor", OpenOptions::USER).is_ok());
    assert_eq!(
        io.open_with(r"\\.\GuardedDoor", OpenOptions::USER).err(),
        Some(NtStatus::ACCESS_DENIED)
    );
    assert!(
        io.open_with(r"\\.\GuardedDoor", OpenOptions::ADMINISTRATOR)
            .is_ok()
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
