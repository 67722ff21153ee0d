// SDV SyncReqSend2: no synchronous send with a zero timeout (KMDF reads it as none, so a lower
// driver that never answers hangs the thread); a `SendTimeout` is made from a `NonZeroU32`.
use wdf_safe::io_target::SendTimeout;

fn main() {
    let _timeout = SendTimeout::milliseconds(0);
}
