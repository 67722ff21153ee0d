// SDV InitFreeNull: an init pointer is never NULL: allocation can fail, and the `Option` it
// returns must be looked into before the init is used.
use wdf_safe::{ControlDeviceInit, DriverContext, KmdfDriver, NtResult};

fn setup<D: KmdfDriver>(driver: &mut DriverContext<'_, '_, D>) -> NtResult {
    let init = ControlDeviceInit::allocate(driver, "D:P(A;;GA;;;SY)");
    let _device = init.create(driver).map_err(|(_, status)| status)?;
    Ok(())
}

fn main() {
    let _ = setup::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
