// SDV ControlDeviceInitAllocate: WdfControlDeviceInitAllocate comes before the control device's
// WdfDeviceCreate: an init cannot be put together by hand to skip it.
#![allow(unreachable_code, unused_variables)]
use wdf_safe::{ControlDeviceInit, KmdfDriver};

fn forge<D: KmdfDriver>() -> ControlDeviceInit<D> {
    let init = todo!();
    ControlDeviceInit { init, _driver: std::marker::PhantomData }
}

fn main() {
    let _ = forge::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
