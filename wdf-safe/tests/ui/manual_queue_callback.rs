// A manual queue takes no callbacks (WdfIoQueueCreate: STATUS_INVALID_PARAMETER).
use wdf_safe::kind::{Manual, Read};
use wdf_safe::{NtStatus, QueueConfig, Request, RequestDone};

struct Driver;

fn on_read<'r>(_driver: &Driver, request: Request<'r, Read>) -> RequestDone<'r> {
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _config: QueueConfig<Manual, Driver> = QueueConfig::manual().on_read(on_read);
}
