//! What the test drivers share.

use wdm_compat::{DeviceConfig, DriverSetup, IoType, NamedDevice, NtResult};

/// A buffered control device `\Device\<name>` reachable from user mode as `\\.\<name>`: what
/// each test driver's `DriverEntry` makes.
pub(crate) fn buffered_device<X: Send + Sync + 'static>(
    setup: &mut DriverSetup<'_, X>,
    device: &str,
    link: &'static str,
    extension: X,
) -> NtResult<NamedDevice<X>> {
    setup
        .create_device(
            &DeviceConfig::named(device).io_type(IoType::Buffered),
            extension,
        )?
        .create_symbolic_link(link)
        .map_err(|(_, status)| status)
}
