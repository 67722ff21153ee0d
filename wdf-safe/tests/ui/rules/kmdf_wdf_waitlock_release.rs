// SDV WdfWaitlockRelease: a wait lock is released once, by the thread that acquired it. The guard
// releases it when dropped (so never twice, never forgotten in a callback's early return), and
// cannot be handed to another thread to release.
use wdf_safe::WaitLock;

fn hand_off(lock: &'static WaitLock<u32>) {
    let guard = lock.lock().unwrap();
    std::thread::spawn(move || drop(guard));
}

fn main() {
    let _ = hand_off;
}
