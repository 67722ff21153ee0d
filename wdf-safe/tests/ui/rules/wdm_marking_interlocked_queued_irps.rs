// WDM SDV MarkingInterlockedQueuedIrps: mark the IRP pending before inserting it in an interlocked
// (spin-lock protected) queue: the lock shares only `Send` data, which an unmarked `Irp` is not.
use wdm_compat::{Irp, SpinLock};

fn share(queue: &'static SpinLock<Vec<Irp<'static>>>) {
    std::thread::spawn(move || queue.lock().clear());
}

fn main() {
    let _ = share;
}
