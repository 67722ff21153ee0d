//! Cancellation: `IoSetCancelRoutine`, `IoCancelIrp` and the cancel spin lock.

use std::format;

use super::IoManager;
use super::irps::Phase;
use super::objects::CancelRoutine;
use crate::host::IrpId;
use crate::host::irql::{self, current_irql};
use crate::host::irql_level::DISPATCH_LEVEL;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::sys::{self, CancelFn};

impl IoManager {
    /// `IoSetCancelRoutine` with a driver's routine (or none).
    pub(crate) fn set_native_cancel_routine(&self, irp: IrpId, f: Option<CancelFn>) -> bool {
        self.set_cancel_routine(irp, f.map(CancelRoutine::Native))
    }

    /// `IoSetCancelRoutine`: returns whether a routine was set before.
    pub(in crate::host) fn set_cancel_routine(
        &self,
        irp: IrpId,
        routine: Option<CancelRoutine>,
    ) -> bool {
        self.with_world(|w| {
            w.irp_mut(irp).is_some_and(|state| {
                core::mem::replace(&mut state.cancel_routine, routine).is_some()
            })
        })
    }

    /// `IoCancelIrp`: sets `Irp->Cancel`; if a cancel routine is set, clears it and calls it at
    /// DISPATCH_LEVEL with the cancel spin lock held. Returns whether a routine was called.
    pub(crate) fn cancel_irp(&self, irp: IrpId) -> bool {
        let irql = current_irql();
        let found = self.with_world(|w| {
            let state = w.irp_mut(irp)?;
            if state.phase != Phase::InProgress {
                return None;
            }
            state.cancel = true;
            let routine = state.cancel_routine.take()?;
            let device = state.current_loc().and_then(|l| l.device);
            let obj = std::sync::Arc::clone(&state.obj);
            w.cancel_lock.push((irp, irql));
            let device_obj = device.and_then(|d| w.device(d)).map(|d| d.obj);
            let driver = w.device_driver(device);
            Some((routine, device, device_obj, driver, obj))
        });
        let Some((routine, device, device_obj, driver, irp_obj)) = found else {
            return false;
        };
        irql::set_irql(DISPATCH_LEVEL);
        match routine {
            CancelRoutine::Native(f) => {
                if let Some(device_obj) = device_obj {
                    let _guard = irql::enter(self, driver);
                    sys::host::call_cancel(f, device_obj, &irp_obj);
                }
            }
            CancelRoutine::Scripted(f) => {
                if let Some(device) = device {
                    self.run_script(driver, |k| f(k, device, irp));
                }
            }
        }
        self.with_world(|w| {
            if let Some(position) = w.cancel_lock.iter().position(|(held, _)| *held == irp) {
                w.cancel_lock.remove(position);
                w.push(Report {
                    rule: Some("CancelSpinlockRelease"),
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: w.irp(irp).map(|i| i.orig_major),
                    message: format!(
                        "the cancel routine of IRP #{} returned without releasing the cancel spin lock (IoReleaseCancelSpinLock)",
                        irp.number()
                    ),
                });
            }
            // The routine may have completed the IRP while holding the lock.
            w.retire_if_done(irp);
        });
        irql::set_irql(irql);
        true
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub(crate) fn release_cancel_lock(&self, irp: IrpId) {
        let back = self.with_world(|w| {
            if let Some(position) = w.cancel_lock.iter().position(|(held, _)| *held == irp) {
                let (_, irql) = w.cancel_lock.remove(position);
                // Completed before the lock was released: nothing else holds it back now.
                w.retire_if_done(irp);
                return Some(irql);
            }
            let (driver, code) = w.irp_blame(irp);
            w.push(Report {
                rule: Some("CancelSpinLock"),
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver,
                major: code,
                message: "IoReleaseCancelSpinLock without holding the cancel spin lock".into(),
            });
            None
        });
        if let Some(irql) = back {
            irql::set_irql(irql);
        }
    }
}
