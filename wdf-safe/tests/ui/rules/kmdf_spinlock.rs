// SDV Spinlock: acquire and release strictly alternate: the release is the guard's drop, and a
// guard drops once.
use wdf_safe::SpinLock;

static COUNT: SpinLock<u32> = SpinLock::new(0);

fn bump() {
    let mut guard = COUNT.lock();
    *guard += 1;
    drop(guard);
    drop(guard);
}

fn main() {
    bump();
}
