// SDV SyncReqSend2: a synchronous send with a zero timeout would time out before it could
// complete; a `SendTimeout` is made from a `NonZeroU32`.
use wdf_safe::io_target::SendTimeout;

fn main() {
    let _timeout = SendTimeout::milliseconds(0);
}
