// SDV InitFreeDeviceCreateType2: no WdfDeviceCreate on an init that was freed: `free` consumes it.
use wdf_safe::{ControlDeviceInit, DriverContext, KmdfDriver, NtResult};

fn setup<D: KmdfDriver>(driver: &mut DriverContext<'_, '_, D>, init: ControlDeviceInit<D>) -> NtResult {
    init.free();
    let _device = init.create(driver).map_err(|(_, status)| status)?;
    Ok(())
}

fn main() {
    let _ = setup::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
