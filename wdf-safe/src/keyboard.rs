//! Keyboard filters: the class service callback, hooked as Microsoft's kbfiltr hooks it.
//!
//! Keystrokes do not travel up a keyboard stack in read IRPs. When the keyboard class driver
//! (kbdclass) starts, it sends `IOCTL_INTERNAL_KEYBOARD_CONNECT` down with its device object
//! and its class service callback; the port driver (i8042prt, kbdhid) keeps them and, from its
//! interrupt's DPC, calls the callback with each batch of keystrokes. An upper filter of the
//! keyboard class that wants to see keystrokes handles the connect in its
//! `EvtIoInternalDeviceControl`:
//!
//! ```ignore
//! fn on_internal_ioctl<'r>(&self, request: Request<'r, InternalDeviceControl>) -> RequestDone<'r> {
//!     if request.ioctl_code() == IOCTL_INTERNAL_KEYBOARD_CONNECT {
//!         return match request.hook_keyboard_connect::<Self>() {
//!             Ok(done) => done,
//!             Err((request, status)) => request.complete(status),
//!         };
//!     }
//!     // … everything else goes down as it is
//! }
//! ```
//!
//! and implements [`KeyboardFilter::on_keystrokes`], which the crate's hooked callback runs
//! before it hands the keystrokes to the class driver.

use wdm_compat::{IoControlCode, NtStatus};

use crate::kind::InternalDeviceControl;
use crate::kind::state::Ready;
use crate::request::{Request, RequestDone};
use crate::sys::{self, DeviceHandle};
use crate::{Device, KmdfDriver};

pub use crate::sys::KeyboardInputData;

/// `IOCTL_INTERNAL_KEYBOARD_CONNECT` (kbdmou.h): `CTL_CODE(FILE_DEVICE_KEYBOARD, 0x0080,
/// METHOD_NEITHER, FILE_ANY_ACCESS)`.
pub const IOCTL_INTERNAL_KEYBOARD_CONNECT: IoControlCode = IoControlCode::from_raw(0x000B_0203);

/// `IOCTL_KEYBOARD_QUERY_ATTRIBUTES` (ntddkbd.h): `CTL_CODE(FILE_DEVICE_KEYBOARD, 0,
/// METHOD_BUFFERED, FILE_ANY_ACCESS)`; kbdclass asks its port with it (internal) what the
/// keyboard is, and gets a `KEYBOARD_ATTRIBUTES`.
pub const IOCTL_KEYBOARD_QUERY_ATTRIBUTES: IoControlCode = IoControlCode::from_raw(0x000B_0000);

/// `sizeof(KEYBOARD_ATTRIBUTES)` on x64 (ntddkbd.h): the identifier (type, subtype), mode,
/// function keys, indicators, keys, input queue length, and the typematic minimum and maximum.
pub const KEYBOARD_ATTRIBUTES_SIZE: usize = 28;

/// `IOCTL_INTERNAL_KEYBOARD_DISCONNECT` (kbdmou.h): never sent by kbdclass; kbfiltr fails it
/// with `STATUS_NOT_IMPLEMENTED`.
pub const IOCTL_INTERNAL_KEYBOARD_DISCONNECT: IoControlCode = IoControlCode::from_raw(0x000B_0403);

/// A driver that filters keyboards by hooking the class service callback
/// ([`Request::hook_keyboard_connect`]).
pub trait KeyboardFilter: KmdfDriver {
    /// The port driver delivered `keys` to `device` (kbfiltr's `KbFilter_ServiceCallback`).
    /// The class driver gets them afterwards, as this left them: change one in place to
    /// change what the system sees.
    ///
    /// IRQL: DISPATCH_LEVEL (the port driver's DPC): no waiting, no paged memory.
    fn on_keystrokes(&self, device: Device<Self, Ready>, keys: &mut [KeyboardInputData]);
}

impl<D: KeyboardFilter> sys::KeyboardHook for D {
    fn keystrokes(&self, device: DeviceHandle<Self>, keys: &mut [KeyboardInputData]) {
        self.on_keystrokes(Device::new(device), keys);
    }
}

impl<'r> Request<'r, InternalDeviceControl> {
    /// kbfiltr's handling of `IOCTL_INTERNAL_KEYBOARD_CONNECT`: keeps the class driver's
    /// connection in the request's device, puts the device and the crate's hooked callback in
    /// its place (so the port driver calls [`KeyboardFilter::on_keystrokes`] of `D`, then the
    /// class driver), and sends the request down to the device's I/O target
    /// (`WdfRequestSend`, send-and-forget).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// Hands the request back, the connect untouched, with `STATUS_INVALID_DEVICE_REQUEST`
    /// for another IOCTL or a request that came from no queue of a `D` device,
    /// `STATUS_SHARING_VIOLATION` when the device is connected already (kbfiltr's answer),
    /// `STATUS_BUFFER_TOO_SMALL` / `STATUS_INVALID_PARAMETER` for a malformed connect, and
    /// the send's failure (the connect restored).
    pub fn hook_keyboard_connect<D: KeyboardFilter>(
        mut self,
    ) -> Result<RequestDone<'r>, (Self, NtStatus)> {
        if self.ioctl_code().to_raw() != IOCTL_INTERNAL_KEYBOARD_CONNECT.to_raw() {
            return Err((self, NtStatus::INVALID_DEVICE_REQUEST));
        }
        let Some(target) = self.default_io_target() else {
            return Err((self, NtStatus::INVALID_DEVICE_STATE));
        };
        if let Err(status) = self
            .raw_mut()
            .and_then(sys::RequestHandle::hook_keyboard_connect::<D>)
        {
            return Err((self, status));
        }
        self.send_and_forget(&target).map_err(|(request, status)| {
            if let Some(raw) = request.raw_ref() {
                raw.unhook_keyboard_connect();
            }
            (request, status)
        })
    }
}
