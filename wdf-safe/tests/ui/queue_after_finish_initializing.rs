// Facts §2.5: the default queue and request dispatching are set up before
// WdfControlFinishInitializing (afterwards KMDF fails them with STATUS_INVALID_DEVICE_STATE);
// a ready device has no queue-creating methods.
use wdf_safe::kind::Parallel;
use wdf_safe::kind::state::Initializing;
use wdf_safe::{Device, KmdfDriver, NtResult, QueueConfig};

fn setup<D: KmdfDriver>(device: Device<D, Initializing>, config: QueueConfig<Parallel, D>) -> NtResult {
    let device = device.finish_initializing();
    let _queue = device.create_default_queue(config)?;
    Ok(())
}

fn main() {
    let _ = setup::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
