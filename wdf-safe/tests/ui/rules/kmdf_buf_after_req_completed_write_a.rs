// SDV BufAfterReqCompletedWriteA: a write's input buffer, copied by a helper after the request was
// completed.
use wdf_safe::kind::Write;
use wdf_safe::{NtStatus, Request, RequestDone};

fn keep(data: &[u8], into: &mut [u8; 4]) {
    into.copy_from_slice(&data[..4]);
}

fn on_write(mut request: Request<'_, Write>) -> RequestDone<'_> {
    let mut saved = [0u8; 4];
    let data = request.input_buffer(4).unwrap();
    let done = request.complete(NtStatus::SUCCESS);
    keep(data, &mut saved);
    done
}

fn main() {
    let _ = on_write;
}
