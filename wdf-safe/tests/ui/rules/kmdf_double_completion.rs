// SDV DoubleCompletion: a request is completed at most once.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    let _first = request.complete(NtStatus::SUCCESS);
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_read;
}
