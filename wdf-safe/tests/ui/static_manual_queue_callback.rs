// A constant queue configuration is built with the same methods as a value, so it keeps the
// same rules: a manual queue takes no callbacks (WdfIoQueueCreate: STATUS_INVALID_PARAMETER).
use wdf_safe::kind::{Manual, Read};
use wdf_safe::queue::StaticQueue;
use wdf_safe::{NtStatus, QueueConfig, Request, RequestDone};

struct Driver;

fn on_read<'r>(_driver: &Driver, request: Request<'r, Read>) -> RequestDone<'r> {
    request.complete(NtStatus::SUCCESS)
}

struct Waiting;

impl StaticQueue<Driver> for Waiting {
    type Kind = Manual;
    const CONFIG: QueueConfig<Manual, Driver> = QueueConfig::manual().on_read(on_read);
}

fn main() {}
