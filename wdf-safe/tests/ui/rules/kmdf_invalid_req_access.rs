// SDV InvalidReqAccess: a request forwarded to another queue is no longer the driver's.
use wdf_safe::kind::{Manual, Write};
use wdf_safe::{NtStatus, Queue, Request, RequestDone};

fn park<'r>(request: Request<'r, Write>, queue: &Queue<Manual>) -> RequestDone<'r> {
    match request.forward_to_queue(queue) {
        Ok(done) => {
            let _ = request.length();
            done
        }
        Err((request, status)) => request.complete(status),
    }
}

fn main() {
    let _ = park;
    let _ = NtStatus::SUCCESS;
}
