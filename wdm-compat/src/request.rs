//! Typed access to an IRP's current stack location and its buffers.
//!
//! Where the data of a request lives depends on the major function, the device's buffering
//! flags and, for IOCTLs, the transfer method in the code (Learn: "Buffer Descriptions for I/O
//! Control Codes", "Using Buffered I/O", "Using Direct I/O"):
//!
//! | request | input | output |
//! |---|---|---|
//! | read/write, `DO_BUFFERED_IO` | system buffer (write) | system buffer (read) |
//! | read/write, `DO_DIRECT_IO` | MDL (write) | MDL (read) |
//! | IOCTL, METHOD_BUFFERED | system buffer | **the same** system buffer |
//! | IOCTL, METHOD_IN/OUT_DIRECT | system buffer | MDL |
//! | IOCTL, METHOD_NEITHER, or read/write with neither flag | raw user address | raw user address |
//!
//! [`IoRequest`] hands out only what is safe: slices of system memory whose length comes from
//! the stack location, the METHOD_BUFFERED buffer through one object so the input and the output
//! views can never be borrowed at the same time, and user addresses as numbers that cannot be
//! dereferenced.

use crate::ioctl::{IoBuffer, IoControlCode, TransferMethod};
use crate::status::{NtResult, NtStatus};
use crate::sys::{IrpRef, Mode, Params};

/// An `IRP_MJ_*` major function code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MajorFunction(pub u8);

impl MajorFunction {
    /// `IRP_MJ_CREATE`: a handle is being opened.
    pub const CREATE: Self = Self(0x00);
    /// `IRP_MJ_CLOSE`: the last reference to a file object went away.
    pub const CLOSE: Self = Self(0x02);
    /// `IRP_MJ_READ`.
    pub const READ: Self = Self(0x03);
    /// `IRP_MJ_WRITE`.
    pub const WRITE: Self = Self(0x04);
    /// `IRP_MJ_QUERY_INFORMATION`: `NtQueryInformationFile` on a handle.
    pub const QUERY_INFORMATION: Self = Self(0x05);
    /// `IRP_MJ_SET_INFORMATION`: `NtSetInformationFile` on a handle.
    pub const SET_INFORMATION: Self = Self(0x06);
    /// `IRP_MJ_FLUSH_BUFFERS`.
    pub const FLUSH_BUFFERS: Self = Self(0x09);
    /// `IRP_MJ_DEVICE_CONTROL`: `DeviceIoControl` from user or kernel mode.
    pub const DEVICE_CONTROL: Self = Self(0x0e);
    /// `IRP_MJ_INTERNAL_DEVICE_CONTROL`: kernel-mode-only IOCTLs between drivers.
    pub const INTERNAL_DEVICE_CONTROL: Self = Self(0x0f);
    /// `IRP_MJ_SHUTDOWN`.
    pub const SHUTDOWN: Self = Self(0x10);
    /// `IRP_MJ_CLEANUP`: the last handle to a file object was closed.
    pub const CLEANUP: Self = Self(0x12);
    /// `IRP_MJ_POWER`.
    pub const POWER: Self = Self(0x16);
    /// `IRP_MJ_SYSTEM_CONTROL` (WMI).
    pub const SYSTEM_CONTROL: Self = Self(0x17);
    /// `IRP_MJ_PNP`.
    pub const PNP: Self = Self(0x1b);
    /// `IRP_MJ_MAXIMUM_FUNCTION`.
    pub const MAXIMUM: Self = Self(0x1b);
}

/// `IRP_MN_*` minor codes of `IRP_MJ_PNP` that the crate handles itself.
pub mod pnp_minor {
    /// `IRP_MN_START_DEVICE`.
    pub const START_DEVICE: u8 = 0x00;
    /// `IRP_MN_REMOVE_DEVICE`.
    pub const REMOVE_DEVICE: u8 = 0x02;
    /// `IRP_MN_SURPRISE_REMOVAL`.
    pub const SURPRISE_REMOVAL: u8 = 0x17;
}

/// Who sent the request (`Irp->RequestorMode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RequestorMode {
    /// `KernelMode`: another driver.
    Kernel,
    /// `UserMode`: an application; its buffers and parameters are untrusted.
    User,
}

/// The decoded parameters of the current stack location.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Parameters {
    /// `IRP_MJ_READ`: `Parameters.Read`.
    Read {
        /// Bytes requested.
        length: usize,
        /// Byte offset in the file or device.
        offset: i64,
    },
    /// `IRP_MJ_WRITE`: `Parameters.Write`.
    Write {
        /// Bytes supplied.
        length: usize,
        /// Byte offset in the file or device.
        offset: i64,
    },
    /// `IRP_MJ_DEVICE_CONTROL` or `IRP_MJ_INTERNAL_DEVICE_CONTROL`:
    /// `Parameters.DeviceIoControl`.
    DeviceControl {
        /// The control code.
        code: IoControlCode,
        /// `InputBufferLength`.
        input_length: usize,
        /// `OutputBufferLength`.
        output_length: usize,
    },
    /// `IRP_MJ_QUERY_INFORMATION` (`NtQueryInformationFile`): `Parameters.QueryFile`.
    QueryInformation {
        /// `FileInformationClass` (`FileBasicInformation` = 4, `FileStandardInformation` = 5,
        /// `FilePositionInformation` = 14, …).
        class: u32,
        /// Bytes the caller's buffer holds.
        length: usize,
    },
    /// `IRP_MJ_SET_INFORMATION` (`NtSetInformationFile`): `Parameters.SetFile`.
    SetInformation {
        /// `FileInformationClass`.
        class: u32,
        /// Bytes the caller supplies.
        length: usize,
    },
    /// `IRP_MJ_POWER`: `Parameters.Power` (the minor function says which request:
    /// `IRP_MN_SET_POWER` = 2, `IRP_MN_QUERY_POWER` = 3).
    Power {
        /// Whether `state` is a system or a device power state (`Type`).
        kind: PowerStateKind,
        /// `State`: `PowerSystemWorking` (1) … for a system state, `PowerDeviceD0` (1) …
        /// `PowerDeviceD3` (4) for a device state.
        state: u32,
    },
    /// Any other major function.
    Other,
}

/// `POWER_STATE_TYPE`: what an `IRP_MJ_POWER` request's state describes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PowerStateKind {
    /// `SystemPowerState`: the machine's S-state.
    System,
    /// `DevicePowerState`: the device's D-state.
    Device,
}

/// A user-mode address from a METHOD_NEITHER request, kept as a number.
///
/// Such memory can only be touched in the requestor's process context, after probing, under
/// structured exception handling (Learn: "Using Neither Buffered Nor Direct I/O"); Rust code
/// here cannot do that safely, so the address is never turned into a slice.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UserAddress {
    /// The raw address as the caller passed it.
    pub address: usize,
    /// The length the caller claimed.
    pub length: usize,
}

/// Which open handle a request came through: the identity of its file object, to compare
/// (for instance to cancel a closing handle's queued requests at `IRP_MJ_CLEANUP`), never to
/// dereference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FileObjectId(core::num::NonZeroUsize);

impl FileObjectId {
    pub(crate) const fn as_usize(self) -> usize {
        self.0.get()
    }
}

/// Typed, bounds-checked access to an IRP's current stack location.
///
/// Borrowed from an [`Irp`](crate::Irp) (or [`PendingIrp`](crate::PendingIrp)) with `request()`,
/// so every buffer it hands out is gone before the IRP can be completed. The buffer accessors
/// consume the view: a request has one data buffer (or one IOCTL buffer object), taken once.
pub struct IoRequest<'irp> {
    irp: Option<&'irp mut IrpRef>,
}

impl<'irp> IoRequest<'irp> {
    pub(crate) const fn new(irp: Option<&'irp mut IrpRef>) -> Self {
        Self { irp }
    }

    /// The major function (`IRP_MJ_*`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn major_function(&self) -> MajorFunction {
        MajorFunction(self.irp.as_ref().map_or(0xff, |irp| irp.stack().major))
    }

    /// The minor function (`IRP_MN_*`).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn minor_function(&self) -> u8 {
        self.irp.as_ref().map_or(0, |irp| irp.stack().minor)
    }

    /// Who sent the request.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn requestor_mode(&self) -> RequestorMode {
        match self.irp.as_ref().map(|irp| irp.requestor_mode()) {
            Some(Mode::Kernel) => RequestorMode::Kernel,
            _ => RequestorMode::User,
        }
    }

    /// The file object the request came through (`IrpSp->FileObject`): which open handle
    /// sent it. `None` for requests without one (some sent by other drivers).
    ///
    /// IRQL: any.
    #[must_use]
    pub fn file_object(&self) -> Option<FileObjectId> {
        self.irp
            .as_ref()
            .and_then(|irp| core::num::NonZeroUsize::new(irp.file_object()))
            .map(FileObjectId)
    }

    /// The decoded parameters.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn parameters(&self) -> Parameters {
        self.irp
            .as_deref()
            .map_or(Parameters::Other, decode_parameters)
    }

    /// The IOCTL code, for device-control requests.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn ioctl_code(&self) -> Option<IoControlCode> {
        match self.parameters() {
            Parameters::DeviceControl { code, .. } => Some(code),
            _ => None,
        }
    }

    /// `InputBufferLength` of an IOCTL, or the length of a write; 0 otherwise.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn input_length(&self) -> usize {
        match self.parameters() {
            Parameters::DeviceControl { input_length, .. } => input_length,
            Parameters::Write { length, .. } => length,
            _ => 0,
        }
    }

    /// `OutputBufferLength` of an IOCTL, or the length of a read; 0 otherwise.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn output_length(&self) -> usize {
        match self.parameters() {
            Parameters::DeviceControl { output_length, .. } => output_length,
            Parameters::Read { length, .. } => length,
            _ => 0,
        }
    }

    /// The byte offset of a read or write; 0 otherwise.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn byte_offset(&self) -> i64 {
        match self.parameters() {
            Parameters::Read { offset, .. } | Parameters::Write { offset, .. } => offset,
            _ => 0,
        }
    }

    /// The buffer a read fills: `length` bytes of system memory (buffered or direct I/O).
    ///
    /// A zero-length read gets an empty slice.
    ///
    /// # Errors
    ///
    /// * `STATUS_INVALID_DEVICE_REQUEST`: not a read, or the device uses neither buffered nor
    ///   direct I/O (the data is at a raw user address).
    /// * `STATUS_INSUFFICIENT_RESOURCES`: the MDL could not be mapped.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn read_buffer(self) -> NtResult<&'irp mut [u8]> {
        match self.parameters() {
            Parameters::Read { length: 0, .. } => Ok(&mut []),
            Parameters::Read { .. } => self.data_buffer(),
            _ => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// The buffer an `IRP_MJ_QUERY_INFORMATION` request fills (the system buffer the I/O
    /// manager copies back to the caller, `Information` bytes of it).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` for other requests; `STATUS_BUFFER_TOO_SMALL` for a
    /// zero-length buffer.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn query_information_buffer(self) -> NtResult<&'irp mut [u8]> {
        match self.parameters() {
            Parameters::QueryInformation { .. } => self
                .irp
                .and_then(IrpRef::system_buffer)
                .ok_or(NtStatus::BUFFER_TOO_SMALL),
            _ => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// The data an `IRP_MJ_SET_INFORMATION` request supplies.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` for other requests; `STATUS_INFO_LENGTH_MISMATCH` for
    /// no data.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    pub fn set_information_buffer(self) -> NtResult<&'irp [u8]> {
        match self.parameters() {
            Parameters::SetInformation { .. } => self
                .irp
                .and_then(IrpRef::system_buffer)
                .map(|data| &*data)
                .ok_or(NtStatus::INFO_LENGTH_MISMATCH),
            _ => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// The data a write supplies: `length` bytes of system memory (buffered or direct I/O).
    ///
    /// A zero-length write gets an empty slice.
    ///
    /// # Errors
    ///
    /// As [`read_buffer`](Self::read_buffer), for writes.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn write_buffer(self) -> NtResult<&'irp [u8]> {
        match self.parameters() {
            Parameters::Write { length: 0, .. } => Ok(&[]),
            Parameters::Write { .. } => self.data_buffer().map(|data| &*data),
            _ => Err(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }

    /// Read/write data: the system buffer on a buffered device, else the mapped MDL.
    fn data_buffer(self) -> NtResult<&'irp mut [u8]> {
        let irp = self.irp.ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
        if irp.system_buffer().is_some() {
            return irp.system_buffer().ok_or(NtStatus::INVALID_DEVICE_REQUEST);
        }
        irp.mdl_buffer()?.ok_or(NtStatus::INVALID_DEVICE_REQUEST)
    }

    /// The buffers of a device-control request, shaped by the code's transfer method.
    ///
    /// # Errors
    ///
    /// * `STATUS_INVALID_DEVICE_REQUEST`: not a device-control request.
    /// * `STATUS_INSUFFICIENT_RESOURCES`: the output MDL could not be mapped.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn ioctl_buffers(self) -> NtResult<IoctlBuffers<'irp>> {
        let Parameters::DeviceControl {
            code,
            input_length,
            output_length,
        } = self.parameters()
        else {
            return Err(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let irp = self.irp.ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
        Ok(match code.method() {
            TransferMethod::Buffered => IoctlBuffers::Buffered(BufferedIoctl {
                buffer: irp.system_buffer().unwrap_or_default(),
                input_length,
                output_length,
            }),
            // Two different pieces of memory: the system buffer and the caller's pages behind
            // the MDL; the seam hands out both at once.
            TransferMethod::InDirect => {
                // The pages were probed for read access: data flowing to the device, never
                // written (the caller may have passed read-only memory).
                let (input, pages) = irp.split_direct()?;
                IoctlBuffers::InDirect(InDirectIoctl {
                    input,
                    pages: &*pages,
                })
            }
            TransferMethod::OutDirect => {
                let (input, output) = irp.split_direct()?;
                IoctlBuffers::OutDirect(OutDirectIoctl { input, output })
            }
            TransferMethod::Neither => {
                let (input, output) = irp.user_addresses();
                IoctlBuffers::Neither {
                    input: UserAddress {
                        address: input,
                        length: input_length,
                    },
                    output: UserAddress {
                        address: output,
                        length: output_length,
                    },
                }
            }
        })
    }
}

/// Decodes the current stack location's parameters.
pub(crate) fn decode_parameters(irp: &IrpRef) -> Parameters {
    match irp.stack().params {
        Params::Read { length, offset } => Parameters::Read {
            length: len(length),
            offset,
        },
        Params::Write { length, offset } => Parameters::Write {
            length: len(length),
            offset,
        },
        Params::DeviceControl {
            output_length,
            input_length,
            code,
        } => Parameters::DeviceControl {
            code: IoControlCode::from_raw(code),
            input_length: len(input_length),
            output_length: len(output_length),
        },
        Params::QueryInformation { length, class } => Parameters::QueryInformation {
            class,
            length: len(length),
        },
        Params::SetInformation { length, class } => Parameters::SetInformation {
            class,
            length: len(length),
        },
        Params::Power { kind, state } => Parameters::Power {
            kind: if kind == 0 {
                PowerStateKind::System
            } else {
                PowerStateKind::Device
            },
            state,
        },
        Params::Other => Parameters::Other,
    }
}

/// `usize` from a 32-bit length field (lossless on every target Windows runs on).
fn len(value: u32) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// The buffers of a device-control request.
pub enum IoctlBuffers<'irp> {
    /// METHOD_BUFFERED: one system buffer holds the input and receives the output.
    Buffered(BufferedIoctl<'irp>),
    /// METHOD_IN_DIRECT: input in the system buffer, and a second, read-only input in the
    /// caller's locked pages (what `DeviceIoControl` calls the output buffer).
    InDirect(InDirectIoctl<'irp>),
    /// METHOD_OUT_DIRECT: input in the system buffer, output in the caller's locked pages.
    OutDirect(OutDirectIoctl<'irp>),
    /// METHOD_NEITHER: raw user addresses only.
    Neither {
        /// `Parameters.DeviceIoControl.Type3InputBuffer`.
        input: UserAddress,
        /// `Irp->UserBuffer`.
        output: UserAddress,
    },
}

/// The shared system buffer of a METHOD_BUFFERED IOCTL.
///
/// The I/O manager allocates `max(input, output)` bytes, copies the input in, and after
/// completion copies `Information` bytes back out. Writing output overwrites input, so the
/// input view ([`input`](Self::input), `&self`) and the output view
/// ([`output`](Self::output), `&mut self`) cannot be held at the same time. Read what you need
/// first (for example with [`read_input`](Self::read_input), which copies), then write.
pub struct BufferedIoctl<'irp> {
    buffer: &'irp mut [u8],
    input_length: usize,
    output_length: usize,
}

impl<'irp> BufferedIoctl<'irp> {
    /// The caller's input: `InputBufferLength` bytes.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn input(&self) -> &[u8] {
        self.buffer.get(..self.input_length).unwrap_or_default()
    }

    /// The output area: `OutputBufferLength` bytes (holding the input until overwritten).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn output(&mut self) -> &mut [u8] {
        self.buffer
            .get_mut(..self.output_length)
            .unwrap_or_default()
    }

    /// The input view, for the rest of the IRP borrow.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn into_input(self) -> &'irp [u8] {
        let length = self.input_length;
        let buffer: &'irp [u8] = self.buffer;
        buffer.get(..length).unwrap_or_default()
    }

    /// The output view, for the rest of the IRP borrow.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub fn into_output(self) -> &'irp mut [u8] {
        let length = self.output_length;
        self.buffer.get_mut(..length).unwrap_or_default()
    }

    /// Copies a `T` out of the input.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when the input is shorter than `T`.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn read_input<T: IoBuffer>(&self) -> NtResult<T> {
        T::read_from(self.input()).ok_or(NtStatus::BUFFER_TOO_SMALL)
    }

    /// Writes `value` at the start of the output and returns the byte count to report as
    /// `Information`.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when the output is shorter than `T`; nothing is written then.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub fn write_output<T: IoBuffer>(&mut self, value: &T) -> NtResult<usize> {
        value
            .write_to(self.output())
            .ok_or(NtStatus::BUFFER_TOO_SMALL)
    }
}

/// The buffers of a METHOD_IN_DIRECT IOCTL: two separate pieces of input.
///
/// The I/O manager probed the caller's pages (`lpOutBuffer` of `DeviceIoControl`) for *read*
/// access only, so they are handed out read-only: the caller may have passed memory it cannot
/// write, and writing would silently change the data it sent.
pub struct InDirectIoctl<'irp> {
    input: &'irp [u8],
    pages: &'irp [u8],
}

impl<'irp> InDirectIoctl<'irp> {
    /// The caller's input (system buffer).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub const fn input(&self) -> &'irp [u8] {
        self.input
    }

    /// The caller's pages (mapped MDL), read-only; empty when the caller passed none.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub const fn pages(&self) -> &'irp [u8] {
        self.pages
    }
}

/// The buffers of a METHOD_OUT_DIRECT IOCTL: two separate pieces of memory.
pub struct OutDirectIoctl<'irp> {
    input: &'irp [u8],
    output: &'irp mut [u8],
}

impl<'irp> OutDirectIoctl<'irp> {
    /// The caller's input (system buffer).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub const fn input(&self) -> &[u8] {
        self.input
    }

    /// The caller's output pages (mapped MDL); empty when the caller passed none.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub const fn output(&mut self) -> &mut [u8] {
        self.output
    }

    /// The input, for the rest of the IRP borrow.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub const fn into_input(self) -> &'irp [u8] {
        self.input
    }

    /// The output, for the rest of the IRP borrow.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    #[must_use]
    pub const fn into_output(self) -> &'irp mut [u8] {
        self.output
    }

    /// Both at once: they never overlap.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL (buffered and direct buffers are resident there).
    pub const fn split(&mut self) -> (&[u8], &mut [u8]) {
        (self.input, self.output)
    }
}
