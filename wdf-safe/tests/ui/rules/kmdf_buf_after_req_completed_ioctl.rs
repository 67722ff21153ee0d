// SDV BufAfterReqCompletedIoctl: an IOCTL's output buffer is dead once the request is completed.
use wdf_safe::kind::DeviceControl;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_io(mut request: Request<'_, DeviceControl>) -> RequestDone<'_> {
    let buffer = request.output_buffer(1).unwrap();
    let done = request.complete(NtStatus::SUCCESS);
    buffer[0] = 1;
    done
}

fn main() {
    let _ = on_io;
}
