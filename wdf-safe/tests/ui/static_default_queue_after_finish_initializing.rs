// Facts §2.5, as for a configuration given as a value: a ready device has no default queue
// to take, constant or not.
use wdf_safe::kind::state::Initializing;
use wdf_safe::queue::StaticQueue;
use wdf_safe::{Device, KmdfDriver, NtResult};

fn setup<D: KmdfDriver, Q: StaticQueue<D>>(device: Device<D, Initializing>) -> NtResult {
    let device = device.finish_initializing();
    let _queue = device.create_static_default_queue::<Q>()?;
    Ok(())
}

fn main() {}
