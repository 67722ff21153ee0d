// SDV ReqNotCanceledLocal / CompleteCanceledReq: a request marked cancelable cannot be
// completed until it is unmarked.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_cancel(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::CANCELLED)
}

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    match request.mark_cancelable(on_cancel) {
        Ok(cancelable) => cancelable.complete(NtStatus::SUCCESS),
        Err((request, status)) => request.complete(status),
    }
}

fn main() {
    let _ = on_read;
}
