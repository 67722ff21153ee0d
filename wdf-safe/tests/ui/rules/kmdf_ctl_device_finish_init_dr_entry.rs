// SDV CtlDeviceFinishInitDrEntry: a control device gets no I/O before
// WdfControlFinishInitializing, so its queues cannot be worked before then.
use wdf_safe::kind::Manual;
use wdf_safe::kind::state::Initializing;
use wdf_safe::{Device, KmdfDriver, Queue};

fn take<D: KmdfDriver>(device: &Device<D, Initializing>, queue: &Queue<Manual>) {
    let _ = device.retrieve_next_request(queue);
}

fn main() {
    let _ = take::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
