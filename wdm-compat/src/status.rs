//! `NTSTATUS` as a type of its own.
//!
//! An `NTSTATUS` is a 32-bit value laid out as (ntdef.h, "Using NTSTATUS Values" on Learn):
//!
//! | bits | field |
//! |---|---|
//! | 31–30 | severity: 0 success, 1 informational, 2 warning, 3 error |
//! | 29 | customer bit |
//! | 28 | reserved |
//! | 27–16 | facility |
//! | 15–0 | code |
//!
//! `NT_SUCCESS(s)` is `s >= 0`: success *and* informational values count as success.

use core::fmt;

/// An `NTSTATUS` value.
///
/// Every dispatch path in this project reports its outcome as an `NtStatus`; nothing panics.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct NtStatus(i32);

/// `STATUS_PENDING`'s value.
const PENDING_VALUE: i32 = 0x0000_0103;

/// The type of [`NtStatus::PENDING`]: `STATUS_PENDING`, which no completion may carry, so it is
/// not an [`NtStatus`] until converted with [`Pending::status`] (what the simulation and scripted
/// drivers, which model the kernel's side, use).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pending;

impl Pending {
    /// The status value, as an [`NtStatus`].
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn status(self) -> NtStatus {
        NtStatus(PENDING_VALUE)
    }
}

impl PartialEq<Pending> for NtStatus {
    fn eq(&self, _: &Pending) -> bool {
        self.is_pending()
    }
}

impl PartialEq<NtStatus> for Pending {
    fn eq(&self, other: &NtStatus) -> bool {
        other.is_pending()
    }
}

/// The four severities an `NTSTATUS` can carry (its top two bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// `STATUS_SEVERITY_SUCCESS` (0).
    Success,
    /// `STATUS_SEVERITY_INFORMATIONAL` (1).
    Informational,
    /// `STATUS_SEVERITY_WARNING` (2).
    Warning,
    /// `STATUS_SEVERITY_ERROR` (3).
    Error,
}

/// `Result` whose error is an [`NtStatus`].
pub type NtResult<T = ()> = Result<T, NtStatus>;

// The table behind the constants and the symbolic names: one line per status drivers use.
macro_rules! statuses {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        impl NtStatus {
            $(
                $(#[$doc])*
                // The literals are written as the unsigned values the headers show.
                #[allow(clippy::cast_possible_wrap)]
                pub const $name: Self = Self($value as u32 as i32);
            )*
        }

        /// The symbolic name of a known status, as the headers spell it.
        const fn symbolic_name(status: NtStatus) -> Option<&'static str> {
            match status.0 as u32 {
                $($value => Some(concat!("STATUS_", stringify!($name))),)*
                _ => None,
            }
        }
    };
}

statuses! {
    /// The operation completed successfully.
    SUCCESS = 0x0000_0000;
    /// A completion routine wants the IRP back; completion stops at this routine.
    MORE_PROCESSING_REQUIRED = 0xC000_0016;
    /// The data was too large for the buffer; the buffer holds as much as fit.
    BUFFER_OVERFLOW = 0x8000_0005;
    /// No more entries (for example, an empty manual queue).
    NO_MORE_ENTRIES = 0x8000_001A;
    /// A generic failure.
    UNSUCCESSFUL = 0xC000_0001;
    /// The request is not implemented.
    NOT_IMPLEMENTED = 0xC000_0002;
    /// A structure size did not match (`STATUS_INFO_LENGTH_MISMATCH`).
    INFO_LENGTH_MISMATCH = 0xC000_0004;
    /// A handle was invalid.
    INVALID_HANDLE = 0xC000_0008;
    /// A parameter was invalid.
    INVALID_PARAMETER = 0xC000_000D;
    /// The device does not exist.
    NO_SUCH_DEVICE = 0xC000_000E;
    /// The request is not valid for this device.
    INVALID_DEVICE_REQUEST = 0xC000_0010;
    /// End of file.
    END_OF_FILE = 0xC000_0011;
    /// Not enough memory or other resource.
    NO_MEMORY = 0xC000_0017;
    /// The caller lacks the access it asked for.
    ACCESS_DENIED = 0xC000_0022;
    /// The buffer is too small to hold the data; nothing was transferred.
    BUFFER_TOO_SMALL = 0xC000_0023;
    /// The object name is invalid.
    OBJECT_NAME_INVALID = 0xC000_0033;
    /// No object with that name exists.
    OBJECT_NAME_NOT_FOUND = 0xC000_0034;
    /// An object with that name exists already.
    OBJECT_NAME_COLLISION = 0xC000_0035;
    /// The object is of another type than asked for (a registry value of another type).
    OBJECT_TYPE_MISMATCH = 0xC000_0024;
    /// A path component does not exist.
    OBJECT_PATH_NOT_FOUND = 0xC000_003A;
    /// The object is in use by someone else (a keyboard filter connected twice).
    SHARING_VIOLATION = 0xC000_0043;
    /// The security descriptor is invalid.
    INVALID_SECURITY_DESCR = 0xC000_0079;
    /// System resources are exhausted.
    INSUFFICIENT_RESOURCES = 0xC000_009A;
    /// An arithmetic overflow, or a part of a buffer past its end (KMDF's check of a
    /// `WDFMEMORY_OFFSET`).
    INTEGER_OVERFLOW = 0xC000_0095;
    /// The device is busy.
    DEVICE_BUSY = 0x8000_0011;
    /// The request is not supported.
    NOT_SUPPORTED = 0xC000_00BB;
    /// An internal error occurred.
    INTERNAL_ERROR = 0xC000_00E5;
    /// The I/O request was cancelled.
    CANCELLED = 0xC000_0120;
    /// The object was not found.
    NOT_FOUND = 0xC000_0225;
    /// The device is not in a state in which it can take the request.
    INVALID_DEVICE_STATE = 0xC000_0184;
    /// The driver hit an internal error.
    DRIVER_INTERNAL_ERROR = 0xC000_0183;
    /// The I/O operation timed out.
    IO_TIMEOUT = 0xC000_00B5;
    /// The buffer size is not valid for the request (for example, larger than a driver's
    /// documented maximum).
    INVALID_BUFFER_SIZE = 0xC000_0206;
    /// The device has been removed.
    DEVICE_REMOVED = 0xC000_02B6;
    /// A delete is pending on the object (for example, a device being torn down).
    DELETE_PENDING = 0xC000_0056;
    /// The device is not ready.
    DEVICE_NOT_READY = 0xC000_00A3;
    /// The device could not be powered up (KMDF fails a start with it when the device's D0
    /// entry failed).
    DEVICE_POWER_FAILURE = 0xC000_028E;
    /// The name is too long.
    NAME_TOO_LONG = 0xC000_0106;
    /// The target does not accept the request (KMDF verifier: unformatted send).
    REQUEST_NOT_ACCEPTED = 0xC000_00D0;
    /// An object with that name exists already (a success code: the existing one is returned).
    OBJECT_NAME_EXISTS = 0x4000_0000;
    /// KMDF: the queue is stopped or powered off.
    WDF_PAUSED = 0xC020_0203;
    /// KMDF: the object is busy.
    WDF_BUSY = 0xC020_0204;
    /// KMDF: a sequential or parallel queue was configured without any I/O callback.
    WDF_NO_CALLBACK = 0xC020_020B;
    /// KMDF: the request was queued at a stopped I/O target.
    WDF_QUEUED = 0x4020_0000;
    /// KMDF: a framework-internal error.
    WDF_INTERNAL_ERROR = 0xC020_0201;
    /// KMDF: the request is fragmented beyond what the DMA enabler handles.
    WDF_TOO_FRAGMENTED = 0xC020_020A;
    /// KMDF: the object attributes are invalid (a context size without a name, bad enums…).
    WDF_OBJECT_ATTRIBUTES_INVALID = 0xC020_0209;
    /// KMDF: the attributes name a parent where none may be given.
    WDF_PARENT_ASSIGNMENT_NOT_ALLOWED = 0xC020_020F;
    /// KMDF: the attributes' synchronization scope is not allowed here.
    WDF_SYNCHRONIZATION_SCOPE_INVALID = 0xC020_0210;
    /// KMDF: the attributes' execution level is not allowed here.
    WDF_EXECUTION_LEVEL_INVALID = 0xC020_0211;
    /// KMDF: attributes were required and none were given.
    WDF_PARENT_NOT_SPECIFIED = 0xC020_0212;
    /// KMDF: more transfers than the DMA enabler allows.
    WDF_TOO_MANY_TRANSFERS = 0xC020_0213;
    /// KMDF: not enough map registers for the transfer.
    WDF_NOT_ENOUGH_MAP_REGISTERS = 0xC020_0214;
}

impl NtStatus {
    /// Wraps a raw `NTSTATUS`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn from_raw(raw: i32) -> Self {
        Self(raw)
    }

    /// Wraps a raw `NTSTATUS` given as the unsigned value the headers print.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_possible_wrap)]
    pub const fn from_u32(raw: u32) -> Self {
        Self(raw as i32)
    }

    /// The raw `NTSTATUS`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn to_raw(self) -> i32 {
        self.0
    }

    /// The raw value as the unsigned number the headers print (`0xC0000023`).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_sign_loss)]
    pub const fn to_u32(self) -> u32 {
        self.0 as u32
    }

    /// `NT_SUCCESS`: success or informational.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 >= 0
    }

    /// `NT_INFORMATION`: severity informational.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_information(self) -> bool {
        matches!(self.severity(), Severity::Informational)
    }

    /// `NT_WARNING`: severity warning.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_warning(self) -> bool {
        matches!(self.severity(), Severity::Warning)
    }

    /// `NT_ERROR`: severity error.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_error(self) -> bool {
        matches!(self.severity(), Severity::Error)
    }

    /// The severity in the top two bits.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn severity(self) -> Severity {
        match self.to_u32() >> 30 {
            0 => Severity::Success,
            1 => Severity::Informational,
            2 => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether the customer bit (29) is set: a driver-defined status.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_customer(self) -> bool {
        self.to_u32() & (1 << 29) != 0
    }

    /// The facility (bits 27–16), for example 0x020 for KMDF's `FACILITY_DRIVER_FRAMEWORK`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub const fn facility(self) -> u16 {
        ((self.to_u32() >> 16) & 0x0FFF) as u16
    }

    /// The code (bits 15–0).
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub const fn code(self) -> u16 {
        (self.to_u32() & 0xFFFF) as u16
    }

    /// The header's name for this status (`"STATUS_BUFFER_TOO_SMALL"`), if it is one this crate
    /// knows.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        if self.is_pending() {
            return Some("STATUS_PENDING");
        }
        symbolic_name(self)
    }

    /// `STATUS_PENDING` (0x103): the operation completes later. Only a dispatch routine that
    /// marked its IRP pending returns it, and nothing is ever completed with it (Driver
    /// Verifier bug check 0xC9/0x06).
    ///
    /// It has a type of its own, [`Pending`], so that a completion with it does not compile:
    ///
    /// ```compile_fail
    /// # use wdm_compat::{DispatchStatus, Irp, NtStatus};
    /// fn on_read(irp: Irp) -> DispatchStatus {
    ///     irp.complete(NtStatus::PENDING) // expected `NtStatus`, found `Pending`
    /// }
    /// ```
    ///
    /// A dispatch routine pends with [`Irp::mark_pending`](crate::Irp::mark_pending) instead;
    /// compare with it (`status == NtStatus::PENDING`) or ask [`is_pending`](Self::is_pending).
    pub const PENDING: Pending = Pending;

    /// What a completion asked to carry `self` completes with: `self`, unless it is
    /// `STATUS_PENDING` (a value computed at run time; the constant does not compile as a
    /// completion status) or `0xFFFFFFFF`, which no IRP may be completed with (Driver Verifier
    /// bug check 0xC9/0x06). Those are refused with a trace line and become
    /// `STATUS_INTERNAL_ERROR`, so the request still finishes, and the dispatch routine returns
    /// what it was completed with. Every completion of both crates goes through this.
    ///
    /// IRQL: any: a pure computation (the trace line is `kd_print!`, callable at any IRQL
    /// ≤ DISPATCH_LEVEL).
    #[must_use]
    pub fn for_completion(self) -> Self {
        if self.is_pending() || self.0 == -1 {
            crate::kd_print!(
                "completing with {self} refused: not a final status; completed with STATUS_INTERNAL_ERROR"
            );
            return Self::INTERNAL_ERROR;
        }
        self
    }

    /// Whether this is `STATUS_PENDING`.
    ///
    /// IRQL: any: a pure computation.
    #[must_use]
    pub const fn is_pending(self) -> bool {
        self.0 == PENDING_VALUE
    }

    /// `Ok(())` for a success status ([`NtStatus::is_success`]), otherwise `Err(self)`.
    ///
    /// # Errors
    ///
    /// Returns the status itself when it is a warning or an error.
    ///
    /// IRQL: any: a pure computation.
    pub const fn ok(self) -> NtResult {
        if self.is_success() { Ok(()) } else { Err(self) }
    }
}

/// Turns a status into a `Result`: `Ok(())` for success and informational values.
///
/// # Errors
///
/// Returns `status` when it is a warning or an error.
///
/// IRQL: any: a pure computation.
pub const fn to_result(status: NtStatus) -> NtResult {
    status.ok()
}

impl From<NtStatus> for i32 {
    fn from(status: NtStatus) -> Self {
        status.0
    }
}

impl From<i32> for NtStatus {
    fn from(raw: i32) -> Self {
        Self(raw)
    }
}

impl From<NtResult> for NtStatus {
    fn from(result: NtResult) -> Self {
        match result {
            Ok(()) => Self::SUCCESS,
            Err(status) => status,
        }
    }
}

impl fmt::Debug for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({:#010X})", self.to_u32()),
            None => write!(f, "NTSTATUS({:#010X})", self.to_u32()),
        }
    }
}

impl fmt::Display for NtStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{:#010X}", self.to_u32()),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::format;

    use super::*;

    #[test]
    fn success_and_informational_count_as_success() {
        assert!(NtStatus::SUCCESS.is_success());
        assert!(NtStatus::PENDING.status().is_success());
        assert!(NtStatus::OBJECT_NAME_EXISTS.is_success());
        assert!(NtStatus::OBJECT_NAME_EXISTS.is_information());
        assert!(!NtStatus::BUFFER_OVERFLOW.is_success());
        assert!(NtStatus::BUFFER_OVERFLOW.is_warning());
        assert!(NtStatus::BUFFER_TOO_SMALL.is_error());
        assert_eq!(NtStatus::BUFFER_TOO_SMALL.severity(), Severity::Error);
    }

    #[test]
    fn fields_decode_as_the_header_lays_them_out() {
        let s = NtStatus::WDF_PAUSED;
        assert_eq!(s.facility(), 0x020);
        assert_eq!(s.code(), 0x0203);
        assert!(!s.is_customer());
        assert!(NtStatus::from_u32(0xE000_0001).is_customer());
    }

    #[test]
    fn raw_conversions_round_trip() {
        let raw: i32 = NtStatus::INVALID_DEVICE_REQUEST.into();
        assert_eq!(raw, -1_073_741_808);
        assert_eq!(NtStatus::from(raw), NtStatus::INVALID_DEVICE_REQUEST);
        assert_eq!(NtStatus::from_u32(0xC000_0023), NtStatus::BUFFER_TOO_SMALL);
        assert_eq!(NtStatus::BUFFER_TOO_SMALL.to_u32(), 0xC000_0023);
    }

    #[test]
    fn names_show_in_debug_and_display() {
        assert_eq!(
            format!("{}", NtStatus::BUFFER_TOO_SMALL),
            "STATUS_BUFFER_TOO_SMALL"
        );
        assert_eq!(
            format!("{:?}", NtStatus::INVALID_DEVICE_REQUEST),
            "STATUS_INVALID_DEVICE_REQUEST (0xC0000010)"
        );
        assert_eq!(format!("{}", NtStatus::from_u32(0xC0DE_0001)), "0xC0DE0001");
        assert_eq!(
            format!("{:?}", NtStatus::from_u32(0xC0DE_0001)),
            "NTSTATUS(0xC0DE0001)"
        );
    }

    #[test]
    fn results_follow_nt_success() {
        assert_eq!(to_result(NtStatus::SUCCESS), Ok(()));
        assert_eq!(to_result(NtStatus::OBJECT_NAME_EXISTS), Ok(()));
        assert_eq!(to_result(NtStatus::CANCELLED), Err(NtStatus::CANCELLED));
        assert_eq!(
            NtStatus::from(Err::<(), _>(NtStatus::CANCELLED)),
            NtStatus::CANCELLED
        );
        assert_eq!(NtStatus::from(Ok::<(), NtStatus>(())), NtStatus::SUCCESS);
    }
}
