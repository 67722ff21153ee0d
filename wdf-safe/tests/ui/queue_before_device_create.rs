// Queues belong to a device: there is no queue to create on an init that has not become a
// device yet.
use wdf_safe::kind::Parallel;
use wdf_safe::{ControlDeviceInit, KmdfDriver, NtResult, QueueConfig};

fn setup<D: KmdfDriver>(init: &ControlDeviceInit<D>, config: QueueConfig<Parallel, D>) -> NtResult {
    let _queue = init.create_default_queue(config)?;
    Ok(())
}

fn main() {
    let _ = setup::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
