//! What the neutral interface promises alike on both backends, checked on each.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Mutex;

use host_tests::Backend;
use wdm_compat::host::IoManager;
use wdm_compat::io::{DeviceRole, DeviceSettings, IoDriver};
use wdm_compat::{IoType, NtResult};

const DEVICE_NAME: &str = r"\Device\Farewell";

/// The simulation the driver under test runs in, and what its unload saw.
static WORLD: Mutex<Option<IoManager>> = Mutex::new(None);
static SEEN_AT_UNLOAD: Mutex<Option<bool>> = Mutex::new(None);
static TURNS: Mutex<()> = Mutex::new(());

/// A control-device driver whose unload looks for its own device.
struct Farewell;

impl IoDriver for Farewell {
    const NAME: &'static str = "farewell";

    const DEVICE: DeviceSettings = DeviceSettings {
        role: DeviceRole::Control {
            device_name: DEVICE_NAME,
            symbolic_link: r"\DosDevices\Farewell",
        },
        device_type: 0x22,
        io_type: IoType::Buffered,
    };

    fn load() -> NtResult<Self> {
        Ok(Self)
    }

    fn unload(&self) {
        let world = WORLD.lock().unwrap().clone().unwrap();
        let present = world
            .device_by_name(DEVICE_NAME)
            .is_some_and(|device| !world.device(device).unwrap().deleted);
        *SEEN_AT_UNLOAD.lock().unwrap() = Some(present);
    }
}

#[test]
fn unload_runs_while_the_control_device_exists_and_the_device_goes_after_it() {
    let _turn = TURNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for backend in Backend::ALL {
        let io = IoManager::new();
        *WORLD.lock().unwrap() = Some(io.clone());
        *SEEN_AT_UNLOAD.lock().unwrap() = None;
        let driver = io
            .load_driver("farewell", backend.entry_point::<Farewell>())
            .unwrap();
        io.unload_driver(driver).unwrap();
        assert_eq!(
            *SEEN_AT_UNLOAD.lock().unwrap(),
            Some(true),
            "{}: the device exists during unload",
            backend.name()
        );
        let device = io.device_by_name(DEVICE_NAME);
        assert!(
            device.is_none_or(|d| io.device(d).unwrap().deleted),
            "{}: the device is gone after unload",
            backend.name()
        );
        *WORLD.lock().unwrap() = None;
        assert!(io.violations().is_empty(), "{:#?}", io.violations());
    }
}
