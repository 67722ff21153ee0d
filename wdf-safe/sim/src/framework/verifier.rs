//! What KMDF's verifier says, as reports to the I/O manager's verifier.
//!
//! KMDF has three ways to object (shared/inc/private/common/fxverifier.h,
//! shared/object/fxverifierbugcheck.cpp): a bug check `WDF_VIOLATION` (0x10D) with a subcode
//! from `wdfbugcodes.h`, whether or not the verifier is on; a verifier break
//! (`FxVerifierDbgBreakPoint`: a trace and, with the verifier on, a break into the debugger),
//! after which the DDI returns a failure status or nothing; and a failure status alone. The
//! first is a fatal report here, the second a non-fatal one (both fail a test in strict mode),
//! the third only a status.

use std::format;

use wdm_compat::host::ViolationSeverity;

use super::Cx;
use super::objects::Kind;

/// `WDF_VIOLATION`.
pub(crate) const WDF_VIOLATION: u32 = 0x10D;
/// `WDF_REQUIRED_PARAMETER_IS_NULL`.
pub(crate) const REQUIRED_PARAMETER_IS_NULL: usize = 0x4;
/// `WDF_INVALID_HANDLE`.
pub(crate) const INVALID_HANDLE: usize = 0x5;
/// `WDF_REQUEST_FATAL_ERROR`.
pub(crate) const REQUEST_FATAL_ERROR: usize = 0x6;
/// `WDF_REQUEST_FATAL_ERROR_INFORMATION_LENGTH_MISMATCH`.
pub(crate) const INFORMATION_LENGTH_MISMATCH: usize = 0x4;

impl Kind {
    /// The `FX_TYPE_*` value KMDF puts in P3 of `WDF_INVALID_HANDLE`
    /// (shared/inc/private/common/fxtypes.h; a device init is not an object: 0).
    const fn fx_type(self) -> usize {
        match self {
            Self::Driver => 0x1001,
            Self::Device => 0x1002,
            Self::Queue => 0x1003,
            Self::Request => 0x1008,
            Self::FileObject => 0x1018,
            Self::WaitLock => 0x1023,
            Self::Timer => 0x1028,
            Self::WorkItem => 0x1025,
            Self::Key => 0x1006,
            Self::Lookaside => 0x1009,
            // IFX_TYPE_MEMORY, the interface every WDFMEMORY is looked up by.
            Self::Memory => 0x100A,
            Self::IoTarget => 0x1200,
            Self::DeviceInit => 0,
        }
    }
}

impl Cx {
    /// A `WDF_VIOLATION` bug check.
    pub(crate) fn bug_check(&self, rule: Option<&'static str>, params: [usize; 4], message: &str) {
        self.kernel.report(
            rule,
            Some((WDF_VIOLATION, params)),
            ViolationSeverity::Fatal,
            message,
        );
    }

    /// A verifier break (`FxVerifierDbgBreakPoint`).
    pub(crate) fn verifier_break(&self, rule: Option<&'static str>, message: &str) {
        self.kernel
            .report(rule, None, ViolationSeverity::NonFatal, message);
    }

    /// `FxObjectHandleGetPtr` on a handle that names no live object of `kind`.
    pub(crate) fn invalid_handle(&self, ddi: &str, raw: usize, kind: Kind) {
        self.bug_check(
            None,
            [INVALID_HANDLE, raw, kind.fx_type(), 0],
            &format!(
                "{ddi}: {raw:#x} is not a live {} (WDF_INVALID_HANDLE)",
                kind.name()
            ),
        );
    }

    /// `FxPointerNotNull` on a required parameter.
    pub(crate) fn null_parameter(&self, ddi: &str, parameter: &str) {
        self.bug_check(
            None,
            [REQUIRED_PARAMETER_IS_NULL, 0, 0, 0],
            &format!(
                "{ddi}: the required parameter {parameter} is NULL (WDF_REQUIRED_PARAMETER_IS_NULL)"
            ),
        );
    }

    /// A structure whose `Size` is not the KMDF 1.33 size.
    pub(crate) fn size_mismatch(&self, ddi: &str, structure: &str, size: usize, expected: usize) {
        self.verifier_break(
            None,
            &format!(
                "{ddi}: {structure}.Size is {size}, not the {expected} of KMDF 1.33 \
                 (STATUS_INFO_LENGTH_MISMATCH)"
            ),
        );
    }

    /// `FxVerifierCheckIrqlLevel`: `true` when the current IRQL is at most `max`; otherwise a
    /// verifier break, and the DDI fails with `STATUS_INVALID_DEVICE_REQUEST`.
    pub(crate) fn check_irql(&self, ddi: &str, max: u8) -> bool {
        let irql = self.irql();
        if irql <= max {
            return true;
        }
        self.verifier_break(
            Some("KmdfIrql"),
            &format!("{ddi}: called at wrong IRQL; at level {irql}, should be at level {max}"),
        );
        false
    }
}
