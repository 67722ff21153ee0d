// SDV SpinlockDpc: a spin lock taken in a callback is released before the callback returns: a guard
// cannot stand in for the callback's result.
use wdf_safe::kind::Read;
use wdf_safe::{Request, RequestDone, SpinLock};

static COUNT: SpinLock<u32> = SpinLock::new(0);

fn on_read(request: Request<'_, Read>) -> RequestDone<'_> {
    let _ = request;
    COUNT.lock()
}

fn main() {
    let _ = on_read;
}
