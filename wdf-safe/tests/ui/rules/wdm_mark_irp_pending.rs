// WDM SDV MarkIrpPending: a routine that marked its IRP pending returns STATUS_PENDING: the mark
// yields the only status it may return, and no other can be made up.
use wdm_compat::{DispatchStatus, Irp, NtStatus};

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    let (_pending, irp) = irp.mark_pending();
    irp.complete(NtStatus::SUCCESS);
    DispatchStatus::from(NtStatus::SUCCESS)
}

fn main() {
    let _ = dispatch;
}
