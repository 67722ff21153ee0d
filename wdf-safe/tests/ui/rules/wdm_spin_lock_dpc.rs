// WDM SDV SpinLockDpc: no spin lock is held at the end of a dispatch routine: a guard cannot be
// kept anywhere that outlives it (it is neither `Send` nor `Sync`).
use std::sync::Mutex;

use wdm_compat::{DispatchStatus, Irp, NtStatus, SpinLock, SpinLockGuard};

static DEPTH: SpinLock<usize> = SpinLock::new(0);
static HELD: Mutex<Option<SpinLockGuard<'static, usize>>> = Mutex::new(None);

fn dispatch(irp: Irp<'_>) -> DispatchStatus<'_> {
    *HELD.lock().unwrap() = Some(DEPTH.lock());
    irp.complete(NtStatus::SUCCESS)
}

fn main() {
    let _ = dispatch;
}
