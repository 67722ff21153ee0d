//! Typed IOCTL calls on both sides: a driver matches a request against an
//! [`Ioctl<In, Out>`](Ioctl) and gets its input decoded and its reply encoded
//! ([`IoRequest::ioctl`], [`TypedIoctl`]); a sender (the host simulation's user side,
//! `FileHandle::call`) sends with the same constant, and gets the reply decoded.

use alloc::vec::Vec;
use core::marker::PhantomData;

use crate::ioctl::{IoBuffer, Ioctl};
use crate::request::{IoRequest, IoctlBuffers};
use crate::status::{NtResult, NtStatus};

/// Between `MIN` and `MAX` bytes of data, as an IOCTL's input or output type.
///
/// As input the driver reads it as `&[u8]` (shorter than `MIN`: `STATUS_BUFFER_TOO_SMALL`;
/// longer than `MAX`: `STATUS_INVALID_PARAMETER`); as output the driver replies with a slice
/// of that length, and the sender provides room for `MAX` bytes.
#[derive(Debug, Clone, Copy)]
pub struct Bounded<const MIN: usize, const MAX: usize>;

/// An IOCTL's input type: how the driver decodes it and how a sender encodes it.
pub trait IoctlInput: 'static {
    /// What the driver gets: a copied value, or bytes borrowed from the request.
    type Value<'a>;
    /// What a sender passes.
    type Arg: ?Sized;

    /// Decodes the request's input bytes.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` or `STATUS_INVALID_PARAMETER` when the bytes do not fit.
    fn decode(bytes: &[u8]) -> NtResult<Self::Value<'_>>;

    /// The bytes a sender sends for `arg`.
    fn encode(arg: &Self::Arg) -> Vec<u8>;
}

/// An IOCTL's output type: how the driver encodes its reply and how a sender decodes it.
pub trait IoctlOutput: 'static {
    /// What the driver replies with.
    type Arg: ?Sized;
    /// What a sender gets back.
    type Value;
    /// The output room a sender provides.
    const CAPACITY: usize;

    /// Writes the reply at the start of `out`; returns the bytes written (`Information`).
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when `out` is too short; `STATUS_INVALID_PARAMETER` for a
    /// reply outside the type's bounds.
    fn encode(arg: &Self::Arg, out: &mut [u8]) -> NtResult<usize>;

    /// Decodes the bytes that came back; `None` when they do not fit the type.
    fn decode(bytes: &[u8]) -> Option<Self::Value>;
}

impl<T: IoBuffer> IoctlInput for T {
    type Value<'a> = T;
    type Arg = T;

    fn decode(bytes: &[u8]) -> NtResult<T> {
        T::read_from(bytes).ok_or(NtStatus::BUFFER_TOO_SMALL)
    }

    fn encode(arg: &T) -> Vec<u8> {
        let mut bytes = alloc::vec![0; T::SIZE];
        let _ = arg.write_to(&mut bytes);
        bytes
    }
}

impl<T: IoBuffer> IoctlOutput for T {
    type Arg = T;
    type Value = T;
    const CAPACITY: usize = T::SIZE;

    fn encode(arg: &T, out: &mut [u8]) -> NtResult<usize> {
        arg.write_to(out).ok_or(NtStatus::BUFFER_TOO_SMALL)
    }

    fn decode(bytes: &[u8]) -> Option<T> {
        T::read_from(bytes)
    }
}

impl<const MIN: usize, const MAX: usize> Bounded<MIN, MAX> {
    fn check(length: usize) -> NtResult<()> {
        if length < MIN {
            Err(NtStatus::BUFFER_TOO_SMALL)
        } else if length > MAX {
            Err(NtStatus::INVALID_PARAMETER)
        } else {
            Ok(())
        }
    }
}

impl<const MIN: usize, const MAX: usize> IoctlInput for Bounded<MIN, MAX> {
    type Value<'a> = &'a [u8];
    type Arg = [u8];

    fn decode(bytes: &[u8]) -> NtResult<&[u8]> {
        Self::check(bytes.len()).map(|()| bytes)
    }

    fn encode(arg: &[u8]) -> Vec<u8> {
        arg.to_vec()
    }
}

impl<const MIN: usize, const MAX: usize> IoctlOutput for Bounded<MIN, MAX> {
    type Arg = [u8];
    type Value = Vec<u8>;
    const CAPACITY: usize = MAX;

    fn encode(arg: &[u8], out: &mut [u8]) -> NtResult<usize> {
        Self::check(arg.len())?;
        out.get_mut(..arg.len())
            .ok_or(NtStatus::BUFFER_TOO_SMALL)?
            .copy_from_slice(arg);
        Ok(arg.len())
    }

    fn decode(bytes: &[u8]) -> Option<Vec<u8>> {
        Self::check(bytes.len()).ok().map(|()| bytes.to_vec())
    }
}

/// A request matched against an [`Ioctl<In, Out>`](Ioctl): its input decoded as `In`, its
/// reply encoded as `Out`, in the buffers of the code's transfer method (METHOD_BUFFERED or
/// METHOD_OUT_DIRECT; METHOD_IN_DIRECT for an input-only call).
///
/// The input and output types are either fixed-size values (every [`IoBuffer`]) or
/// [`Bounded<MIN, MAX>`] bytes, for variable-length data such as a 1–64 byte message:
///
/// ```
/// # #[cfg(feature = "tracking")] fn main() {
/// use wdm_compat::define_ioctl;
/// use wdm_compat::ioctl::Bounded;
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{DispatchStatus, Irp, IrpCompleter, NtStatus, TrackingCompleter};
///
/// // A message of 1 to 64 bytes in, its length back as a u32.
/// define_ioctl!(IOCTL_POST, 0x8000, 0x801, Bounded<1, 64> => u32);
///
/// fn on_device_control<'r, C: IrpCompleter>(irp: Irp<'r, C>) -> DispatchStatus<'r> {
///     irp.complete_with(|request| {
///         let call = request
///             .ioctl(IOCTL_POST)
///             .map_err(|_| NtStatus::INVALID_DEVICE_REQUEST)?;
///         let length = call.input()?.len();
///         call.reply(&(length as u32))
///     })
/// }
///
/// let harness = DispatchHarness::<TrackingCompleter>::new();
/// let posted = harness.device_control(IOCTL_POST.code().to_raw(), b"hello", 4, on_device_control);
/// assert_eq!(posted.result.unwrap().data, 5u32.to_le_bytes());
/// // Outside the bounds: refused by the decoding, not by hand-written checks.
/// let empty = harness.device_control(IOCTL_POST.code().to_raw(), b"", 4, on_device_control);
/// assert_eq!(empty.result.unwrap().status, NtStatus::BUFFER_TOO_SMALL);
/// let long = harness.device_control(IOCTL_POST.code().to_raw(), &[0; 65], 4, on_device_control);
/// assert_eq!(long.result.unwrap().status, NtStatus::INVALID_PARAMETER);
/// # }
/// # #[cfg(not(feature = "tracking"))] fn main() {}
/// ```
pub struct TypedIoctl<'irp, In, Out> {
    /// The buffers, or why they cannot be reached (an MDL that could not be mapped).
    buffers: NtResult<IoctlBuffers<'irp>>,
    _types: PhantomData<fn() -> (In, Out)>,
}

impl<'irp> IoRequest<'irp> {
    /// Matches the request against `ioctl`: `Ok` with its typed buffers when the request is
    /// that IOCTL, the request back otherwise (so a handler can try the next one).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// The request itself, unchanged, when it is another IOCTL (or not an IOCTL). A
    /// METHOD_NEITHER code matches, but its buffers are raw user addresses: `input` and
    /// `reply` refuse them.
    pub fn ioctl<In: IoctlInput, Out: IoctlOutput>(
        self,
        ioctl: Ioctl<In, Out>,
    ) -> Result<TypedIoctl<'irp, In, Out>, Self> {
        if self.ioctl_code() != Some(ioctl.code()) {
            return Err(self);
        }
        Ok(TypedIoctl {
            buffers: self.ioctl_buffers(),
            _types: PhantomData,
        })
    }
}

impl<In: IoctlInput, Out: IoctlOutput> TypedIoctl<'_, In, Out> {
    /// The caller's input, decoded.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`IoctlInput::decode`]: the input does not fit `In`; `STATUS_INVALID_DEVICE_REQUEST`
    /// for a METHOD_NEITHER code; the status of a buffer that could not be mapped.
    pub fn input(&self) -> NtResult<In::Value<'_>> {
        let buffers = self.buffers.as_ref().map_err(|status| *status)?;
        let bytes = match buffers {
            IoctlBuffers::Buffered(buffered) => buffered.input(),
            IoctlBuffers::InDirect(direct) => direct.input(),
            IoctlBuffers::OutDirect(direct) => direct.input(),
            IoctlBuffers::Neither { .. } => return Err(NtStatus::INVALID_DEVICE_REQUEST),
        };
        In::decode(bytes)
    }

    /// Writes the reply into the caller's output and returns the byte count to complete with
    /// (`Information`). Takes the call: the input (which a METHOD_BUFFERED reply overwrites)
    /// cannot be read after.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// As [`IoctlOutput::encode`]; `STATUS_INVALID_DEVICE_REQUEST` for a METHOD_IN_DIRECT code,
    /// whose caller pages are read-only.
    pub fn reply(self, value: &Out::Arg) -> NtResult<usize> {
        match self.buffers? {
            IoctlBuffers::Buffered(buffered) => Out::encode(value, buffered.into_output()),
            IoctlBuffers::OutDirect(direct) => Out::encode(value, direct.into_output()),
            IoctlBuffers::InDirect(_) | IoctlBuffers::Neither { .. } => {
                Err(NtStatus::INVALID_DEVICE_REQUEST)
            }
        }
    }
}
