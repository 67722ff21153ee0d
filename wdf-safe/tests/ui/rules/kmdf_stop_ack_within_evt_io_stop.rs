// SDV StopAckWithinEvtIoStop: WdfRequestStopAcknowledge belongs inside EvtIoStop; the request
// EvtIoStop is lent cannot be kept to acknowledge later.
use std::cell::RefCell;

use wdf_safe::QueueConfig;
use wdf_safe::io_stop::{ResumedRequest, StopDone, StopRequest};
use wdf_safe::kind::Parallel;

struct Driver {
    later: RefCell<Option<StopRequest<'static>>>,
}

fn on_stop<'r>(driver: &Driver, request: StopRequest<'r>) -> StopDone<'r> {
    *driver.later.borrow_mut() = Some(request);
    todo!()
}

fn on_resume(_driver: &Driver, _request: ResumedRequest<'_>) {}

fn main() {
    let _config: QueueConfig<Parallel, Driver> =
        QueueConfig::parallel().power_managed(on_stop, on_resume);
}
