//! # The null-device sample
//!
//! A control device, `\\.\WdkSafeNull`, that behaves like `NUL`:
//!
//! * opening and closing succeed;
//! * a write succeeds and reports every byte written, but the data is discarded unread;
//! * a read succeeds and returns zero bytes;
//! * anything else is an invalid device request.
//!
//! Every step of its life leaves a trace line (load, open, write, close, unload).
//!
//! The driver is written once against [`wdm_compat::io`]; `samples/null-device/wdm` builds it
//! as a WDM driver and `samples/null-device/kmdf` as a KMDF driver. It is safe Rust throughout (`forbid(unsafe_code)`).
#![no_std]
#![forbid(unsafe_code)]

use wdm_compat::io::{DeviceRole, DeviceSettings, IoDriver, ReadRequest, Request, WriteRequest};
use wdm_compat::{IoType, NtResult, NtStatus, kd_print};

/// The device's kernel name.
pub const DEVICE_NAME: &str = r"\Device\WdkSafeNull";
/// The symbolic link to it.
pub const SYMBOLIC_LINK: &str = r"\DosDevices\WdkSafeNull";
/// The path a user-mode client opens.
pub const USER_PATH: &str = r"\\.\WdkSafeNull";
/// `FILE_DEVICE_NULL`.
pub const DEVICE_TYPE: u16 = 0x15;

/// The null device driver. It keeps no state.
pub struct NullDevice;

impl IoDriver for NullDevice {
    const NAME: &'static str = "null-device";

    const DEVICE: DeviceSettings = DeviceSettings {
        role: DeviceRole::Control {
            device_name: DEVICE_NAME,
            symbolic_link: SYMBOLIC_LINK,
        },
        device_type: DEVICE_TYPE,
        io_type: IoType::Buffered,
    };

    fn load() -> NtResult<Self> {
        kd_print!("[null-device] DriverEntry -- loading");
        Ok(Self)
    }

    fn unload(&self) {
        kd_print!("[null-device] DriverUnload -- cleaning up");
    }

    fn on_create<R: Request>(&self, request: R) -> R::Done {
        kd_print!("[null-device] IRP_MJ_CREATE");
        request.complete(NtStatus::SUCCESS)
    }

    fn on_close(&self) {
        kd_print!("[null-device] IRP_MJ_CLOSE");
    }

    fn on_write<R: WriteRequest>(&self, request: R) -> R::Done {
        let length = request.length();
        kd_print!("[null-device] IRP_MJ_WRITE -- discarding {length} bytes");
        request.complete_with_information(NtStatus::SUCCESS, length)
    }

    fn on_read<R: ReadRequest>(&self, request: R) -> R::Done {
        kd_print!("[null-device] IRP_MJ_READ -- nothing to return");
        request.complete_with_information(NtStatus::SUCCESS, 0)
    }
}
