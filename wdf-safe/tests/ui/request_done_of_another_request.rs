// SDV RequestCompleted: the proof an I/O callback returns is its own request's. A callback that
// finishes another request (one retrieved from a manual queue) and forgets its own has no
// proof to return: the other request's `RequestDone` carries another lifetime.
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Manual, Read};
use wdf_safe::{Device, KmdfDriver, NtStatus, Queue, Request, RequestDone};

fn on_read<'r, D: KmdfDriver>(
    device: &Device<D, Ready>,
    queue: &Queue<Manual>,
    request: Request<'r, Read>,
) -> RequestDone<'r> {
    core::mem::forget(request);
    match device.retrieve_next_request(queue) {
        Ok(other) => other.complete_with_information(NtStatus::SUCCESS, 0),
        Err(_) => loop {},
    }
}

fn main() {
    let _ = on_read::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
