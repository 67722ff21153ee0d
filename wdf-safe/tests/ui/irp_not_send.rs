// An IRP is finished in its dispatch routine's thread; to finish it elsewhere, mark it pending.
use wdm_compat::{Irp, NtStatus};

fn on_read(irp: Irp<'_>) {
    std::thread::spawn(move || irp.complete(NtStatus::SUCCESS));
}

fn main() {
    let _ = on_read;
}
