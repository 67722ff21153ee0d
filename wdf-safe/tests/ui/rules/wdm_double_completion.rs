// WDM: an IRP is completed exactly once (bug check 0x44 MULTIPLE_IRP_COMPLETE_REQUESTS).
use wdm_compat::{DispatchStatus, Irp, NtStatus};

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    let _first = irp.complete(NtStatus::SUCCESS);
    irp.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = dispatch;
}
