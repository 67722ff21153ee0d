// WDM SDV PendedCompletedRequest3: an IRP passed down (and maybe pending below) is not completed by
// this driver: forwarding takes it.
use wdm_compat::{DispatchStatus, Irp, LowerDevice, NtStatus};

fn dispatch<'r>(irp: Irp<'r>, lower: &LowerDevice) -> DispatchStatus<'r> {
    let forwarded = irp.forward(lower);
    let _ = irp.complete(NtStatus::SUCCESS);
    forwarded
}

fn main() {
    let _ = dispatch;
}
