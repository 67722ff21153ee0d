// A request is worked on in its callback's thread; to keep it, forward it to a manual queue.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request, RequestDone};

fn on_read(request: Request<Read>) {
    std::thread::spawn(move || -> RequestDone { request.complete(NtStatus::SUCCESS) });
}

fn main() {
    let _ = on_read;
}
