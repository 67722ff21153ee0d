// SDV ReqMarkCancelableSend: a request marked cancelable is not sent on; unmark it first.
use wdf_safe::kind::Read;
use wdf_safe::{IoTarget, NtStatus, Request, RequestDone};

fn on_cancel(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::CANCELLED)
}

fn pass_down<'r>(request: Request<'r, Read>, target: &IoTarget) -> RequestDone<'r> {
    match request.mark_cancelable(on_cancel) {
        Ok(cancelable) => match cancelable.send_and_forget(target) {
            Ok(done) => done,
            Err((request, status)) => request.complete(status),
        },
        Err((request, status)) => request.complete(status),
    }
}

fn main() {
    let _ = pass_down;
}
