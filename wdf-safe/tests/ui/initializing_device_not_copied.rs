// SDV CtlDeviceFinishInitDrEntry: `finish_initializing` consumes the only handle to an
// initializing device, so no copy survives to configure it after it started receiving I/O.
use wdf_safe::kind::state::Initializing;
use wdf_safe::{Device, KmdfDriver};

fn keep<D: KmdfDriver>(device: Device<D, Initializing>) {
    let copy = device;
    let _ready = device.finish_initializing();
    drop(copy);
}

fn main() {
    let _ = keep::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
