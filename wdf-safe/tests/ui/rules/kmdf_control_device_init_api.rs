// SDV ControlDeviceInitAPI: only the setters on the control-device list may be called on a
// control-device init; WdfDeviceInitSetDeviceType is not on it.
use wdf_safe::{ControlDeviceInit, KmdfDriver};

fn configure<D: KmdfDriver>(init: &mut ControlDeviceInit<D>) {
    init.set_device_type(0x22);
}

fn main() {
    let _ = configure::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
