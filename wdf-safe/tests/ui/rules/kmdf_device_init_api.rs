// SDV DeviceInitAPI / ControlDeviceInitAPI: the init is configured before WdfDeviceCreate,
// never after.
use wdf_safe::{ControlDeviceInit, DriverContext, KmdfDriver, NtResult};
use wdm_compat::IoType;

fn setup<D: KmdfDriver>(driver: &mut DriverContext<'_, '_, D>, init: ControlDeviceInit<D>) -> NtResult {
    let mut init = init;
    let _device = init.create(driver).map_err(|(_, status)| status)?;
    init.set_io_type(IoType::Direct);
    Ok(())
}

fn main() {
    let _ = setup::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
