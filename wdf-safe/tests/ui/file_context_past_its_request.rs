// A file object's context is borrowed from the request it was found through: once the request
// is completed (and with it, possibly, the last reference to its open), the context cannot be
// used.
use core::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

#[derive(Default)]
struct Open {
    reads: AtomicU32,
}

fn on_read<'r>(_driver: &(), request: Request<'r, Read>) -> RequestDone<'r> {
    let open = request.file_object::<Open>().unwrap().context();
    let done = request.complete(NtStatus::SUCCESS);
    open.reads.fetch_add(1, Ordering::SeqCst);
    done
}

fn main() {
    let _ = on_read;
}
