// SDV EvtIoStopGetParam: EvtIoStop does not read the request's parameters; the stopped request
// has no parameter methods.
use wdf_safe::io_stop::{StopDone, StopRequest};

struct Driver;

fn on_stop<'r>(_driver: &Driver, request: StopRequest<'r>) -> StopDone<'r> {
    let _length = request.length();
    request.acknowledge()
}

fn main() {
    let _ = on_stop;
}
