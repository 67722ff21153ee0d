// WDM SDV LowerDriverReturn: a routine that passes its IRP down returns what IoCallDriver returned,
// not a status of its own.
use wdm_compat::{DispatchStatus, Irp, LowerDevice, NtStatus};

fn dispatch<'r>(irp: Irp<'r>, lower: &LowerDevice) -> DispatchStatus<'r> {
    let _forwarded = irp.forward(lower);
    NtStatus::SUCCESS
}

fn main() {
    let _ = dispatch;
}
