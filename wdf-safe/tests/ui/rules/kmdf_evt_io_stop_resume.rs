// SDV EvtIoStopResume: acknowledging without requeueing needs an EvtIoResume; a power-managed
// queue takes both callbacks or none.
use wdf_safe::QueueConfig;
use wdf_safe::io_stop::{StopDone, StopRequest};
use wdf_safe::kind::Parallel;

struct Driver;

fn on_stop<'r>(_driver: &Driver, request: StopRequest<'r>) -> StopDone<'r> {
    request.acknowledge()
}

fn main() {
    let _config: QueueConfig<Parallel, Driver> = QueueConfig::parallel().power_managed(on_stop);
}
