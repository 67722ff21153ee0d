// SDV EvtIoStopCompleteOrStopAck: EvtIoStop must acknowledge the request it is given; one that
// returns without doing so has no `StopDone` to return.
use wdf_safe::QueueConfig;
use wdf_safe::io_stop::{ResumedRequest, StopDone, StopRequest};
use wdf_safe::kind::Parallel;

struct Driver;

fn on_stop<'r>(_driver: &Driver, request: StopRequest<'r>) -> StopDone<'r> {
    let _ = request.action();
}

fn on_resume(_driver: &Driver, _request: ResumedRequest<'_>) {}

fn main() {
    let _config: QueueConfig<Parallel, Driver> =
        QueueConfig::parallel().power_managed(on_stop, on_resume);
}
