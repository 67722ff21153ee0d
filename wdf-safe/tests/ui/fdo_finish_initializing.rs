// WdfControlFinishInitializing is for control devices; a PnP device is finished by the
// framework when EvtDriverDeviceAdd returns.
use wdf_safe::{FdoInit, KmdfDriver, NtResult};

fn device_add<D: KmdfDriver>(init: FdoInit<'_, D>) -> NtResult<()> {
    let device = init.create().map_err(|(_, status)| status)?;
    let _ready = device.finish_initializing();
    Ok(())
}

fn main() {
    let _ = device_add::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>;
}
