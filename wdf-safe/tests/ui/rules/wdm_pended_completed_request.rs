// WDM SDV PendedCompletedRequest: no STATUS_PENDING for an IRP the routine completed: completing
// takes the IRP, so it cannot be marked pending after.
use wdm_compat::{DispatchStatus, Irp, NtStatus};

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    let _completed = irp.complete(NtStatus::SUCCESS);
    let (pending, _later) = irp.mark_pending();
    pending
}

fn main() {
    let _ = dispatch;
}
