// The framework's FDO init is not the driver's to free (WdfDeviceInitFree on it is a no-op in
// C, and a bug): it has no `free`.
use wdf_safe::{FdoInit, KmdfDriver};

fn give_up<D: KmdfDriver>(init: FdoInit<'_, D>) {
    init.free();
}

fn main() {
    let _ = give_up::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
