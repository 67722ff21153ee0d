// SDV OutputBufferAPI: a write request has no output buffer.
use wdf_safe::kind::Write;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_write(mut request: Request<'_, Write>) -> RequestDone<'_> {
    let _output = request.output_buffer(4);
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_write;
}
