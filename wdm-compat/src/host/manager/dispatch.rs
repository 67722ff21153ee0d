//! `IoCallDriver` and the stack-location calls around it, and the verifier's checks when a
//! dispatch routine returns.

use std::format;
use std::sync::Arc;

use super::completion::is_bad_status;
use super::irps::{Holder, Phase, StackLoc};
use super::objects::{CompletionRoutine, DeviceObj, Dispatch, IrpObj};
use super::{IoManager, World};
use crate::host::irql::{self, current_irql};
use crate::host::irql_level::DISPATCH_LEVEL;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::host::{DeviceId, DriverId, IrpId, major};
use crate::status::NtStatus;
use crate::sys::{self, CompletionFn};

/// A dispatch routine running now: what the verifier remembers until it returns.
pub(super) struct Frame {
    pub(super) irp: IrpId,
    pub(super) location: usize,
    pub(super) driver: DriverId,
    pub(super) major: u8,
    /// What `IoCallDriver` returned, when this dispatch routine passed the IRP down.
    pub(super) forwarded: Option<NtStatus>,
    /// Whether it set a completion routine before passing the IRP down.
    pub(super) forwarded_with_routine: bool,
    /// The IRP was reported as dropped; the return checks are skipped.
    pub(super) leaked: bool,
    /// `IoMarkIrpPending` was called while this dispatch routine owned the IRP (the
    /// verifier's memory: the location's own bit may be shared with the driver below when the
    /// routine skipped its location to pass the IRP down, as KMDF's send-and-forget does).
    pub(super) marked: bool,
}

/// A dispatch call prepared under the lock and run without it.
struct PreparedCall {
    irp: IrpId,
    frame: usize,
    caller_frame: Option<usize>,
    device: DeviceId,
    device_obj: &'static DeviceObj,
    irp_obj: Arc<IrpObj>,
    driver: DriverId,
    dispatch: Option<Dispatch>,
}

#[allow(
    clippy::large_enum_variant,
    reason = "made and matched once per IoCallDriver, never stored: a box would cost more"
)]
enum Prepared {
    Call(PreparedCall),
    /// The I/O manager completes the IRP itself with this status.
    Fail(NtStatus),
    /// The IRP cannot be touched (already completed); return this status.
    Refuse(NtStatus),
}

impl IoManager {
    /// `IoCallDriver(target, irp)`.
    pub(crate) fn call_driver(&self, irp: IrpId, target: DeviceId) -> NtStatus {
        let irql = current_irql();
        let prepared = self.with_world(|w| w.prepare_call(irp, target, irql));
        let call = match prepared {
            Prepared::Refuse(status) => return status,
            Prepared::Fail(status) => {
                self.complete_internal(irp, status);
                return status;
            }
            Prepared::Call(call) => call,
        };
        let raises = irql::raises();
        let status = match call.dispatch {
            None => {
                // `IopInvalidDeviceRequest`, the I/O manager's default table entry.
                self.complete_internal(call.irp, NtStatus::INVALID_DEVICE_REQUEST);
                NtStatus::INVALID_DEVICE_REQUEST
            }
            Some(Dispatch::Native(f)) => {
                let _guard = irql::enter(self, Some(call.driver));
                NtStatus::from_raw(sys::host::call_dispatch(f, call.device_obj, &call.irp_obj))
            }
            Some(Dispatch::Scripted(f)) => {
                let (device, id) = (call.device, call.irp);
                self.run_script(Some(call.driver), |k| f(k, device, id))
                    .unwrap_or(NtStatus::INTERNAL_ERROR)
            }
        };
        let exit_irql = current_irql();
        self.with_world(|w| {
            if exit_irql != irql {
                let code = w.frames.get(&call.frame).map(|f| f.major);
                w.push(Report {
                    rule: Some("IrqlReturn"),
                    bug_check: Some((0xC9, [0x05, usize::from(irql), usize::from(exit_irql), 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(call.driver),
                    major: code,
                    message: format!(
                        "the dispatch routine was entered at IRQL {irql} and returned at IRQL {exit_irql} (a spin lock still held?)"
                    ),
                });
            }
            w.finish_frame(call.frame, status);
            if let Some(caller) = call.caller_frame.and_then(|f| w.frames.get_mut(&f)) {
                caller.forwarded = Some(status);
            }
            // A synchronous completion by a lower driver may have left the IRP waiting only for
            // this frame to end.
            w.retire_if_done(call.irp);
        });
        if exit_irql != irql {
            irql::set_irql(irql);
        }
        irql::set_raises(raises);
        status
    }

    /// `IoMarkIrpPending`.
    pub(crate) fn mark_pending(&self, irp: IrpId) {
        self.with_world(|w| {
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            if let Some(loc) = state.stack.get_mut(current) {
                loc.pending = true;
            }
            if let Holder::Frame(frame) = state.holder
                && let Some(frame) = w.frames.get_mut(&frame)
            {
                frame.marked = true;
            }
        });
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub(crate) fn skip_current_location(&self, irp: IrpId) {
        self.with_world(|w| {
            if let Some(state) = w.irp_mut(irp)
                && state.current < state.stack.len()
            {
                state.current += 1;
            }
        });
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub(crate) fn copy_current_location_to_next(&self, irp: IrpId) {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            let Some(source) = state.stack.get(current).cloned() else {
                return;
            };
            let Some(next) = current.checked_sub(1).and_then(|n| state.stack.get_mut(n)) else {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0x35, [irp.number(), 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: "IoCopyCurrentIrpStackLocationToNext with no stack location left (NO_MORE_IRP_STACK_LOCATIONS)".into(),
                });
                return;
            };
            *next = StackLoc {
                major: source.major,
                minor: source.minor,
                params: source.params,
                device: None,
                completion: None,
                pending: false,
                copied_without_routine: true,
            };
        });
    }

    /// `IoSetCompletionRoutine` on the next stack location.
    pub(in crate::host) fn set_completion_routine(&self, irp: IrpId, routine: CompletionRoutine) {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            let Some(next) = current.checked_sub(1).and_then(|n| state.stack.get_mut(n)) else {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0x35, [irp.number(), 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: "IoSetCompletionRoutine with no next stack location (the lowest driver cannot set one)".into(),
                });
                return;
            };
            let overwrote = next.completion.is_some();
            next.completion = Some(routine);
            next.copied_without_routine = false;
            if overwrote {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: code,
                    message: "IoSetCompletionRoutine overwrote a completion routine already set on the next stack location (IoSkipCurrentIrpStackLocation followed by IoSetCompletionRoutine?)".into(),
                });
            }
        });
    }

    /// `IoSetCompletionRoutine` with a driver's routine and context pointer (as a word).
    pub(crate) fn set_native_completion_routine(
        &self,
        irp: IrpId,
        f: CompletionFn,
        context: usize,
    ) {
        self.set_completion_routine(irp, CompletionRoutine::Native(f, context));
    }
}

impl World {
    fn new_frame(&mut self) -> usize {
        self.next_frame += 1;
        self.next_frame
    }

    fn prepare_call(&mut self, irp: IrpId, target: DeviceId, irql: u8) -> Prepared {
        let (blame, _) = self.irp_blame(irp);
        if self.irps.retired(irp) {
            self.push(Report {
                rule: Some("CompleteRequest"),
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: None,
                message: format!(
                    "IoCallDriver with IRP #{} after it was completed and returned to its originator",
                    irp.number()
                ),
            });
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        }
        let Some(state) = self.irp(irp) else {
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        };
        let next_major = state
            .current
            .checked_sub(1)
            .and_then(|n| state.stack.get(n))
            .map_or(state.orig_major, |l| l.major);
        if state.phase != Phase::InProgress {
            self.push(Report {
                rule: Some("CompleteRequest"),
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!(
                    "IoCallDriver with IRP #{} after it was completed",
                    irp.number()
                ),
            });
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        }
        let caller_frame = match state.holder {
            Holder::Frame(f) => Some(f),
            _ => None,
        };
        let has_cancel = state.cancel_routine.is_some();
        let current = state.current;
        let copied_without_routine = current
            .checked_sub(1)
            .and_then(|n| state.stack.get(n))
            .is_some_and(|l| l.copied_without_routine);
        if irql > DISPATCH_LEVEL {
            self.push(Report {
                rule: Some("ForwardedAtBadIrql"),
                bug_check: Some((0xC9, [0x10, usize::from(irql), 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!("IoCallDriver at IRQL {irql} (above DISPATCH_LEVEL)"),
            });
        } else if irql == DISPATCH_LEVEL
            && !matches!(
                next_major,
                major::POWER
                    | major::READ
                    | major::WRITE
                    | major::DEVICE_CONTROL
                    | major::INTERNAL_DEVICE_CONTROL
            )
        {
            self.push(
                Report::io(
                    0x23A,
                    Some("ForwardedAtBadIrql"),
                    ViolationSeverity::Fatal,
                    format!(
                        "IoCallDriver at DISPATCH_LEVEL with {}",
                        major::name(next_major)
                    ),
                )
                .at(blame, Some(next_major)),
            );
        }
        if has_cancel {
            self.push(
                Report::io(
                    0x203,
                    None,
                    ViolationSeverity::Fatal,
                    "IoCallDriver with the IRP's cancel routine still set".into(),
                )
                .at(blame, Some(next_major)),
            );
        }
        if copied_without_routine {
            self.push(
                Report::io(
                    0x21C,
                    None,
                    ViolationSeverity::Warning,
                    "stack location copied to the next one without a completion routine; skip it instead".into(),
                )
                .at(blame, Some(next_major)),
            );
        }
        if current == 0 {
            self.push(Report {
                rule: None,
                bug_check: Some((0x35, [irp.number(), 0, 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!(
                    "IoCallDriver to {} with no stack location left (NO_MORE_IRP_STACK_LOCATIONS)",
                    self.device_label(target)
                ),
            });
            return Prepared::Fail(NtStatus::INSUFFICIENT_RESOURCES);
        }
        let Some(device) = self.device(target) else {
            self.push(
                Report::io(
                    0x204,
                    None,
                    ViolationSeverity::Fatal,
                    "IoCallDriver with an unknown device object".into(),
                )
                .at(blame, Some(next_major)),
            );
            return Prepared::Fail(NtStatus::NO_SUCH_DEVICE);
        };
        let target_driver = device.driver;
        let device_obj = device.obj;
        let deleted = device.deleted;
        let driver_state = self.drivers.get(target_driver.0);
        let loaded = driver_state.is_some_and(|d| d.loaded);
        if deleted || !loaded {
            let label = self.device_label(target);
            self.push(Report {
                rule: None,
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!(
                    "IoCallDriver to {label}, which is {}",
                    if deleted {
                        "deleted"
                    } else {
                        "owned by an unloaded driver"
                    }
                ),
            });
            return Prepared::Fail(NtStatus::NO_SUCH_DEVICE);
        }
        let dispatch = driver_state
            .and_then(|d| d.dispatch.get(usize::from(next_major)).cloned())
            .flatten();
        let frame = self.new_frame();
        let Some(state) = self.irp_mut(irp) else {
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        };
        let location = current - 1;
        state.current = location;
        let routine_set = state
            .stack
            .get(location)
            .is_some_and(|l| l.completion.is_some());
        if let Some(loc) = state.stack.get_mut(location) {
            loc.device = Some(target);
            loc.copied_without_routine = false;
        }
        state.holder = Holder::Frame(frame);
        let irp_obj = Arc::clone(&state.obj);
        if let Some(caller) = caller_frame.and_then(|f| self.frames.get_mut(&f)) {
            caller.forwarded_with_routine = routine_set;
        }
        self.frames.insert(
            frame,
            Frame {
                irp,
                location,
                driver: target_driver,
                major: next_major,
                forwarded: None,
                forwarded_with_routine: false,
                leaked: false,
                marked: false,
            },
        );
        Prepared::Call(PreparedCall {
            irp,
            frame,
            caller_frame,
            device: target,
            device_obj,
            irp_obj,
            driver: target_driver,
            dispatch,
        })
    }

    /// The checks when a dispatch routine returns `status`.
    fn finish_frame(&mut self, frame_id: usize, status: NtStatus) {
        let Some(frame) = self.frames.remove(&frame_id) else {
            return;
        };
        let Some(state) = self.irp(frame.irp) else {
            return;
        };
        let marked = frame.marked;
        let owned = state.holder == Holder::Frame(frame_id)
            || state.holder == Holder::Halted(frame.location);
        let done = match state.phase {
            Phase::Completed => Some(state.status),
            Phase::Tracked => state.tracked.last().map(|t| t.status),
            Phase::InProgress | Phase::Completing => None,
        };
        let irp = frame.irp;
        if state.holder == Holder::Frame(frame_id)
            && let Some(state) = self.irp_mut(irp)
        {
            state.holder = Holder::Parked(frame.location);
        }
        if frame.leaked {
            return;
        }
        let at = (Some(frame.driver), Some(frame.major));
        if status.to_u32() == u32::MAX {
            self.push(
                Report::io(
                    0x225,
                    Some("CompleteRequestStatusCheck"),
                    ViolationSeverity::NonFatal,
                    "the dispatch routine returned 0xFFFFFFFF".into(),
                )
                .at(at.0, at.1),
            );
        } else if status == NtStatus::PENDING {
            if !marked && !frame.forwarded.is_some_and(NtStatus::is_pending) {
                self.push(
                    Report::io(
                        0x23D,
                        Some("MarkIrpPending2"),
                        ViolationSeverity::NonFatal,
                        format!(
                            "the dispatch routine returned STATUS_PENDING for IRP #{} without calling IoMarkIrpPending",
                            irp.number()
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
        } else {
            if marked {
                self.push(
                    Report::io(
                        0x23E,
                        Some("MarkIrpPending"),
                        ViolationSeverity::NonFatal,
                        format!(
                            "the dispatch routine called IoMarkIrpPending on IRP #{} but returned {status} instead of STATUS_PENDING",
                            irp.number()
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
            if owned && done.is_none() {
                self.push(
                    Report::io(
                        0x226,
                        Some("IrpProcessingComplete"),
                        ViolationSeverity::Fatal,
                        format!(
                            "the dispatch routine returned {status} without completing IRP #{}, passing it down or returning STATUS_PENDING",
                            irp.number()
                        ),
                    )
                    .at(at.0, at.1),
                );
            } else if let Some(forwarded) = frame.forwarded {
                if !frame.forwarded_with_routine && status != forwarded {
                    self.push(Report {
                        rule: Some("LowerDriverReturn"),
                        bug_check: None,
                        severity: ViolationSeverity::NonFatal,
                        driver: at.0,
                        major: at.1,
                        message: format!(
                            "the dispatch routine passed IRP #{} down without a completion routine and returned {status}, not the {forwarded} IoCallDriver returned",
                            irp.number()
                        ),
                    });
                }
            } else if let Some(done) = done
                && done != status
                && !is_bad_status(done)
            {
                self.push(
                    Report::io(
                        0x224,
                        Some("CompleteRequestStatusCheck"),
                        ViolationSeverity::Fatal,
                        format!(
                            "the dispatch routine completed IRP #{} with {done} but returned {status}",
                            irp.number()
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
        }
    }
}
