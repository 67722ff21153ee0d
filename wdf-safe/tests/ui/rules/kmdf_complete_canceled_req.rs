// SDV CompleteCanceledReq: once the cancel routine won, the request is not the driver's to
// complete: `unmark` gives back a `Cancelled`, which has no `complete`.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_cancel(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::CANCELLED)
}

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    let cancelable = match request.mark_cancelable(on_cancel) {
        Ok(cancelable) => cancelable,
        Err((request, status)) => return request.complete(status),
    };
    match cancelable.unmark() {
        Ok(request) => request.complete(NtStatus::SUCCESS),
        Err(cancelled) => cancelled.complete(NtStatus::SUCCESS),
    }
}

fn main() {
    let _ = on_read;
}
