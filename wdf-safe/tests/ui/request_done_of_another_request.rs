// SDV RequestCompleted: the proof an I/O callback returns is its own request's. A callback that
// finishes another request (one retrieved from a manual queue) and forgets its own has no
// proof to return: the other request's `RequestDone` carries another lifetime. The same holds
// for a WDM dispatch routine's `DispatchStatus` and its IRP.
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Manual, Read};
use wdf_safe::{Device, KmdfDriver, NtStatus, Queue, Request, RequestDone};
use wdm_compat::{DispatchStatus, Irp};

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

fn dispatch<'r, 'other>(irp: Irp<'r>, other: Irp<'other>) -> DispatchStatus<'r> {
    core::mem::forget(irp);
    other.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_read::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
    let _ = dispatch;
}
