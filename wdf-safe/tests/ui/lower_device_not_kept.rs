// The device below is borrowed from the routine's own device: once this device is removed, the
// one below may be deleted, so a copy kept in driver state would send IRPs to a freed object.
use std::sync::Mutex;
use wdm_compat::{Device, LowerDevice};

static KEPT: Mutex<Option<LowerDevice>> = Mutex::new(None);

fn on_read(device: &Device<()>) {
    if let Some(lower) = device.lower() {
        *KEPT.lock().unwrap() = Some(*lower);
    }
}

fn main() {
    let _ = on_read;
}
