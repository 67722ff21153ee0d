//! Per-thread simulated state: the IRQL, the raises driver code made, and the I/O manager whose
//! driver code this thread is running (for the calls that have no object to find it from).

use std::cell::{Cell, RefCell};
use std::vec::Vec;

use super::DriverId;
use super::irql_level::DISPATCH_LEVEL;
use super::manager::IoManager;
use super::verifier::{Report, ViolationSeverity};

std::thread_local! {
    static IRQL: Cell<u8> = const { Cell::new(0) };
    /// `KeRaiseIrql` calls made by driver code and not yet undone (the stand-in for "a spin lock
    /// is held").
    static RAISES: Cell<usize> = const { Cell::new(0) };
    /// The managers whose driver code this thread is running, innermost last.
    static CURRENT: RefCell<Vec<(IoManager, Option<DriverId>)>> = const { RefCell::new(Vec::new()) };
}

/// `KeGetCurrentIrql`.
pub(crate) fn current_irql() -> u8 {
    IRQL.with(Cell::get)
}

/// Sets the thread's IRQL (the simulation's own transitions, not driver raises).
pub(super) fn set_irql(irql: u8) {
    IRQL.with(|cell| cell.set(irql));
}

/// The number of outstanding driver raises.
pub(super) fn raises() -> usize {
    RAISES.with(Cell::get)
}

/// Restores the number of outstanding driver raises (after a dispatch routine that left one).
pub(super) fn set_raises(count: usize) {
    RAISES.with(|cell| cell.set(count));
}

/// Whether driver code on this thread holds a (simulated) spin lock: it raised the IRQL to
/// DISPATCH_LEVEL or above with `KeRaiseIrql` and has not lowered it yet.
pub(super) fn spin_lock_held() -> bool {
    raises() > 0 && current_irql() >= DISPATCH_LEVEL
}

/// `KeRaiseIrql(new)`: returns the previous IRQL. Raising to a lower IRQL is reported
/// (SDV IrqlKeRaiseLower; bug check 0x09 IRQL_NOT_GREATER_OR_EQUAL).
pub(crate) fn raise_irql(new: u8) -> u8 {
    let old = current_irql();
    if new < old {
        with_current(|manager| {
            manager.report(Report {
                rule: Some("IrqlKeRaiseLower"),
                bug_check: Some((0x09, [usize::from(old), usize::from(new), 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: None,
                major: None,
                message: std::format!("KeRaiseIrql to {new} from the higher IRQL {old}"),
            });
        });
    }
    set_irql(new);
    RAISES.with(|cell| cell.set(cell.get().saturating_add(1)));
    old
}

/// `KeLowerIrql(old)`. Lowering to a higher IRQL is reported (SDV IrqlKeRaiseLower; bug check
/// 0x0A IRQL_NOT_LESS_OR_EQUAL).
pub(crate) fn lower_irql(old: u8) {
    let current = current_irql();
    if old > current {
        with_current(|manager| {
            manager.report(Report {
                rule: Some("IrqlKeRaiseLower"),
                bug_check: Some((0x0A, [usize::from(current), usize::from(old), 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: None,
                major: None,
                message: std::format!("KeLowerIrql to {old} from the lower IRQL {current}"),
            });
        });
    }
    set_irql(old);
    RAISES.with(|cell| cell.set(cell.get().saturating_sub(1)));
}

/// Runs `f` with the innermost manager whose driver code this thread is running, if any.
pub(super) fn with_current<R>(f: impl FnOnce(&IoManager) -> R) -> Option<R> {
    let manager = CURRENT.with(|stack| stack.borrow().last().map(|(m, _)| m.clone()));
    manager.as_ref().map(f)
}

/// Whether this thread is inside driver code of some manager.
pub(super) fn in_driver_code() -> bool {
    CURRENT.with(|stack| !stack.borrow().is_empty())
}

/// The driver whose code this thread is running (innermost), if known.
pub(super) fn current_driver() -> Option<DriverId> {
    CURRENT.with(|stack| stack.borrow().last().and_then(|(_, d)| *d))
}

/// Marks this thread as running code of `driver` in `manager` until the guard is dropped.
pub(super) fn enter(manager: &IoManager, driver: Option<DriverId>) -> EnterGuard {
    CURRENT.with(|stack| stack.borrow_mut().push((manager.clone(), driver)));
    EnterGuard(())
}

/// Undoes [`enter`] when dropped.
pub(super) struct EnterGuard(());

impl Drop for EnterGuard {
    fn drop(&mut self) {
        CURRENT.with(|stack| {
            stack.borrow_mut().pop();
        });
    }
}
