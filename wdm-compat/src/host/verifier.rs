//! What the simulated verifier reports.

use core::fmt;
use std::string::String;

use super::irql;
use super::major;

/// A bug check Windows would raise: the code and its four parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BugCheck {
    /// The bug check code, e.g. `0xC9` (DRIVER_VERIFIER_IOMANAGER_VIOLATION) or `0x44`
    /// (MULTIPLE_IRP_COMPLETE_REQUESTS).
    pub code: u32,
    /// P1–P4. For 0xC9, P1 is the subcode (e.g. `0x23D`); for 0x44, P1 is the IRP's id in the
    /// simulation.
    pub params: [usize; 4],
}

impl BugCheck {
    /// P1, the subcode of bug checks that have one (0xC9, 0xC4).
    #[must_use]
    pub const fn subcode(&self) -> usize {
        self.params[0]
    }
}

impl fmt::Display for BugCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            0xC9 | 0xC4 => write!(f, "0x{:X}/0x{:X}", self.code, self.subcode()),
            _ => write!(f, "0x{:X}", self.code),
        }
    }
}

/// How serious a violation is, following the Driver Verifier classes of the 0xC9 subcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViolationSeverity {
    /// A bug check: Windows stops.
    Fatal,
    /// A non-fatal Driver Verifier error (the system breaks into the debugger).
    NonFatal,
    /// A warning: reported, but never fails a test in strict mode.
    Warning,
}

/// One verifier report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The SDV rule the violation breaks, when one exists (e.g. `"DoubleCompletion"`).
    pub rule: Option<&'static str>,
    /// The bug check Windows with Driver Verifier would raise, when there is one.
    pub bug_check: Option<BugCheck>,
    /// Fatal, non-fatal or warning.
    pub severity: ViolationSeverity,
    /// The service name of the driver at fault (empty if the simulation cannot tell).
    pub driver: String,
    /// The major function of the IRP involved, if any.
    pub major: Option<u8>,
    /// What happened, in words.
    pub message: String,
}

impl Violation {
    /// Whether this is bug check `code` with P1 `subcode` (for 0xC9 / 0xC4 reports).
    #[must_use]
    pub fn is_verifier(&self, code: u32, subcode: usize) -> bool {
        self.bug_check
            .is_some_and(|check| check.code == code && check.subcode() == subcode)
    }

    /// Whether this is bug check `code` (any parameters).
    #[must_use]
    pub fn is_bug_check(&self, code: u32) -> bool {
        self.bug_check.is_some_and(|check| check.code == code)
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            ViolationSeverity::Fatal => f.write_str("[fatal")?,
            ViolationSeverity::NonFatal => f.write_str("[error")?,
            ViolationSeverity::Warning => f.write_str("[warning")?,
        }
        if let Some(check) = self.bug_check {
            write!(f, " bug check {check}")?;
        }
        if let Some(rule) = self.rule {
            write!(f, " rule {rule}")?;
        }
        f.write_str("] ")?;
        if !self.driver.is_empty() {
            write!(f, "driver {}", self.driver)?;
        }
        if let Some(code) = self.major {
            write!(f, ", {}", major::name(code))?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A violation as found, before the manager fills in the driver's name.
pub(super) struct Report {
    pub(super) rule: Option<&'static str>,
    pub(super) bug_check: Option<(u32, [usize; 4])>,
    pub(super) severity: ViolationSeverity,
    pub(super) driver: Option<super::DriverId>,
    pub(super) major: Option<u8>,
    pub(super) message: String,
}

/// `DRIVER_VERIFIER_IOMANAGER_VIOLATION`.
pub(super) const IO_VERIFIER: u32 = 0xC9;

impl Report {
    /// A 0xC9 report with subcode `subcode`.
    pub(super) fn io(
        subcode: usize,
        rule: Option<&'static str>,
        severity: ViolationSeverity,
        message: String,
    ) -> Self {
        Self {
            rule,
            bug_check: Some((IO_VERIFIER, [subcode, 0, 0, 0])),
            severity,
            driver: None,
            major: None,
            message,
        }
    }

    /// Attributes the report to `driver` and `major`.
    pub(super) const fn at(mut self, driver: Option<super::DriverId>, major: Option<u8>) -> Self {
        self.driver = driver;
        self.major = major;
        self
    }
}

/// Reports a panic in driver code as bug check 0x1E (KMODE_EXCEPTION_NOT_HANDLED) to the
/// manager whose driver code this thread is running.
pub(crate) fn report_driver_panic_current(message: &str) {
    irql::with_current(|manager| {
        manager.report_driver_panic(message);
    });
}

/// Records a bug check raised by driver-side code of the manager this thread is running.
pub(crate) fn report_bug_check_current(code: u32, params: [usize; 4], message: &str) {
    irql::with_current(|manager| {
        manager.report_bug_check(code, params, message);
    });
}

/// Records a bug check raised by driver-side code, naming the SDV rule broken, without
/// stopping that code (for checks made where unwinding is not allowed, such as in a `Drop`).
pub(crate) fn report_rule_bug_check_current(
    rule: &'static str,
    code: u32,
    params: [usize; 4],
    message: &str,
) {
    irql::with_current(|manager| {
        manager.report_rule_bug_check(Some(rule), code, params, message);
    });
}

/// Reports a bug check naming the SDV rule broken, and stops the driver code (see
/// [`BugCheckRaised`]).
pub(crate) fn rule_bug_check_current(
    rule: &'static str,
    code: u32,
    params: [usize; 4],
    message: &str,
) -> ! {
    report_rule_bug_check_current(rule, code, params, message);
    std::panic::resume_unwind(std::boxed::Box::new(BugCheckRaised))
}

/// Whether the allocation driver code on this thread is making is refused: the simulation's
/// low-resources countdown ([`IoManager::fail_allocation`](crate::host::IoManager::fail_allocation)),
/// or an allocation above DISPATCH_LEVEL, where the pool cannot be used (SDV
/// IrqlExAllocatePool; Driver Verifier's DDI compliance check 0xC4/0x20004). That one is
/// reported and refused, so the driver sees a failed allocation rather than a corrupted pool.
pub(crate) fn allocation_refused_current() -> bool {
    let irql = irql::current_irql();
    if irql > 2 {
        report_rule_bug_check_current(
            "IrqlExAllocatePool",
            0xC4,
            [0x0002_0004, usize::from(irql), 0, 0],
            &std::format!("a pool allocation at IRQL {irql}, above DISPATCH_LEVEL"),
        );
        return true;
    }
    irql::with_current(super::IoManager::take_refused_allocation).unwrap_or(false)
}

/// A paged-pool allocation above APC_LEVEL, where paged memory may not be touched: reported
/// (SDV IrqlExAllocatePool; Driver Verifier's 0xC4/0x20004) and refused.
pub(crate) fn paged_allocation_refused_current() -> bool {
    let irql = irql::current_irql();
    if irql > 1 {
        report_rule_bug_check_current(
            "IrqlExAllocatePool",
            0xC4,
            [0x0002_0004, usize::from(irql), 0, 0],
            &std::format!("a paged pool allocation at IRQL {irql}, above APC_LEVEL"),
        );
        return true;
    }
    false
}

/// Counts a tagged pool block in, for the driver whose code this thread runs.
pub(crate) fn pool_allocated_current(address: usize, tag: u32, size: usize) {
    let driver = irql::current_driver();
    irql::with_current(|manager| manager.pool_allocated(driver, address, tag, size));
}

/// Counts a tagged pool block out, from whichever driver allocated it.
pub(crate) fn pool_freed_current(address: usize) {
    irql::with_current(|manager| manager.pool_freed(address));
}

/// A paged block touched or freed above APC_LEVEL: reported (Driver Verifier's 0xC4/0x11 for a
/// free at a bad IRQL; a touch would page-fault).
pub(crate) fn paged_access_refused_current(what: &str) -> bool {
    let irql = irql::current_irql();
    if irql > 1 {
        report_rule_bug_check_current(
            "IrqlExAllocatePool",
            0xC4,
            [0x11, usize::from(irql), 0, 0],
            &std::format!("{what} a paged pool block at IRQL {irql}, above APC_LEVEL"),
        );
        return true;
    }
    false
}

/// The unwinding payload of a bug check the simulated kernel raised (and already reported)
/// while driver code ran: on Windows the machine stops there; here the driver code is unwound
/// to the panic guard of the routine the simulation called, which stops it without reporting
/// it again as a panic.
#[derive(Debug)]
pub struct BugCheckRaised;

/// Reports a bug check in the driver code this thread is running and stops that code: it
/// does not return (see [`BugCheckRaised`]).
pub(crate) fn bug_check_current(code: u32, params: [usize; 4], message: &str) -> ! {
    report_bug_check_current(code, params, message);
    std::panic::resume_unwind(std::boxed::Box::new(BugCheckRaised))
}

/// `DbgPrint` from driver code: appended to the trace of the manager this thread is running
/// (echoed to stderr when `WDF_SAFE_TRACE=1`); outside driver code, only echoed.
pub(crate) fn dbg_print_current(text: &str) {
    if irql::with_current(|manager| manager.dbg_print(text)).is_none()
        && std::env::var("WDF_SAFE_TRACE").is_ok_and(|v| v == "1")
    {
        std::eprintln!("{}", text.trim_end_matches(['\n', '\r']));
    }
}

/// Reports a violation found by a framework layered on this simulation (the simulated KMDF of
/// `wdf-safe`), to the manager whose driver code this thread is running: `rule` is the SDV rule
/// name, `bug_check` the bug check Windows would raise (for example `(0x10D, [6, 4, 0, 0])`),
/// `fatal` whether it fails the test in strict mode (a KMDF verifier break or bug check) or is
/// only a warning. Returns `false` when no driver code is running on this thread, so there is
/// no manager to report to.
pub fn report_framework_violation(
    rule: &'static str,
    bug_check: Option<(u32, [usize; 4])>,
    fatal: bool,
    message: &str,
) -> bool {
    irql::with_current(|manager| {
        manager.report(Report {
            rule: Some(rule),
            bug_check,
            severity: if fatal {
                ViolationSeverity::Fatal
            } else {
                ViolationSeverity::Warning
            },
            driver: None,
            major: None,
            message: message.into(),
        });
    })
    .is_some()
}

/// The simulated IRQL of this thread (PASSIVE_LEVEL 0, DISPATCH_LEVEL 2), for frameworks
/// layered on the simulation.
#[must_use]
pub fn current_irql() -> u8 {
    irql::current_irql()
}

/// Whether driver code on this thread holds a spin lock (raised the IRQL to DISPATCH_LEVEL),
/// for frameworks layered on the simulation (SDV ReqSendWhileSpinlock).
#[must_use]
pub fn spin_lock_held() -> bool {
    irql::spin_lock_held()
}
