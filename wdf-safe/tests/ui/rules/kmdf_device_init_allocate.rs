// SDV DeviceInitAllocate: a control device's init comes from WdfControlDeviceInitAllocate; there is
// no other way to make one.
use wdf_safe::{ControlDeviceInit, KmdfDriver};

fn make<D: KmdfDriver>() -> ControlDeviceInit<D> {
    ControlDeviceInit::new()
}

fn main() {
    let _ = make::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
