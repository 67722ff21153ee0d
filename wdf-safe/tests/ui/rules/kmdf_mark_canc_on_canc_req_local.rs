// SDV MarkCancOnCancReqLocal: a request is not marked cancelable twice: a `CancelableRequest` has
// no `mark_cancelable`.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_cancel(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::CANCELLED)
}

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    match request.mark_cancelable(on_cancel) {
        Ok(cancelable) => match cancelable.mark_cancelable(on_cancel) {
            Ok(again) => again.park(),
            Err((request, status)) => request.complete(status),
        },
        Err((request, status)) => request.complete(status),
    }
}

fn main() {
    let _ = on_read;
}
