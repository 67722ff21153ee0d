// A memory object sent with a request belongs to the request until the completion callback
// gets it back: the driver cannot write it (or read it) while the device below may.
use wdf_safe::io_target::IoctlCompletion;
use wdf_safe::kind::state::Ready;
use wdf_safe::memory::Memory;
use wdf_safe::{Device, KmdfDriver};
use wdm_compat::IoControlCode;

fn answered<D: KmdfDriver>(_driver: &D, _device: Device<D, Ready>, _done: IoctlCompletion) {}

fn ask<D: KmdfDriver>(device: Device<D, Ready>, mut output: Memory) {
    let _ = device.send_ioctl(
        IoControlCode::from_raw(0x0022_2000),
        None,
        Some(output),
        answered::<D>,
    );
    output[0] = 1;
}

fn main() {
    let _ = ask::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
