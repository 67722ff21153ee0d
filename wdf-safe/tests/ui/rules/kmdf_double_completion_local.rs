// SDV DoubleCompletionLocal: in a default-queue callback, a request completed by a helper is not
// completed again by the callback.
use wdf_safe::kind::DeviceControl;
use wdf_safe::{NtStatus, Request, RequestDone};

fn fail<'r>(request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    request.complete(NtStatus::INVALID_DEVICE_REQUEST)
}

fn on_device_control(request: Request<'_, DeviceControl>) -> RequestDone<'_> {
    if request.input_length() == 0 {
        let _ = fail(request);
    }
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_device_control;
}
