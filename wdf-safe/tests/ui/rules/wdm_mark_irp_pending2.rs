// WDM SDV MarkIrpPending2: STATUS_PENDING can only be returned by marking the IRP pending; a
// dispatch routine cannot make one up.
use wdm_compat::{DispatchStatus, Irp, NtStatus};

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    core::mem::forget(irp);
    DispatchStatus(NtStatus::PENDING.status())
}

fn main() {
    let _ = dispatch;
}
