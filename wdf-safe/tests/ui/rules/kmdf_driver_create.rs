// SDV DriverCreate: DriverEntry creates the framework driver first; every device is made through
// the `DriverContext` that only the framework's DriverEntry hands out.
#![allow(unreachable_code)]
use wdf_safe::{ControlDeviceInit, DriverContext, KmdfDriver};

fn early<D: KmdfDriver>() -> Option<ControlDeviceInit<D>> {
    let mut driver: DriverContext<'_, '_, D> = DriverContext::from_raw(todo!());
    ControlDeviceInit::allocate(&mut driver, "D:P(A;;GA;;;SY)")
}

fn main() {
    let _ = early::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
