//! `IoCompleteRequest`: the completion routines bottom-up, pending propagation, the halt on
//! `STATUS_MORE_PROCESSING_REQUIRED`, and the copy-back to the originator's buffer.

use core::time::Duration;
use std::format;
use std::sync::Arc;
use std::time::Instant;
use std::vec::Vec;

use super::irps::{Holder, Phase, Transfer};
use super::objects::{CompletionRoutine, DeviceObj, IrpObj, read_cells};
use super::{IoManager, World};
use crate::host::irql::{self, current_irql};
use crate::host::irql_level::DISPATCH_LEVEL;
use crate::host::user::IoResult;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::host::{DeviceId, DriverId, IrpId};
use crate::status::NtStatus;
use crate::sys;

/// One completion recorded by `TrackingCompleter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackedCompletion {
    /// The status the driver completed with.
    pub status: NtStatus,
    /// The information the driver completed with.
    pub information: usize,
}

/// The completion routine to run next, found under the lock.
struct NextRoutine {
    /// The stack location whose routine it is.
    index: usize,
    routine: CompletionRoutine,
    device: Option<DeviceId>,
    device_obj: Option<&'static DeviceObj>,
    irp_obj: Arc<IrpObj>,
    driver: Option<DriverId>,
}

pub(super) fn is_bad_status(status: NtStatus) -> bool {
    status == NtStatus::PENDING || status.to_u32() == u32::MAX
}

/// Where completion stands after a look under the lock.
enum Step {
    /// A completion routine to run (without the lock).
    Routine(NextRoutine),
    /// Completion reached the originator; whether someone waits for it.
    Finished { waiting: bool },
    /// A routine took the IRP back (`STATUS_MORE_PROCESSING_REQUIRED`), or it is gone.
    Stopped,
}

impl IoManager {
    /// `IoCompleteRequest` by a driver (with the verifier's completion checks). `by_framework`:
    /// a framework completing for its client driver (`WdfRequestComplete`), which KMDF allows
    /// under a spin lock at DISPATCH_LEVEL, so the WDM rule SpinLockSafe does not apply.
    pub(crate) fn complete_request(
        &self,
        irp: IrpId,
        status: NtStatus,
        information: usize,
        by_framework: bool,
    ) {
        let irql = current_irql();
        let spin = !by_framework && irql::spin_lock_held();
        let step = self.with_world(|w| {
            match w.begin_completion(irp, status, information, Some((irql, spin))) {
                Some(start) => w.step_completion(irp, start),
                None => Step::Stopped,
            }
        });
        self.run_completion(irp, step);
    }

    /// The I/O manager completing an IRP itself (no driver checks).
    pub(super) fn complete_internal(&self, irp: IrpId, status: NtStatus) {
        let step = self.with_world(|w| {
            let info = w.irp(irp).map_or(0, |i| i.information);
            match w.begin_completion(irp, status, info, None) {
                Some(start) => w.step_completion(irp, start),
                None => Step::Stopped,
            }
        });
        self.run_completion(irp, step);
    }

    /// Runs the completion routines from `step` on, each without the lock; each look in
    /// between (what the routine did, the next routine or the end) is one lock.
    fn run_completion(&self, irp: IrpId, mut step: Step) {
        loop {
            let next = match step {
                Step::Routine(next) => next,
                Step::Finished { waiting } => {
                    self.wake_waiters(waiting);
                    return;
                }
                Step::Stopped => return,
            };
            let (index, driver) = (next.index, next.driver);
            // Windows runs completion routines at IRQL <= DISPATCH_LEVEL — at DISPATCH_LEVEL
            // when the IRP is completed from a DPC, as hardware drivers do — so the simulation
            // runs them there, and what may only be done at PASSIVE_LEVEL is reported.
            let irql_before = current_irql();
            irql::set_irql(irql_before.max(DISPATCH_LEVEL));
            let status = match next.routine {
                CompletionRoutine::Native(f, context) => {
                    let _guard = irql::enter(self, driver);
                    NtStatus::from_raw(sys::host::call_completion(
                        f,
                        next.device_obj,
                        &next.irp_obj,
                        context,
                    ))
                }
                CompletionRoutine::Scripted(f) => {
                    let device = next.device;
                    self.run_script(driver, |k| f(k, device, irp))
                        .unwrap_or(NtStatus::SUCCESS)
                }
            };
            irql::set_irql(irql_before);
            step = self.with_world(|w| {
                if let Some(state) = w.irp_mut(irp) {
                    state.routines_running = state.routines_running.saturating_sub(1);
                }
                if w.after_routine(irp, index, status, driver) {
                    // Halted, or completed again by the routine: it may be finished now.
                    w.retire_if_done(irp);
                    Step::Stopped
                } else {
                    w.step_completion(irp, index + 1)
                }
            });
        }
    }

    /// Wakes the originators waiting for a completion, if any: waking with nobody waiting is a
    /// system call per request for nothing.
    fn wake_waiters(&self, waiting: bool) {
        if waiting {
            self.inner.completed.notify_all();
        }
    }

    /// `TrackingCompleter`: records the completion on the IRP without running the completion
    /// path; the originator sees the recorded status and information.
    pub(crate) fn tracked_complete(&self, irp: IrpId, status: NtStatus, information: usize) {
        let waiting = self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            if w.irps.retired(irp) {
                w.report_retired(irp, "TrackingCompleter", driver, code);
                return false;
            }
            let Some(state) = w.irp_mut(irp) else {
                return false;
            };
            if matches!(
                state.phase,
                Phase::Completed | Phase::Tracked | Phase::Completing
            ) {
                w.push(Report {
                    rule: Some("DoubleCompletion"),
                    bug_check: Some((0x44, [irp.number(), 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!("IRP #{} completed twice (TrackingCompleter)", irp.number()),
                });
                return false;
            }
            state.tracked.push(TrackedCompletion {
                status,
                information,
            });
            state.status = status;
            state.information = information;
            state.phase = Phase::Tracked;
            state.holder = Holder::Originator;
            w.finish_completion(irp);
            w.waiters > 0
        });
        self.wake_waiters(waiting);
    }

    /// The safe layer dropped an IRP it owned without completing, forwarding or pending it.
    /// Reported, then completed with `STATUS_CANCELLED` so the originator is not left hanging.
    pub(crate) fn irp_leaked(&self, irp: IrpId) {
        let live = self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp(irp) else {
                return false;
            };
            if state.phase != Phase::InProgress {
                return false;
            }
            // Marked pending: its dispatch routine returned STATUS_PENDING, and the driver then
            // let go of it (a `PendingIrp` dropped, at unload for example) — lost, not unhandled.
            let pended = state.stack.get(state.current).is_some_and(|l| l.pending);
            if let Holder::Frame(f) = state.holder
                && let Some(frame) = w.frames.get_mut(&f)
            {
                frame.leaked = true;
            }
            let report = if pended {
                Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!(
                        "IRP #{} was pended, then dropped without being completed or passed down (it would never complete); the simulation completes it with STATUS_CANCELLED",
                        irp.number()
                    ),
                }
            } else {
                Report::io(
                    0x226,
                    Some("IrpProcessingComplete"),
                    ViolationSeverity::Fatal,
                    format!(
                        "IRP #{} dropped without being completed, forwarded or pended; the simulation completes it with STATUS_CANCELLED",
                        irp.number()
                    ),
                )
                .at(driver, code)
            };
            w.push(report);
            true
        });
        if live {
            self.with_world(|w| {
                if let Some(state) = w.irp_mut(irp) {
                    state.cancel_routine = None;
                }
            });
            self.complete_internal(irp, NtStatus::CANCELLED);
        }
    }
}

impl IoManager {
    /// Whether an IRP finished (completed, or gone).
    pub(in crate::host) fn is_completed(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_none_or(|i| i.result.is_some()))
    }

    /// The final result of an IRP, once it completed.
    pub(in crate::host) fn irp_result(&self, irp: IrpId) -> Option<IoResult> {
        self.with_world(|w| w.irp(irp).and_then(|i| i.result.clone()))
    }

    /// The final result of an IRP its synchronous originator is done with: taken rather than
    /// copied when no probe still reads it; the originator's hold ends here either way.
    pub(in crate::host) fn take_result(&self, irp: IrpId) -> Option<IoResult> {
        self.with_world(|w| {
            // Moved out only when this release retires the IRP: until then others may read it.
            let retires = w.retires_on_release(irp);
            let result = w.irp_mut(irp).and_then(|state| {
                if retires {
                    state.result.take()
                } else {
                    state.result.clone()
                }
            });
            if result.is_some() {
                w.release_irp(irp);
            }
            result
        })
    }

    /// Waits (at most `timeout`) for an IRP to complete.
    pub(in crate::host) fn wait_for(&self, irp: IrpId, timeout: Duration) -> Option<IoResult> {
        let deadline = Instant::now() + timeout;
        let mut world = self.lock();
        loop {
            let state = world.irp(irp)?;
            if let Some(result) = state.result.clone() {
                return Some(result);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            // Counted under the lock, so a completion that runs after this check sees the waiter.
            world.waiters += 1;
            world = match self.inner.completed.wait_timeout(world, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
            world.waiters -= 1;
        }
    }

    /// An IRP result for a request whose dispatch routine returned without completing or
    /// pending it (already reported): what the originator sees is the returned status.
    pub(in crate::host) fn unfinished_result(&self, irp: IrpId, returned: NtStatus) -> IoResult {
        self.with_world(|w| IoResult {
            status: returned,
            information: w.irp(irp).map_or(0, |i| i.information),
            data: Vec::new(),
            output: w
                .irp(irp)
                .map(|i| i.user_output.clone())
                .unwrap_or_default(),
            irp,
        })
    }
}

impl World {
    /// From location `index` up: the next routine to run, or the end of completion.
    fn step_completion(&mut self, irp: IrpId, index: usize) -> Step {
        match self.next_completion(irp, index) {
            Some(next) => Step::Routine(next),
            None => {
                self.finish_completion(irp);
                Step::Finished {
                    waiting: self.waiters > 0,
                }
            }
        }
    }

    /// Checks and records a completion; returns the location completion starts from.
    fn begin_completion(
        &mut self,
        irp: IrpId,
        status: NtStatus,
        information: usize,
        checks: Option<(u8, bool)>,
    ) -> Option<usize> {
        let (driver, code) = self.irp_blame(irp);
        if self.irps.retired(irp) {
            self.report_retired(irp, "IoCompleteRequest", driver, code);
            return None;
        }
        let state = self.irp(irp)?;
        if state.phase != Phase::InProgress {
            self.push(Report {
                rule: Some("DoubleCompletion"),
                bug_check: Some((0x44, [irp.number(), 0, 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver,
                major: code,
                message: format!(
                    "IoCompleteRequest on IRP #{} (completing with {status}), which was already completed (MULTIPLE_IRP_COMPLETE_REQUESTS)",
                    irp.number()
                ),
            });
            return None;
        }
        let has_cancel = state.cancel_routine.is_some();
        let buffered_overflow = state.transfer == Transfer::Buffered
            && !status.is_error()
            && information > state.output_len;
        let output_len = state.output_len;
        if let Some((irql, spin)) = checks {
            if irql > DISPATCH_LEVEL {
                self.push(
                    Report::io(
                        0x0E,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoCompleteRequest at IRQL {irql} (above DISPATCH_LEVEL)"),
                    )
                    .at(driver, code),
                );
            } else if spin {
                self.push(Report {
                    rule: Some("SpinLockSafe"),
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: code,
                    message: format!(
                        "IoCompleteRequest on IRP #{} while holding a spin lock",
                        irp.number()
                    ),
                });
            }
            if is_bad_status(status) {
                self.push(
                    Report::io(
                        0x06,
                        Some("CompleteRequestStatusCheck"),
                        ViolationSeverity::Fatal,
                        format!("IRP #{} completed with status {status}", irp.number()),
                    )
                    .at(driver, code),
                );
            }
            if has_cancel {
                self.push(
                    Report::io(
                        0x07,
                        None,
                        ViolationSeverity::Fatal,
                        format!(
                            "IRP #{} completed with its cancel routine still set (also Driver Verifier 0xC9/0x23C)",
                            irp.number()
                        ),
                    )
                    .at(driver, code),
                );
            }
            if buffered_overflow {
                self.push(
                    Report::io(
                        0x312,
                        None,
                        ViolationSeverity::NonFatal,
                        format!(
                            "IRP #{} completed with Information {information}, larger than the {output_len}-byte output buffer (buffered I/O)",
                            irp.number()
                        ),
                    )
                    .at(driver, code),
                );
            }
        }
        let state = self.irp_mut(irp)?;
        state.status = status;
        state.information = information;
        state.cancel_routine = None;
        state.phase = Phase::Completing;
        state.holder = Holder::Originator;
        Some(state.current)
    }

    /// Walks up from `index` to the next location with a completion routine, doing the I/O
    /// manager's pending propagation for the locations without one. `None` when completion
    /// reached the originator.
    fn next_completion(&mut self, irp: IrpId, mut index: usize) -> Option<NextRoutine> {
        loop {
            let state = self.irp_mut(irp)?;
            let size = state.stack.len();
            if index >= size {
                state.current = size;
                return None;
            }
            let loc = state.stack.get_mut(index)?;
            let pending = loc.pending;
            let routine = loc.completion.take();
            loc.pending = false;
            state.pending_returned = pending;
            state.current = index + 1;
            if let Some(routine) = routine {
                // While its completion routine runs, the IRP is back in the hands of the
                // driver that set it: the routine may complete it again (then returns
                // STATUS_MORE_PROCESSING_REQUIRED, as KMDF's I/O target does) or send it on.
                state.phase = Phase::InProgress;
                state.holder = Holder::Halted(index + 1);
                state.routines_running += 1;
                let device = state.stack.get(index + 1).and_then(|l| l.device);
                let irp_obj = Arc::clone(&state.obj);
                let device_obj = device.and_then(|d| self.device(d)).map(|d| d.obj);
                return Some(NextRoutine {
                    index,
                    routine,
                    device,
                    device_obj,
                    irp_obj,
                    driver: self.device_driver(device),
                });
            }
            if pending && let Some(upper) = state.stack.get_mut(index + 1) {
                upper.pending = true;
            }
            index += 1;
        }
    }

    /// After a completion routine ran at `index`: halts on MORE_PROCESSING_REQUIRED, checks
    /// pending propagation. Returns whether completion halted.
    fn after_routine(
        &mut self,
        irp: IrpId,
        index: usize,
        status: NtStatus,
        driver: Option<DriverId>,
    ) -> bool {
        let Some(state) = self.irp_mut(irp) else {
            return true;
        };
        let kept = state.phase == Phase::InProgress && state.holder == Holder::Halted(index + 1);
        if !kept {
            // The routine completed the IRP again (or sent it on) before returning: completion
            // went on from there, so this one must stop, which only MORE_PROCESSING_REQUIRED
            // says.
            if status != NtStatus::MORE_PROCESSING_REQUIRED {
                let code = state.stack.get(index + 1).map(|l| l.major);
                self.push(Report {
                    rule: Some("DoubleCompletion"),
                    bug_check: Some((0x44, [irp.number(), 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!(
                        "the completion routine of IRP #{} completed or passed on the IRP and returned {status} instead of STATUS_MORE_PROCESSING_REQUIRED",
                        irp.number()
                    ),
                });
            }
            return true;
        }
        if status == NtStatus::MORE_PROCESSING_REQUIRED {
            return true;
        }
        state.phase = Phase::Completing;
        state.holder = Holder::Originator;
        let pending_returned = state.pending_returned;
        let code = state.stack.get(index + 1).map(|l| l.major);
        let unmarked = state
            .stack
            .get(index + 1)
            .is_some_and(|upper| !upper.pending);
        if pending_returned && unmarked {
            self.push(
                Report::io(
                    0x228,
                    None,
                    ViolationSeverity::NonFatal,
                    format!(
                        "the completion routine of IRP #{} saw PendingReturned but did not call IoMarkIrpPending",
                        irp.number()
                    ),
                )
                .at(driver, code),
            );
        }
        false
    }

    /// The I/O manager's final processing: the copy-back to the user buffer.
    fn finish_completion(&mut self, irp: IrpId) {
        let Some(state) = self.irp_mut(irp) else {
            return;
        };
        if state.phase == Phase::Completing {
            state.phase = Phase::Completed;
        }
        state.holder = Holder::Originator;
        let status = state.status;
        let mut output = core::mem::take(&mut state.user_output);
        let returned = state.information.min(state.output_len);
        match state.transfer {
            Transfer::Buffered if !status.is_error() => {
                for (dst, src) in output
                    .iter_mut()
                    .zip(state.obj.system.iter())
                    .take(returned)
                {
                    *dst = src.load(core::sync::atomic::Ordering::Relaxed);
                }
            }
            Transfer::Direct => {
                output = read_cells(&state.obj.mdl);
            }
            Transfer::Buffered | Transfer::None => {}
        }
        let data = if status.is_error() {
            Vec::new()
        } else {
            output
                .get(..returned)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        };
        state.result = Some(IoResult {
            status,
            information: state.information,
            data,
            output,
            irp,
        });
        // An originator that stopped waiting (a timed-out synchronous request, a dropped
        // operation) no longer keeps it: it retires now.
        self.retire_if_done(irp);
    }

    /// A call on an IRP that completed and retired: its originator took the result, so this
    /// completes (or touches) it a second time.
    pub(super) fn report_retired(
        &mut self,
        irp: IrpId,
        call: &str,
        driver: Option<DriverId>,
        code: Option<u8>,
    ) {
        self.push(Report {
            rule: Some("DoubleCompletion"),
            bug_check: Some((0x44, [irp.number(), 0, 0, 0])),
            severity: ViolationSeverity::Fatal,
            driver,
            major: code,
            message: format!(
                "{call} on IRP #{}, which already completed and was returned to its originator (MULTIPLE_IRP_COMPLETE_REQUESTS)",
                irp.number()
            ),
        });
    }
}
