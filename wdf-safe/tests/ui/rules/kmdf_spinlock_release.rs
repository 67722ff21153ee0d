// SDV SpinlockRelease: no spin lock is held when a KMDF callback returns: a guard cannot be put
// anywhere that outlives the callback's thread of control (it is neither `Send` nor `Sync`).
use std::sync::Mutex;

use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone, SpinLock, SpinLockGuard};

static COUNT: SpinLock<u32> = SpinLock::new(0);
static HELD: Mutex<Option<SpinLockGuard<'static, u32>>> = Mutex::new(None);

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    *HELD.lock().unwrap() = Some(COUNT.lock());
    request.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = on_read;
}
