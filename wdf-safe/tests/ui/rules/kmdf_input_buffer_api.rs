// SDV InputBufferAPI: a read request has no input buffer.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_read(mut request: Request<'_, Read>) -> RequestDone<'_> {
    let _input = request.input_buffer(4);
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_read;
}
