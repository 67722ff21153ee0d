//! A root-enumerated device node, as `devcon install <inf> root\<ID>` makes one for a PnP
//! driver that drives no hardware (the KMDF echo sample's): a PDO of a simulated root bus with
//! the driver's device over it, started.

use wdm_compat::NtStatus;
use wdm_compat::host::{
    DeviceNode, DeviceNodeConfig, DriverId, IoManager, ScriptedDriver, flags, major,
};

/// Where the KMDF echo sample's device interface (`GUID_DEVINTERFACE_ECHO`) opens in the
/// simulation, which names the first interface of a device `WdfSafeInterface0#{GUID}`.
pub const KMDF_ECHO_INTERFACE: &str =
    r"\\.\WdfSafeInterface0#{CDC35B6E-0BE4-4936-BF5F-5537380A7C1A}";

/// Where the toaster sample's device interface (`GUID_DEVINTERFACE_TOASTER`) opens: the first
/// interface of its device, as above.
pub const TOASTER_INTERFACE: &str = r"\\.\WdfSafeInterface0#{781EF630-72B2-11D2-B852-00C04FAD5171}";

/// The root bus: its PDOs succeed creates, cleanups, closes, PnP and power IRPs.
#[must_use]
pub fn root_bus() -> ScriptedDriver {
    ScriptedDriver::new().succeeding(&[
        major::CREATE,
        major::CLEANUP,
        major::CLOSE,
        major::PNP,
        major::POWER,
    ])
}

/// Loads the root bus and makes a started node `pdo_name` with `driver` over it.
///
/// # Errors
///
/// The status of the step that failed: loading the bus, building the node or starting it.
pub fn root_node(
    io: &IoManager,
    pdo_name: &'static str,
    driver: DriverId,
) -> Result<DeviceNode, NtStatus> {
    let root = io.load_driver("root", root_bus())?;
    let node = io.create_device_node(&DeviceNodeConfig {
        pdo_name,
        bus: root,
        device_type: 0x22,
        pdo_flags: flags::DO_BUFFERED_IO,
        drivers: &[driver],
        interface_link: None,
    })?;
    match node.start() {
        NtStatus::SUCCESS => Ok(node),
        status => Err(status),
    }
}
