// WDM SDV MarkingQueuedIrps: an IRP is marked pending before it goes into the driver's queue, where
// another thread may complete it: an unmarked `Irp` cannot be shared (it is not `Send`); the
// `PendingIrp` that marking returns can.
use std::collections::VecDeque;
use std::sync::Mutex;

use wdm_compat::Irp;

static QUEUE: Mutex<VecDeque<Irp<'static>>> = Mutex::new(VecDeque::new());

fn queue(irp: Irp<'static>) {
    QUEUE.lock().unwrap().push_back(irp);
}

fn main() {
    let _ = queue;
}
