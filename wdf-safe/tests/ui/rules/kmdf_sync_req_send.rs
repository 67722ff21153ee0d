// SDV SyncReqSend: a synchronous send goes through a *Synchronously DDI with a timeout; the
// crate's synchronous sends take a `SendTimeout`, and there is no send without one.
use wdf_safe::IoTarget;
use wdm_compat::IoControlCode;

fn ask(target: &IoTarget) {
    let mut answer = [0u8; 4];
    let _ = target.send_ioctl_synchronously(IoControlCode::from_raw(0x0022_2000), &[], &mut answer);
}

fn main() {
    let _ = ask;
}
