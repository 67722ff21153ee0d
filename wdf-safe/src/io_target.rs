//! Synchronous sends to the device below (`WdfIoTargetSendIoctlSynchronously`,
//! `WdfIoTargetSendInternalIoctlSynchronously`): a driver asks its lower stack something and
//! waits for the answer, as kbfiltr asks for the keyboard's attributes or a function driver
//! queries its bus in `EvtDevicePrepareHardware`.
//!
//! The framework formats a request of its own (none of the driver's requests is passed, so
//! none can be of the wrong kind: SDV IoctlReqs, InternalIoctlReqs, ReadReqs, WriteReqs), sends
//! it to the [`IoTarget`] and waits, at most the [`SendTimeout`] given, which cannot be zero
//! (SDV SyncReqSend, SyncReqSend2). Waiting needs PASSIVE_LEVEL: above it the send is refused
//! with `STATUS_INVALID_DEVICE_REQUEST` (SDV WdfRequestSendSyncAtDispatch).
//!
//! The buffers are byte slices, as `WDF_MEMORY_DESCRIPTOR_INIT_BUFFER` describes them: the
//! input is only read; the output receives what the lower driver returned, whose length the
//! send returns.

use core::num::NonZeroU32;

use crate::KmdfDriver;
use crate::device::Device;
use crate::request::IoTarget;
use wdm_compat::{IoControlCode, NtResult};

/// How long a synchronous send waits for its answer before the framework cancels it
/// (`WDF_REQUEST_SEND_OPTION_TIMEOUT`, `WDF_REL_TIMEOUT_IN_MS`). Never zero: KMDF reads a zero
/// timeout as none, and a lower driver that never answers would hang the thread (SDV asks for
/// a non-zero timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendTimeout(NonZeroU32);

impl SendTimeout {
    /// A timeout of `ms` milliseconds.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn milliseconds(ms: NonZeroU32) -> Self {
        Self(ms)
    }

    /// The timeout in milliseconds.
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn as_millis(self) -> u32 {
        self.0.get()
    }
}

impl IoTarget {
    /// `WdfIoTargetSendIoctlSynchronously(Target, NULL, code, input, output, timeout)`: sends
    /// an `IRP_MJ_DEVICE_CONTROL` down and waits; returns the number of bytes the lower driver
    /// returned into `output`.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// The lower driver's failure status; `STATUS_IO_TIMEOUT` when it did not answer in time;
    /// `STATUS_INVALID_DEVICE_REQUEST` above PASSIVE_LEVEL; `STATUS_INVALID_DEVICE_STATE` once
    /// the device is gone.
    pub fn send_ioctl_synchronously(
        &self,
        code: IoControlCode,
        input: &[u8],
        output: &mut [u8],
        timeout: SendTimeout,
    ) -> NtResult<usize> {
        self.0
            .send_ioctl_synchronously(false, code.to_raw(), input, output, timeout.as_millis())
    }

    /// `WdfIoTargetSendInternalIoctlSynchronously`: as
    /// [`send_ioctl_synchronously`](Self::send_ioctl_synchronously), with an
    /// `IRP_MJ_INTERNAL_DEVICE_CONTROL` (the kernel-only IOCTLs a class driver sends its port).
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`send_ioctl_synchronously`](Self::send_ioctl_synchronously), and
    /// `STATUS_INVALID_PARAMETER` for a METHOD_NEITHER code, which is refused without a send:
    /// the driver below reads such a buffer as kernel structures, pointers and callbacks
    /// included (a forged `IOCTL_INTERNAL_KEYBOARD_CONNECT` would make the keyboard port
    /// driver call any address), so bytes from safe code must not reach it.
    pub fn send_internal_ioctl_synchronously(
        &self,
        code: IoControlCode,
        input: &[u8],
        output: &mut [u8],
        timeout: SendTimeout,
    ) -> NtResult<usize> {
        self.0
            .send_ioctl_synchronously(true, code.to_raw(), input, output, timeout.as_millis())
    }
}

impl<D: KmdfDriver, S> Device<D, S> {
    /// `WdfDeviceGetIoTarget`: the device's default I/O target, the device below a PnP
    /// function or filter device; `None` for a control device, or once the device is gone.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn default_io_target(&self) -> Option<IoTarget> {
        self.raw().default_io_target().map(IoTarget)
    }
}
