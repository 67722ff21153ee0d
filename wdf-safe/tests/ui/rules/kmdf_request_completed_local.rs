// SDV RequestCompletedLocal: an EvtIo callback that neither completes its request nor marks it
// cancelable (nor forwards or sends it) has nothing to return: only those give a `RequestDone`.
use wdf_safe::kind::Write;
use wdf_safe::{Request, RequestDone};

fn on_write(request: Request<'_, Write>) -> RequestDone<'_> {
    if request.length() > 0 {
        return RequestDone::default();
    }
    todo!()
}

fn main() {
    let _ = on_write;
}
