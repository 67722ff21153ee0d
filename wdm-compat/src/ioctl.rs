//! I/O control codes: `CTL_CODE` as a type, typed IOCTLs, and [`define_ioctl!`](crate::define_ioctl).
//!
//! An IOCTL code packs four fields (devioctl.h `CTL_CODE`; Learn: "Defining I/O Control
//! Codes"):
//!
//! | bits | field |
//! |---|---|
//! | 31–16 | device type; ≥ 0x8000 is vendor space (bit 31, the "common" bit) |
//! | 15–14 | required access (`FILE_ANY_ACCESS`, `FILE_READ_ACCESS`, `FILE_WRITE_ACCESS`) |
//! | 13–2 | function; ≥ 0x800 is vendor space (bit 13, the "custom" bit) |
//! | 1–0 | transfer method (`METHOD_BUFFERED`, `METHOD_IN_DIRECT`, `METHOD_OUT_DIRECT`, `METHOD_NEITHER`) |
//!
//! [`IoControlCode::new`] builds one in a `const` and refuses a function number that does not
//! fit in 12 bits at compile time. [`Ioctl<In, Out>`](Ioctl) carries the code together with the
//! types of its input and output buffers, so dispatch code checks lengths against the types the
//! definition declared.

pub use crate::typed_ioctl::{Bounded, IoctlInput, IoctlOutput, TypedIoctl};
use core::fmt;
use core::marker::PhantomData;

/// How an IOCTL's buffers travel (the low two bits of the code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferMethod {
    /// `METHOD_BUFFERED` (0): one system buffer holds the input and receives the output.
    Buffered = 0,
    /// `METHOD_IN_DIRECT` (1): input buffered, output in the caller's pages (read access).
    InDirect = 1,
    /// `METHOD_OUT_DIRECT` (2): input buffered, output in the caller's pages (write access).
    OutDirect = 2,
    /// `METHOD_NEITHER` (3): raw user addresses.
    Neither = 3,
}

impl TransferMethod {
    /// The header's name (`"METHOD_BUFFERED"`).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Buffered => "METHOD_BUFFERED",
            Self::InDirect => "METHOD_IN_DIRECT",
            Self::OutDirect => "METHOD_OUT_DIRECT",
            Self::Neither => "METHOD_NEITHER",
        }
    }
}

/// The access a caller's handle must have for the I/O manager to send the IOCTL (bits 15–14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequiredAccess {
    /// `FILE_ANY_ACCESS` (0).
    Any = 0,
    /// `FILE_READ_ACCESS` (1).
    Read = 1,
    /// `FILE_WRITE_ACCESS` (2).
    Write = 2,
    /// `FILE_READ_ACCESS | FILE_WRITE_ACCESS` (3).
    ReadWrite = 3,
}

impl RequiredAccess {
    /// The header's name (`"FILE_ANY_ACCESS"`).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Any => "FILE_ANY_ACCESS",
            Self::Read => "FILE_READ_ACCESS",
            Self::Write => "FILE_WRITE_ACCESS",
            Self::ReadWrite => "FILE_READ_ACCESS | FILE_WRITE_ACCESS",
        }
    }
}

/// Well-known device types (`FILE_DEVICE_*`).
pub mod device_type {
    /// `FILE_DEVICE_NULL`.
    pub const NULL: u16 = 0x15;
    /// `FILE_DEVICE_UNKNOWN`.
    pub const UNKNOWN: u16 = 0x22;
    /// `FILE_DEVICE_KEYBOARD`.
    pub const KEYBOARD: u16 = 0x0b;
    /// The first device type of the vendor range.
    pub const VENDOR_FIRST: u16 = 0x8000;
}

/// The largest function number (12 bits).
pub const MAX_FUNCTION: u16 = 0x0FFF;

/// An I/O control code (`CTL_CODE`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct IoControlCode(u32);

impl IoControlCode {
    /// `CTL_CODE(device_type, function, method, access)`, for `const` items.
    ///
    /// # Panics
    ///
    /// When `function` exceeds [`MAX_FUNCTION`]. In a `const` item (the intended use) that is a
    /// compile error, never a run-time panic; at run time use [`try_new`](Self::try_new).
    ///
    /// ```compile_fail
    /// use wdm_compat::ioctl::{IoControlCode, RequiredAccess, TransferMethod};
    /// // 0x1000 does not fit in the 12-bit function field.
    /// const BAD: IoControlCode =
    ///     IoControlCode::new(0x8000, 0x1000, TransferMethod::Buffered, RequiredAccess::Any);
    /// ```
    #[must_use]
    #[allow(
        clippy::panic,
        reason = "evaluated in const items, where it is a compile error"
    )]
    pub const fn new(
        device_type: u16,
        function: u16,
        method: TransferMethod,
        access: RequiredAccess,
    ) -> Self {
        match Self::try_new(device_type, function, method, access) {
            Some(code) => code,
            None => panic!("IOCTL function number does not fit in 12 bits (max 0xFFF)"),
        }
    }

    /// `CTL_CODE`, or `None` when `function` exceeds [`MAX_FUNCTION`].
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn try_new(
        device_type: u16,
        function: u16,
        method: TransferMethod,
        access: RequiredAccess,
    ) -> Option<Self> {
        if function > MAX_FUNCTION {
            return None;
        }
        Some(Self(
            ((device_type as u32) << 16)
                | ((access as u32) << 14)
                | ((function as u32) << 2)
                | method as u32,
        ))
    }

    /// Wraps a raw code.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw code.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn to_raw(self) -> u32 {
        self.0
    }

    /// `DEVICE_TYPE_FROM_CTL_CODE`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub const fn device_type(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The function number (bits 13–2).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub const fn function(self) -> u16 {
        ((self.0 >> 2) & 0x0FFF) as u16
    }

    /// `METHOD_FROM_CTL_CODE`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn method(self) -> TransferMethod {
        match self.0 & 3 {
            0 => TransferMethod::Buffered,
            1 => TransferMethod::InDirect,
            2 => TransferMethod::OutDirect,
            _ => TransferMethod::Neither,
        }
    }

    /// The required access (bits 15–14).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn access(self) -> RequiredAccess {
        match (self.0 >> 14) & 3 {
            0 => RequiredAccess::Any,
            1 => RequiredAccess::Read,
            2 => RequiredAccess::Write,
            _ => RequiredAccess::ReadWrite,
        }
    }

    /// Whether the code is in vendor space: a vendor device type or a vendor function code
    /// (either is enough for the code not to collide with Microsoft's).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_vendor_defined(self) -> bool {
        self.has_vendor_device_type() || self.has_vendor_function()
    }

    /// Whether the device type is in the vendor range, 0x8000–0xFFFF (the "common" bit;
    /// 0x0000–0x7FFF are Microsoft's `FILE_DEVICE_*` types).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn has_vendor_device_type(self) -> bool {
        self.device_type() >= 0x8000
    }

    /// Whether the function code is in the vendor range, 0x800–0xFFF (the "custom" bit;
    /// 0x000–0x7FF are Microsoft's).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn has_vendor_function(self) -> bool {
        self.function() >= 0x800
    }
}

impl fmt::Debug for IoControlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IoControlCode({:#010X}: device {:#06X}, function {:#05X}, {}, {})",
            self.0,
            self.device_type(),
            self.function(),
            self.method().name(),
            self.access().name()
        )
    }
}

impl fmt::Display for IoControlCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010X}", self.0)
    }
}

/// A plain-data value that travels in an I/O buffer, read and written as little-endian bytes
/// without `unsafe`.
///
/// Implemented for the integer types, byte arrays and `()`; for a `#[repr(C)]` struct use
/// [`io_buffer_struct!`](crate::io_buffer_struct).
pub trait IoBuffer: Copy + 'static {
    /// Bytes the value occupies in a buffer.
    const SIZE: usize;

    /// Reads a value from the start of `bytes`; `None` when `bytes` is shorter than
    /// [`SIZE`](Self::SIZE). Only the first `SIZE` bytes are the value's: a request's
    /// `read_input` / `write_output` may hand over just those (the KMDF backend asks the
    /// framework for exactly `SIZE` bytes), or the whole buffer.
    fn read_from(bytes: &[u8]) -> Option<Self>;

    /// Writes the value at the start of `out` and returns [`SIZE`](Self::SIZE); `None` (and
    /// nothing written) when `out` is shorter.
    fn write_to(&self, out: &mut [u8]) -> Option<usize>;
}

macro_rules! io_buffer_int {
    ($($t:ty),*) => {$(
        impl IoBuffer for $t {
            const SIZE: usize = core::mem::size_of::<$t>();

            fn read_from(bytes: &[u8]) -> Option<Self> {
                let bytes = bytes.get(..Self::SIZE)?;
                bytes.try_into().ok().map(<$t>::from_le_bytes)
            }

            fn write_to(&self, out: &mut [u8]) -> Option<usize> {
                out.get_mut(..Self::SIZE)?.copy_from_slice(&self.to_le_bytes());
                Some(Self::SIZE)
            }
        }
    )*};
}

io_buffer_int!(u8, u16, u32, u64, i8, i16, i32, i64);

impl<const N: usize> IoBuffer for [u8; N] {
    const SIZE: usize = N;

    fn read_from(bytes: &[u8]) -> Option<Self> {
        bytes.get(..N)?.try_into().ok()
    }

    fn write_to(&self, out: &mut [u8]) -> Option<usize> {
        out.get_mut(..N)?.copy_from_slice(self);
        Some(N)
    }
}

impl IoBuffer for () {
    const SIZE: usize = 0;

    fn read_from(_bytes: &[u8]) -> Option<Self> {
        Some(())
    }

    fn write_to(&self, _out: &mut [u8]) -> Option<usize> {
        Some(0)
    }
}

/// Declares a `#[repr(C)]` struct of [`IoBuffer`] fields as an `IoBuffer`, encoded field by
/// field in declaration order.
///
/// That encoding equals the struct's memory layout only if the struct has no padding, so the
/// macro makes padding a compile error.
///
/// ```
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// #[repr(C)]
/// pub struct Point { x: u32, y: u32 }
/// wdm_compat::io_buffer_struct!(Point { x: u32, y: u32 });
///
/// use wdm_compat::ioctl::IoBuffer;
/// let mut bytes = [0u8; 8];
/// assert_eq!(Point { x: 1, y: 2 }.write_to(&mut bytes), Some(8));
/// assert_eq!(Point::read_from(&bytes), Some(Point { x: 1, y: 2 }));
/// ```
#[macro_export]
macro_rules! io_buffer_struct {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        const _: () = assert!(
            ::core::mem::size_of::<$name>() == 0 $(+ <$ty as $crate::ioctl::IoBuffer>::SIZE)*,
            "the struct has padding, so its bytes are not its fields in order"
        );

        impl $crate::ioctl::IoBuffer for $name {
            const SIZE: usize = 0 $(+ <$ty as $crate::ioctl::IoBuffer>::SIZE)*;

            fn read_from(bytes: &[u8]) -> ::core::option::Option<Self> {
                let mut _offset = 0usize;
                $(
                    let $field =
                        <$ty as $crate::ioctl::IoBuffer>::read_from(bytes.get(_offset..)?)?;
                    _offset += <$ty as $crate::ioctl::IoBuffer>::SIZE;
                )*
                ::core::option::Option::Some(Self { $($field),* })
            }

            fn write_to(&self, out: &mut [u8]) -> ::core::option::Option<usize> {
                if out.len() < <Self as $crate::ioctl::IoBuffer>::SIZE {
                    return ::core::option::Option::None;
                }
                let mut _offset = 0usize;
                $(
                    _offset += $crate::ioctl::IoBuffer::write_to(
                        &self.$field,
                        out.get_mut(_offset..)?,
                    )?;
                )*
                ::core::option::Option::Some(_offset)
            }
        }
    };
}

/// An IOCTL code with the types of its input and output buffers.
pub struct Ioctl<In, Out> {
    code: IoControlCode,
    _buffers: PhantomData<fn() -> (In, Out)>,
}

impl<In, Out> Clone for Ioctl<In, Out> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<In, Out> Copy for Ioctl<In, Out> {}

impl<In, Out> fmt::Debug for Ioctl<In, Out> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Ioctl").field(&self.code).finish()
    }
}

impl<In: IoBuffer, Out: IoBuffer> Ioctl<In, Out> {
    /// Bytes the input buffer must hold at least.
    pub const INPUT_SIZE: usize = In::SIZE;
    /// Bytes the output buffer must hold at least.
    pub const OUTPUT_SIZE: usize = Out::SIZE;
}

impl<In, Out> Ioctl<In, Out> {
    /// A typed IOCTL for `code`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn new(code: IoControlCode) -> Self {
        Self {
            code,
            _buffers: PhantomData,
        }
    }

    /// The control code.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn code(self) -> IoControlCode {
        self.code
    }
}

/// Defines a typed IOCTL constant.
///
/// ```
/// use wdm_compat::define_ioctl;
/// // METHOD_BUFFERED and FILE_ANY_ACCESS unless told otherwise.
/// define_ioctl!(IOCTL_ECHO, 0x8000, 0x800, u32 => u32);
/// assert_eq!(IOCTL_ECHO.code().to_raw(), 0x8000_2000);
///
/// define_ioctl!(
///     /// Read a block.
///     pub IOCTL_READ_DATA, 0x8000u16, 0x801u16, u32 => [u8; 16],
///     method = OutDirect,
///     access = Read,
/// );
/// assert_eq!(IOCTL_READ_DATA.code().to_raw(), 0x8000_6006);
/// ```
///
/// A function number that does not fit in 12 bits does not compile:
///
/// ```compile_fail
/// wdm_compat::define_ioctl!(IOCTL_BAD, 0x8000, 0x1000, u32 => u32);
/// ```
///
/// `types = (In, Out)` also names the buffer types, as aliases a client and a driver can
/// share. The names are the author's: deriving `IoctlEchoInput` from `IOCTL_ECHO` would need a
/// procedural macro (or the `paste` crate), a dependency the crate does without. Without the
/// clause the types are still reachable as `IOCTL_ECHO`'s [`Ioctl`] parameters.
///
/// ```
/// # #[derive(Clone, Copy)] #[repr(C)] pub struct EchoRequest { value: u32 }
/// # wdm_compat::io_buffer_struct!(EchoRequest { value: u32 });
/// wdm_compat::define_ioctl!(
///     pub IOCTL_ECHO, 0x8000, 0x800, EchoRequest => u32,
///     types = (EchoInput, EchoOutput),
/// );
/// let input: EchoInput = EchoRequest { value: 7 };
/// let output: EchoOutput = input.value;
/// assert_eq!(output, 7);
/// assert_eq!(<EchoInput as wdm_compat::ioctl::IoBuffer>::SIZE, 4);
/// ```
#[macro_export]
macro_rules! define_ioctl {
    (
        $(#[$meta:meta])* $vis:vis $name:ident, $device:expr, $function:expr,
        $input:ty => $output:ty
        $(, method = $method:ident)? $(, access = $access:ident)?
        , types = ($in_alias:ident, $out_alias:ident) $(,)?
    ) => {
        $crate::define_ioctl!(
            $(#[$meta])* $vis $name, $device, $function, $input => $output
            $(, method = $method)? $(, access = $access)?
        );
        #[doc = concat!("The input buffer of `", stringify!($name), "`.")]
        $vis type $in_alias = $input;
        #[doc = concat!("The output buffer of `", stringify!($name), "`.")]
        $vis type $out_alias = $output;
    };
    (
        $(#[$meta:meta])* $vis:vis $name:ident, $device:expr, $function:expr,
        $input:ty => $output:ty
        $(, method = $method:ident)? $(, access = $access:ident)? $(,)?
    ) => {
        $(#[$meta])*
        $vis const $name: $crate::ioctl::Ioctl<$input, $output> = {
            #[allow(unused_variables, unused_mut)]
            let mut method = $crate::ioctl::TransferMethod::Buffered;
            $(let method = $crate::ioctl::TransferMethod::$method;)?
            #[allow(unused_variables, unused_mut)]
            let mut access = $crate::ioctl::RequiredAccess::Any;
            $(let access = $crate::ioctl::RequiredAccess::$access;)?
            $crate::ioctl::Ioctl::new($crate::ioctl::IoControlCode::new(
                $device, $function, method, access,
            ))
        };
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctl_code_packs_the_fields_as_the_header_does() {
        let code = IoControlCode::new(0x22, 0x800, TransferMethod::Buffered, RequiredAccess::Any);
        assert_eq!(code.to_raw(), 0x0022_2000);
        let code = IoControlCode::from_raw(0x0022_0003);
        assert_eq!(code.device_type(), 0x22);
        assert_eq!(code.method(), TransferMethod::Neither);
        assert_eq!(code.access(), RequiredAccess::Any);
        assert_eq!(code.function(), 0);
    }

    #[test]
    fn every_method_and_access_round_trips() {
        let methods = [
            TransferMethod::Buffered,
            TransferMethod::InDirect,
            TransferMethod::OutDirect,
            TransferMethod::Neither,
        ];
        let accesses = [
            RequiredAccess::Any,
            RequiredAccess::Read,
            RequiredAccess::Write,
            RequiredAccess::ReadWrite,
        ];
        for method in methods {
            for access in accesses {
                let code = IoControlCode::new(0x8123, 0xABC, method, access);
                assert_eq!(code.method(), method);
                assert_eq!(code.access(), access);
                assert_eq!(code.device_type(), 0x8123);
                assert_eq!(code.function(), 0xABC);
            }
        }
    }

    #[test]
    fn try_new_refuses_a_function_wider_than_12_bits() {
        let wide = IoControlCode::try_new(
            0x8000,
            0x1000,
            TransferMethod::Buffered,
            RequiredAccess::Any,
        );
        assert_eq!(wide, None);
        assert!(
            IoControlCode::try_new(0x8000, 0xFFF, TransferMethod::Buffered, RequiredAccess::Any)
                .is_some()
        );
    }

    #[test]
    fn vendor_ranges_are_checked_apart() {
        let both = IoControlCode::new(0x8000, 0x800, TransferMethod::Buffered, RequiredAccess::Any);
        assert!(both.has_vendor_device_type() && both.has_vendor_function());
        // A vendor function on a Microsoft device type (FILE_DEVICE_UNKNOWN),
        // and the other way round: each is vendor space on its own.
        let function_only =
            IoControlCode::new(0x22, 0x800, TransferMethod::Buffered, RequiredAccess::Any);
        assert!(!function_only.has_vendor_device_type() && function_only.has_vendor_function());
        assert!(function_only.is_vendor_defined());
        let type_only =
            IoControlCode::new(0x8000, 0x7FF, TransferMethod::Buffered, RequiredAccess::Any);
        assert!(type_only.has_vendor_device_type() && !type_only.has_vendor_function());
        assert!(type_only.is_vendor_defined());
        let neither =
            IoControlCode::new(0x7FFF, 0x7FF, TransferMethod::Buffered, RequiredAccess::Any);
        assert!(!neither.is_vendor_defined());
    }

    #[test]
    fn vendor_space_is_the_common_or_custom_bit() {
        let ours = IoControlCode::new(0x8000, 0x800, TransferMethod::Buffered, RequiredAccess::Any);
        let microsoft = IoControlCode::from_raw(0x0022_0003);
        assert!(ours.is_vendor_defined());
        assert!(!microsoft.is_vendor_defined());
    }

    #[test]
    fn io_buffers_refuse_short_bytes_and_write_nothing_then() {
        assert_eq!(u32::read_from(&[1, 2, 3]), None);
        assert_eq!(
            u32::read_from(&[0xEF, 0xBE, 0xAD, 0xDE, 9]),
            Some(0xDEAD_BEEF)
        );
        let mut short = [7u8; 3];
        assert_eq!(0xDEAD_BEEFu32.write_to(&mut short), None);
        assert_eq!(short, [7, 7, 7]);
        let mut out = [0u8; 4];
        assert_eq!(0xDEAD_BEEFu32.write_to(&mut out), Some(4));
        assert_eq!(out, [0xEF, 0xBE, 0xAD, 0xDE]);
        assert_eq!(<[u8; 2]>::read_from(&[5]), None);
        assert_eq!(<()>::read_from(&[]), Some(()));
    }
}
