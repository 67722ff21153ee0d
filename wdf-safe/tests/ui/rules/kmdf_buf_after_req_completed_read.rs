// SDV BufAfterReqCompletedRead: the output buffer is dead once the request is completed.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_read(mut request: Request<'_, Read>) -> RequestDone<'_> {
    let buffer = request.output_buffer(1).unwrap();
    let done = request.complete_with_information(NtStatus::SUCCESS, 1);
    buffer[0] = 0x42;
    done
}

fn main() {
    let _ = on_read;
}
