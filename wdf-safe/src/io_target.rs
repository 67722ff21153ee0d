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
//! send returns. Or they are parts of the driver's own [`Memory`] objects, as
//! `WDF_MEMORY_DESCRIPTOR_INIT_HANDLE` with a `WDFMEMORY_OFFSET` describes them
//! ([`IoTarget::send_ioctl_synchronously_with_memory`]), sent without a copy.
//!
//! Without waiting, from any IRQL up to DISPATCH_LEVEL, a driver sends an IOCTL with a request
//! and memory objects of its own ([`Device::send_ioctl`], [`Device::send_internal_ioctl`]):
//! `WdfRequestCreate`, `WdfIoTargetFormatRequestForIoctl` with the [`Memory`] buffers,
//! `WdfRequestSetCompletionRoutine` and `WdfRequestSend`, as a C driver does when it asks the
//! device below something no request of its own carries. The memory travels with the request;
//! the completion callback gets it back with the answer ([`IoctlCompletion`]), and the crate
//! deletes the request (SDV's rules on driver-created requests: never completed, deleted once
//! back).

use core::num::NonZeroU32;

use crate::KmdfDriver;
use crate::device::Device;
use crate::kind::state::Ready;
use crate::memory::{Memory, MemoryRange};
use crate::request::IoTarget;
use crate::sys::{IoctlOutcome, SendBuffer};
use wdm_compat::{IoControlCode, NtResult, NtStatus};

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
        self.send_copied(false, code, input, output, timeout)
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
        self.send_copied(true, code, input, output, timeout)
    }

    /// `WdfIoTargetSendIoctlSynchronously` with memory descriptors
    /// (`WDF_MEMORY_DESCRIPTOR_INIT_HANDLE` and a `WDFMEMORY_OFFSET`): as
    /// [`send_ioctl_synchronously`](Self::send_ioctl_synchronously), with parts of the
    /// driver's own [`Memory`] buffers. Nothing is copied or allocated for the send: a driver
    /// that asks often keeps its buffers and sends from them. The device below may write
    /// either buffer; what it returned is in `output`'s part, whose length bounds the count
    /// returned. `None` sends no buffer.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`send_ioctl_synchronously`](Self::send_ioctl_synchronously).
    pub fn send_ioctl_synchronously_with_memory(
        &self,
        code: IoControlCode,
        input: Option<MemoryRange<'_>>,
        output: Option<MemoryRange<'_>>,
        timeout: SendTimeout,
    ) -> NtResult<usize> {
        self.0.send_ioctl_synchronously(
            false,
            code.to_raw(),
            described(input),
            described(output),
            timeout.as_millis(),
        )
    }

    /// `WdfIoTargetSendInternalIoctlSynchronously` with memory descriptors: as
    /// [`send_ioctl_synchronously_with_memory`](Self::send_ioctl_synchronously_with_memory),
    /// with an `IRP_MJ_INTERNAL_DEVICE_CONTROL`.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`send_internal_ioctl_synchronously`](Self::send_internal_ioctl_synchronously)
    /// (a METHOD_NEITHER code is refused without a send).
    pub fn send_internal_ioctl_synchronously_with_memory(
        &self,
        code: IoControlCode,
        input: Option<MemoryRange<'_>>,
        output: Option<MemoryRange<'_>>,
        timeout: SendTimeout,
    ) -> NtResult<usize> {
        self.0.send_ioctl_synchronously(
            true,
            code.to_raw(),
            described(input),
            described(output),
            timeout.as_millis(),
        )
    }

    /// A send of byte slices: the input goes in a copy, which the device below may write (a
    /// direct or METHOD_NEITHER IOCTL is given the buffer itself), while the caller's is only
    /// borrowed shared.
    fn send_copied(
        &self,
        internal: bool,
        code: IoControlCode,
        input: &[u8],
        output: &mut [u8],
        timeout: SendTimeout,
    ) -> NtResult<usize> {
        self.0.send_ioctl_synchronously(
            internal,
            code.to_raw(),
            SendBuffer::Copied(input),
            SendBuffer::Bytes(output),
            timeout.as_millis(),
        )
    }
}

/// A memory part's descriptor, or no buffer.
fn described(range: Option<MemoryRange<'_>>) -> SendBuffer<'_> {
    range.map_or(SendBuffer::Bytes(&mut []), MemoryRange::into_send_buffer)
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

/// What an IOCTL sent with [`Device::send_ioctl`] came back with: the target's status and
/// `Information`, and the memory, the driver's again.
#[derive(Debug)]
pub struct IoctlCompletion {
    /// The status the device below completed the request with.
    pub status: NtStatus,
    /// Its `IoStatus.Information`: for an IOCTL, the bytes it returned into `output`.
    pub information: usize,
    /// The input memory sent. The device below reads it; with METHOD_IN_DIRECT or
    /// METHOD_OUT_DIRECT it gets the buffer itself (KMDF passes it as the system buffer), so a
    /// device below may have written it.
    pub input: Option<Memory>,
    /// The output memory sent, with the returned bytes at its start (buffered I/O: the
    /// framework copied back `information` bytes; direct I/O: the target wrote it in place).
    pub output: Option<Memory>,
}

impl IoctlCompletion {
    /// The bytes the target returned: the first `information` bytes of `output` (none when the
    /// request failed or had no output).
    ///
    /// IRQL: any.
    #[must_use]
    pub fn returned(&self) -> &[u8] {
        match &self.output {
            Some(output) if self.status.is_success() => {
                output.get(..self.information).unwrap_or(output)
            }
            _ => &[],
        }
    }
}

/// An IOCTL that was not sent: why, and the memory back.
#[derive(Debug)]
pub struct NotSent {
    /// Why: `STATUS_INVALID_DEVICE_STATE` when the device has no target below (a control
    /// device) or is gone, `STATUS_INVALID_PARAMETER` for an internal METHOD_NEITHER code,
    /// `STATUS_INSUFFICIENT_RESOURCES`, or the framework's refusal.
    pub status: NtStatus,
    /// The input memory, unsent.
    pub input: Option<Memory>,
    /// The output memory, unsent.
    pub output: Option<Memory>,
}

/// The completion callback of a sent IOCTL, as the seam stores it in the request
/// (`sys::IoctlCallback`).
struct OnIoctlCompleted<D: KmdfDriver>(fn(&D, Device<D, Ready>, IoctlCompletion));

impl<D: KmdfDriver> Clone for OnIoctlCompleted<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for OnIoctlCompleted<D> {}

impl<D: KmdfDriver> crate::sys::IoctlCallback<D> for OnIoctlCompleted<D> {
    fn completed(self, driver: &D, device: crate::sys::DeviceHandle<D>, outcome: IoctlOutcome) {
        // The device sent the request to its own target, which KMDF empties before the device
        // goes, and it was ready when it sent it: a shared handle to it.
        (self.0)(
            driver,
            Device::new(device),
            IoctlCompletion {
                status: outcome.status,
                information: outcome.information,
                input: outcome.input.map(Memory::from_raw),
                output: outcome.output.map(Memory::from_raw),
            },
        );
    }
}

impl<D: KmdfDriver> Device<D, Ready> {
    /// Sends `code` to the device below with `input` and room for `output`'s bytes, and
    /// returns at once; `on_completion` gets the outcome and the memory when the device below
    /// completes it (`WdfRequestCreate` + `WdfIoTargetFormatRequestForIoctl` +
    /// `WdfRequestSetCompletionRoutine` + `WdfRequestSend`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL. `on_completion` runs at ≤ DISPATCH_LEVEL, in whatever thread
    /// the device below completes the request, possibly before this returns, on this stack:
    /// a callback that sends again to a device that always answers at once recurses, so send
    /// again from a work item or a timer.
    ///
    /// # Errors
    ///
    /// [`NotSent`], with the memory back, when the request was not sent: the callback does
    /// not run then.
    pub fn send_ioctl(
        &self,
        code: IoControlCode,
        input: Option<Memory>,
        output: Option<Memory>,
        on_completion: fn(&D, Device<D, Ready>, IoctlCompletion),
    ) -> Result<(), NotSent> {
        self.send_formatted(false, code, input, output, on_completion)
    }

    /// [`send_ioctl`](Self::send_ioctl) with an `IRP_MJ_INTERNAL_DEVICE_CONTROL`
    /// (`WdfIoTargetFormatRequestForInternalIoctl`), the kernel-only IOCTLs a class driver
    /// sends its port.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`send_ioctl`](Self::send_ioctl); a METHOD_NEITHER code is refused
    /// (`STATUS_INVALID_PARAMETER`), as for
    /// [`IoTarget::send_internal_ioctl_synchronously`].
    pub fn send_internal_ioctl(
        &self,
        code: IoControlCode,
        input: Option<Memory>,
        output: Option<Memory>,
        on_completion: fn(&D, Device<D, Ready>, IoctlCompletion),
    ) -> Result<(), NotSent> {
        self.send_formatted(true, code, input, output, on_completion)
    }

    fn send_formatted(
        &self,
        internal: bool,
        code: IoControlCode,
        input: Option<Memory>,
        output: Option<Memory>,
        on_completion: fn(&D, Device<D, Ready>, IoctlCompletion),
    ) -> Result<(), NotSent> {
        self.raw()
            .send_ioctl(
                internal,
                code.to_raw(),
                input.map(Memory::into_raw),
                output.map(Memory::into_raw),
                OnIoctlCompleted(on_completion),
            )
            .map_err(|(status, input, output)| NotSent {
                status,
                input: input.map(Memory::from_raw),
                output: output.map(Memory::from_raw),
            })
    }
}
