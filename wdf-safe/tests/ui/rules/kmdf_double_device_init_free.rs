// SDV DoubleDeviceInitFree: a control-device init is freed at most once.
use wdf_safe::{ControlDeviceInit, KmdfDriver};

fn give_up<D: KmdfDriver>(init: ControlDeviceInit<D>) {
    init.free();
    init.free();
}

fn main() {
    let _ = give_up::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
