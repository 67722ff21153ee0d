//! # The echo sample
//!
//! A control device, `\\.\WdkSafeEcho`, that gives back what it is given:
//!
//! * `IOCTL_ECHO` (device type 0x8000, function 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS:
//!   code 0x80002000) returns the `u32` it received, with `Information = 4`. A short input or
//!   output buffer fails with `STATUS_BUFFER_TOO_SMALL`; any other IOCTL with
//!   `STATUS_INVALID_DEVICE_REQUEST`.
//! * As in Microsoft's KMDF echo sample, a write stores its bytes and the next read returns them
//!   (and forgets them). A read with nothing stored returns zero bytes; a read shorter than what
//!   is stored returns the first bytes. A write longer than [`MAX_WRITE_LENGTH`] fails with
//!   `STATUS_INVALID_BUFFER_SIZE` and leaves the stored bytes as they were.
//!
//! The driver is written once against [`wdm_compat::io`]; `samples/echo/wdm` builds it as a WDM
//! driver and `samples/echo/kmdf` as a KMDF driver. It is safe Rust throughout (`forbid(unsafe_code)`).
#![no_std]
#![forbid(unsafe_code)]

use wdm_compat::io::{
    DeviceControlRequest, DeviceRole, DeviceSettings, IoDriver, ReadRequest, Request, WriteRequest,
};
use wdm_compat::{IoType, NtResult, NtStatus, SpinLock, define_ioctl, kd_print};

define_ioctl!(
    /// Echo a `u32`: input and output are one `u32` each.
    pub IOCTL_ECHO, 0x8000, 0x800, u32 => u32
);

/// The device's kernel name.
pub const DEVICE_NAME: &str = r"\Device\WdkSafeEcho";
/// The symbolic link to it.
pub const SYMBOLIC_LINK: &str = r"\DosDevices\WdkSafeEcho";
/// The path a user-mode client opens.
pub const USER_PATH: &str = r"\\.\WdkSafeEcho";
/// The device type, which `IOCTL_ECHO` carries too.
pub const DEVICE_TYPE: u16 = 0x8000;
/// The longest write the device stores, in bytes.
pub const MAX_WRITE_LENGTH: usize = 512;

/// What the last write left for the next read.
struct Stored {
    bytes: [u8; MAX_WRITE_LENGTH],
    length: usize,
}

/// The echo driver.
pub struct Echo {
    stored: SpinLock<Stored>,
}

impl IoDriver for Echo {
    const NAME: &'static str = "echo";

    const DEVICE: DeviceSettings = DeviceSettings {
        role: DeviceRole::Control {
            device_name: DEVICE_NAME,
            symbolic_link: SYMBOLIC_LINK,
        },
        device_type: DEVICE_TYPE,
        io_type: IoType::Buffered,
    };

    fn load() -> NtResult<Self> {
        kd_print!("[echo] DriverEntry -- loading");
        Ok(Self {
            stored: SpinLock::new(Stored {
                bytes: [0; MAX_WRITE_LENGTH],
                length: 0,
            }),
        })
    }

    fn unload(&self) {
        kd_print!("[echo] DriverUnload -- cleaning up");
    }

    fn on_create<R: Request>(&self, request: R) -> R::Done {
        kd_print!("[echo] IRP_MJ_CREATE");
        request.complete(NtStatus::SUCCESS)
    }

    fn on_close(&self) {
        kd_print!("[echo] IRP_MJ_CLOSE");
    }

    fn on_device_control<R: DeviceControlRequest>(&self, request: R) -> R::Done {
        let code = request.ioctl_code();
        if code != IOCTL_ECHO.code() {
            kd_print!("[echo] unknown IOCTL {code}");
            return request.complete(NtStatus::INVALID_DEVICE_REQUEST);
        }
        request.complete_with(|request| {
            let value: u32 = request.read_input()?;
            kd_print!("[echo] echoing value {value:#010X}");
            request.write_output(&value)
        })
    }

    fn on_write<R: WriteRequest>(&self, request: R) -> R::Done {
        request.complete_with(|request| {
            let data = request.input_buffer(1)?;
            let Some(length) = (data.len() <= MAX_WRITE_LENGTH).then_some(data.len()) else {
                kd_print!(
                    "[echo] IRP_MJ_WRITE -- {} bytes is over the maximum",
                    data.len()
                );
                return Err(NtStatus::INVALID_BUFFER_SIZE);
            };
            let mut stored = self.stored.lock();
            let slot = stored
                .bytes
                .get_mut(..length)
                .ok_or(NtStatus::INVALID_BUFFER_SIZE)?;
            slot.copy_from_slice(data);
            stored.length = length;
            kd_print!("[echo] IRP_MJ_WRITE -- stored {length} bytes");
            Ok(length)
        })
    }

    fn on_read<R: ReadRequest>(&self, request: R) -> R::Done {
        request.complete_with(|request| {
            let mut stored = self.stored.lock();
            if stored.length == 0 {
                kd_print!("[echo] IRP_MJ_READ -- nothing stored");
                return Ok(0);
            }
            let output = request.output_buffer(1)?;
            let count = output.len().min(stored.length);
            let source = stored.bytes.get(..count).ok_or(NtStatus::INTERNAL_ERROR)?;
            output
                .get_mut(..count)
                .ok_or(NtStatus::INTERNAL_ERROR)?
                .copy_from_slice(source);
            stored.length = 0;
            kd_print!("[echo] IRP_MJ_READ -- returned {count} bytes");
            Ok(count)
        })
    }
}
