// WDM SDV SpinlockRelease: KeReleaseSpinLock alternates with the acquire: the release is the guard's
// drop, and a guard drops once.
use wdm_compat::SpinLock;

static QUEUE_DEPTH: SpinLock<usize> = SpinLock::new(0);

fn enqueue() {
    let mut depth = QUEUE_DEPTH.lock();
    *depth += 1;
    core::mem::drop(depth);
    *depth += 1;
}

fn main() {
    enqueue();
}
