// WdfIoQueueRetrieveNextRequest refuses parallel queues (STATUS_INVALID_DEVICE_STATE).
use wdf_safe::kind::Parallel;
use wdf_safe::kind::state::Ready;
use wdf_safe::{Device, KmdfDriver, Queue};

fn take<D: KmdfDriver>(device: &Device<D, Ready>, queue: &Queue<Parallel>) {
    let _ = device.retrieve_next_request(queue);
}

fn main() {
    let _ = take::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
