// WDM Driver Verifier 0xC9/0x06 (an IRP completed with STATUS_PENDING): pending is what a
// dispatch routine returns after marking its IRP, never a completion status, so the constant is
// of another type than the one `complete` takes — for IRPs and for KMDF requests alike.
use wdf_safe::kind::Read;
use wdf_safe::{Request, RequestDone};
use wdm_compat::{DispatchStatus, Irp, NtStatus};

fn on_read(irp: Irp<'_>) -> DispatchStatus<'_> {
    irp.complete(NtStatus::PENDING)
}

fn evt_io_read(request: Request<'_, Read>) -> RequestDone<'_> {
    request.complete(NtStatus::PENDING)
}

fn main() {
    let _ = (on_read, evt_io_read);
}
