// SDV EvtIoResumeGetParam: EvtIoResume does not read the request's parameters; the resumed
// request has no parameter methods.
use wdf_safe::io_stop::ResumedRequest;

struct Driver;

fn on_resume(_driver: &Driver, request: ResumedRequest<'_>) {
    let _length = request.length();
}

fn main() {
    let _ = on_resume;
}
