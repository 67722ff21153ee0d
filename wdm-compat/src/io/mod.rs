//! Drivers written once, built as WDM or KMDF: the backend-neutral request interface.
//!
//! A driver that implements [`IoDriver`] describes its device ([`DeviceSettings`]) and handles
//! requests through the [`Request`] family of traits, in KMDF's vocabulary (`EvtIoRead`,
//! `EvtIoWrite`, `EvtIoDeviceControl`, …). It never names a backend:
//!
//! * [`WdmBackend<D>`] runs it as a WDM driver, with a dispatch routine per major function;
//! * `wdf_safe::io::KmdfBackend<D>` runs it as a KMDF driver, with a device, a default queue and
//!   the framework's request objects.
//!
//! Both backends behave the same where the driver can see it, so one set of tests holds for
//! both:
//!
//! * a zero-length read or write is completed with `STATUS_SUCCESS` and 0 bytes without reaching
//!   a control device's driver (KMDF's default; the WDM backend does the same), and reaches a
//!   filter, whose lower driver is the one to answer it;
//! * a request type the driver does not handle is completed with
//!   `STATUS_INVALID_DEVICE_REQUEST` on a control device and passed down on a filter;
//! * buffer retrieval fails with `STATUS_BUFFER_TOO_SMALL` when the buffer is shorter than asked
//!   for (or absent), and with `STATUS_INVALID_DEVICE_REQUEST` when the transfer method gives no
//!   safe access to it (METHOD_NEITHER).
//!
//! Every handler returns `R::Done`, a value only completing or forwarding the request produces,
//! so a handler that forgets its request does not compile.

mod wdm;

pub use wdm::{WdmBackend, WdmRequest};

/// Zero-sized markers of request kinds, shared by the backends' request types.
pub mod kind {
    /// An open (`IRP_MJ_CREATE`, `WdfRequestTypeCreate`).
    pub struct Create;
    /// A read (`IRP_MJ_READ`, `EvtIoRead`).
    pub struct Read;
    /// A write (`IRP_MJ_WRITE`, `EvtIoWrite`).
    pub struct Write;
    /// A device-control request, internal or not (`EvtIoDeviceControl`,
    /// `EvtIoInternalDeviceControl`).
    pub struct DeviceControl;
}

use crate::device::IoType;
use crate::ioctl::{IoBuffer, IoControlCode};
use crate::status::{NtResult, NtStatus};

/// What kind of device the driver has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRole {
    /// A named control device created at load time, reachable from user mode through a
    /// symbolic link (a "legacy" or non-PnP device; KMDF: a control device object).
    Control {
        /// The device name, `\Device\Name`.
        device_name: &'static str,
        /// The symbolic link, `\DosDevices\Name` (user mode opens `\\.\Name`).
        symbolic_link: &'static str,
    },
    /// A PnP upper filter: attached over each device the PnP manager adds; requests the driver
    /// does not handle pass down untouched.
    UpperFilter,
}

/// The device an [`IoDriver`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceSettings {
    /// Control device or filter.
    pub role: DeviceRole,
    /// `FILE_DEVICE_*` type (control devices; a filter takes the type of the device below).
    pub device_type: u16,
    /// How reads and writes carry data (control devices; a filter copies the device below).
    pub io_type: IoType,
}

/// What a lower driver reported when it completed a request this driver passed down with
/// [`Request::forward_observed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The kind of request.
    pub kind: RequestKind,
    /// The final status.
    pub status: NtStatus,
    /// The final information (bytes transferred).
    pub information: usize,
    /// The IOCTL code, for device-control requests.
    pub ioctl_code: Option<IoControlCode>,
}

/// The request types the interface dispatches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestKind {
    /// Open (`IRP_MJ_CREATE`).
    Create,
    /// Read (`IRP_MJ_READ`).
    Read,
    /// Write (`IRP_MJ_WRITE`).
    Write,
    /// `IRP_MJ_DEVICE_CONTROL`.
    DeviceControl,
    /// `IRP_MJ_INTERNAL_DEVICE_CONTROL`.
    InternalDeviceControl,
    /// Anything else.
    Other,
}

/// A request handed to an [`IoDriver`] handler. Finishing it is the only way to get the
/// [`Done`](Request::Done) value the handler must return.
pub trait Request: Sized {
    /// Proof that the request was finished (completed or forwarded).
    type Done;

    /// Completes the request with `status` and no information.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn complete(self, status: NtStatus) -> Self::Done;

    /// Completes the request with `status` and `information` (bytes transferred).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn complete_with_information(self, status: NtStatus, information: usize) -> Self::Done;

    /// Passes the request to the device below unchanged (filters). On a device with nothing
    /// below, completes it with `STATUS_INVALID_DEVICE_REQUEST`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn forward(self) -> Self::Done;

    /// Passes the request down and has [`IoDriver::on_lower_completion`] called with the
    /// outcome when the device below completes it; the outcome reaches the sender unchanged.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn forward_observed(self) -> Self::Done;

    /// Completes with the outcome of `handler`: `Ok(n)` → success with `n` bytes, `Err(s)` → `s`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn complete_with(mut self, handler: impl FnOnce(&mut Self) -> NtResult<usize>) -> Self::Done {
        match handler(&mut self) {
            Ok(information) => self.complete_with_information(NtStatus::SUCCESS, information),
            Err(status) => self.complete(status),
        }
    }
}

/// A read request (`EvtIoRead`): only an output buffer.
pub trait ReadRequest: Request {
    /// Bytes requested.
    fn length(&self) -> usize;

    /// The buffer to fill, at least `minimum` bytes long.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when shorter than `minimum` or empty;
    /// `STATUS_INVALID_DEVICE_REQUEST` when the device's I/O type gives no safe access.
    fn output_buffer(&mut self, minimum: usize) -> NtResult<&mut [u8]>;
}

/// A write request (`EvtIoWrite`): only an input buffer.
pub trait WriteRequest: Request {
    /// Bytes supplied.
    fn length(&self) -> usize;

    /// The data, at least `minimum` bytes long.
    ///
    /// # Errors
    ///
    /// As [`ReadRequest::output_buffer`].
    fn input_buffer(&mut self, minimum: usize) -> NtResult<&[u8]>;
}

/// A device-control request (`EvtIoDeviceControl` / `EvtIoInternalDeviceControl`).
pub trait DeviceControlRequest: Request {
    /// The control code.
    fn ioctl_code(&self) -> IoControlCode;

    /// `InputBufferLength`.
    fn input_length(&self) -> usize;

    /// `OutputBufferLength`.
    fn output_length(&self) -> usize;

    /// Copies a `T` out of the input buffer.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when the input is shorter than `T` (or absent);
    /// `STATUS_INVALID_DEVICE_REQUEST` for METHOD_NEITHER.
    fn read_input<T: IoBuffer>(&mut self) -> NtResult<T>;

    /// Writes `value` to the start of the output buffer; returns the byte count to report.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when the output is shorter than `T` (or absent);
    /// `STATUS_INVALID_DEVICE_REQUEST` for METHOD_NEITHER.
    fn write_output<T: IoBuffer>(&mut self, value: &T) -> NtResult<usize>;
}

/// A driver written once for both backends.
///
/// Handlers run at ≤ DISPATCH_LEVEL (PASSIVE_LEVEL for create) and must return at the IRQL
/// they were called at. The driver's state lives in `self`, shared by every device and every
/// processor: guard mutable state with [`SpinLock`](crate::SpinLock) or atomics.
pub trait IoDriver: Sized + Send + Sync + 'static {
    /// The driver's name in trace lines.
    const NAME: &'static str;

    /// The device the driver runs.
    const DEVICE: DeviceSettings;

    /// Driver load (`DriverEntry`), after which the backend creates the device.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// A failure status stops the load.
    fn load() -> NtResult<Self>;

    /// Driver unload. A control device still exists while this runs and is deleted when it
    /// returns, on both backends: KMDF deletes a control device the driver left after
    /// `EvtDriverUnload`, and a C WDM `DriverUnload` deletes its devices itself. A filter's
    /// devices went with their removals, before.
    ///
    /// IRQL: PASSIVE_LEVEL.
    fn unload(&self) {}

    /// A handle is being opened. Default: success (a filter passes it down).
    fn on_create<R: Request>(&self, request: R) -> R::Done {
        match Self::DEVICE.role {
            DeviceRole::Control { .. } => request.complete(NtStatus::SUCCESS),
            DeviceRole::UpperFilter => request.forward(),
        }
    }

    /// A handle to the device was closed: its file object's `IRP_MJ_CLOSE` (WDM) or
    /// `EvtFileClose` (KMDF), once per handle. Cannot fail.
    fn on_close(&self) {}

    /// `EvtIoRead`. Default: not handled.
    fn on_read<R: ReadRequest>(&self, request: R) -> R::Done {
        not_handled::<Self, R>(request)
    }

    /// `EvtIoWrite`. Default: not handled.
    fn on_write<R: WriteRequest>(&self, request: R) -> R::Done {
        not_handled::<Self, R>(request)
    }

    /// `EvtIoDeviceControl`. Default: not handled.
    fn on_device_control<R: DeviceControlRequest>(&self, request: R) -> R::Done {
        not_handled::<Self, R>(request)
    }

    /// `EvtIoInternalDeviceControl`. Default: not handled.
    fn on_internal_device_control<R: DeviceControlRequest>(&self, request: R) -> R::Done {
        not_handled::<Self, R>(request)
    }

    /// Called when a request passed down with [`Request::forward_observed`] completes below.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn on_lower_completion(&self, completion: &Completion) {
        let _ = completion;
    }
}

/// What happens to a request type the driver does not handle: completed with
/// `STATUS_INVALID_DEVICE_REQUEST` on a control device, passed down on a filter (KMDF's rule,
/// facts: "Filter drivers").
///
/// IRQL: ≤ DISPATCH_LEVEL.
pub fn not_handled<D: IoDriver, R: Request>(request: R) -> R::Done {
    match D::DEVICE.role {
        DeviceRole::Control { .. } => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
        DeviceRole::UpperFilter => request.forward(),
    }
}
