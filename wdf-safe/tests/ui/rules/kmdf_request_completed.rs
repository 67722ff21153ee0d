// SDV RequestCompleted: an I/O callback must finish its request; one that forgets it has no
// `RequestDone` to return.
use wdf_safe::QueueConfig;
use wdf_safe::kind::{Parallel, Read};
use wdf_safe::Request;

struct Driver;

fn on_read(_driver: &Driver, request: Request<'_, Read>) {
    let _ = request.length();
}

fn main() {
    let _config: QueueConfig<Parallel, Driver> = QueueConfig::parallel().on_read(on_read);
}
