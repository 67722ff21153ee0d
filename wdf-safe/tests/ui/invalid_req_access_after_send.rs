// SDV InvalidReqAccess: after send-and-forget the framework is done with the request.
use wdf_safe::kind::Read;
use wdf_safe::{IoTarget, NtStatus, Request, RequestDone};

fn pass_down<'r>(request: Request<'r, Read>, target: &IoTarget) -> RequestDone<'r> {
    let done = match request.send_and_forget(target) {
        Ok(done) => done,
        Err((request, status)) => return request.complete(status),
    };
    let _ = request.complete(NtStatus::SUCCESS);
    done
}

fn main() {
    let _ = pass_down;
}
