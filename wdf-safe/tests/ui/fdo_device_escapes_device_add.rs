// A PnP device is set up inside the EvtDriverDeviceAdd that created it: the framework finishes
// its initialization when the callback returns, so the setting-up device cannot be kept past
// it (keep `Device::ready()` instead).
use std::sync::Mutex;

use wdf_safe::kind::state::Adding;
use wdf_safe::{Device, FdoInit, KmdfDriver, NtResult};

struct Keeper<D: KmdfDriver + 'static> {
    kept: Mutex<Vec<Device<D, Adding<'static>>>>,
}

impl<D: KmdfDriver> Keeper<D> {
    fn device_add(&self, init: FdoInit<'_, D>) -> NtResult<()> {
        let device = init.create().map_err(|(_, status)| status)?;
        self.kept.lock().unwrap().push(device);
        Ok(())
    }
}

fn main() {
    let _ = Keeper::<wdf_safe::io::KmdfBackend<wdf_safe::device::Nothing>>::device_add;
}
