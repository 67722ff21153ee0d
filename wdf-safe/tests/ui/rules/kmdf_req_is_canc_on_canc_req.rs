// SDV ReqIsCancOnCancReq: WdfRequestIsCanceled is for requests that are not marked cancelable;
// a marked one learns of cancellation through its cancel routine.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_cancel(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::CANCELLED)
}

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    match request.mark_cancelable(on_cancel) {
        Ok(cancelable) => {
            let _ = cancelable.is_canceled();
            cancelable.park()
        }
        Err((request, status)) => request.complete(status),
    }
}

fn main() {
    let _ = on_read;
}
