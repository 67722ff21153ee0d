// SDV BufAfterReqCompletedReadA: a read's output buffer, handed to a helper after the request was completed.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

// The "A" variant follows the buffer into a helper that copies through it.
fn fill(buffer: &mut [u8]) {
    buffer.copy_from_slice(&[0x42; 4]);
}

fn on_io(mut request: Request<'_, Read>) -> RequestDone<'_> {
    let buffer = request.output_buffer(4).unwrap();
    let done = request.complete(NtStatus::SUCCESS);
    fill(buffer);
    done
}

fn main() {
    let _ = on_io;
}
