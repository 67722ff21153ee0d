// A request is worked on in its callback's thread; to keep it, forward it to a manual queue.
use wdf_safe::kind::Read;
use wdf_safe::{NtStatus, Request};

fn on_read(request: Request<'_, Read>) {
    std::thread::spawn(move || request.complete(NtStatus::SUCCESS));
}

fn main() {
    let _ = on_read;
}
