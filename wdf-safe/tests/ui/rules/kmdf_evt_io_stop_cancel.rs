// SDV EvtIoStopCancel: EvtIoStop must not leave a request unhandled; the proof it returns is
// the one of the request it was given, so one kept from another call does not do.
use wdf_safe::QueueConfig;
use wdf_safe::io_stop::{ResumedRequest, StopDone, StopRequest};
use wdf_safe::kind::Parallel;

struct Driver;

/// A proof from some other EvtIoStop call.
fn earlier() -> StopDone<'static> {
    unimplemented!()
}

fn on_stop<'r>(_driver: &Driver, request: StopRequest<'r>) -> StopDone<'r> {
    drop(request);
    earlier()
}

fn on_resume(_driver: &Driver, _request: ResumedRequest<'_>) {}

fn main() {
    let _config: QueueConfig<Parallel, Driver> =
        QueueConfig::parallel().power_managed(on_stop, on_resume);
}
