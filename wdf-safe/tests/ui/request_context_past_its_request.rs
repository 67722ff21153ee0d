// A request's context is borrowed from the request: once the request is completed (which drops
// the context), it cannot be used.
use core::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

#[derive(Default)]
struct Trip {
    hops: AtomicU32,
}
wdf_safe::declare_context_type!(Trip);

fn on_read<'r>(_driver: &(), request: Request<'r, Read>) -> RequestDone<'r> {
    let trip = request.context::<Trip>().unwrap();
    let done = request.complete(NtStatus::SUCCESS);
    trip.hops.fetch_add(1, Ordering::SeqCst);
    done
}

fn main() {
    let _ = on_read;
}
