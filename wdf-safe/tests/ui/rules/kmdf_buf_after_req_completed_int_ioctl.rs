// SDV BufAfterReqCompletedIntIoctl: an internal IOCTL's input buffer is dead once the request is completed.
use wdf_safe::kind::InternalDeviceControl;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_io(mut request: Request<'_, InternalDeviceControl>) -> RequestDone<'_> {
    let buffer = request.input_buffer(1).unwrap();
    let done = request.complete(NtStatus::SUCCESS);
    let _first = buffer[0];
    done
}

fn main() {
    let _ = on_io;
}
