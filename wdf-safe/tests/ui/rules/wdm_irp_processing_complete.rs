// WDM SDV IrpProcessingComplete: a routine returning success has completed its IRP or passed it
// down: a success status exists only as the result of doing one of them.
use wdm_compat::{DispatchStatus, Irp};

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    let _ = irp.information();
    DispatchStatus::success()
}

fn main() {
    let _ = dispatch;
}
