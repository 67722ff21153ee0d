//! IRPs: their state, allocation and retirement, and the fields drivers read and write.
//!
//! An IRP lives in the [`IrpTable`] from allocation until it has completed and nobody keeps it
//! (its originator took the result, no probe looks at it, no dispatch routine is still running
//! on it); then it *retires*: its slot is reused and its [`IrpObj`] is freed once the last seam
//! handle a driver may hold lets go. A long run therefore holds only the IRPs in flight, as
//! Windows does. An [`IrpId`] names one IRP for ever (a slot and a serial number), so a call
//! with the id of a retired IRP is recognised, never confused with the IRP now in its slot.

use std::format;
use std::sync::Arc;
use std::vec::Vec;

use super::completion::TrackedCompletion;
use super::objects::{CancelRoutine, CompletionRoutine, IrpObj};
use super::{IoManager, World};
use crate::host::user::IoResult;
use crate::host::verifier::{Report, ViolationSeverity};
use crate::host::{DeviceId, DriverId, IrpId, major};
use crate::status::NtStatus;
use crate::sys::{DO_BUFFERED_IO, Mode, Params, StackParams};

#[derive(Clone)]
pub(super) struct StackLoc {
    pub(super) major: u8,
    pub(super) minor: u8,
    pub(super) params: Params,
    pub(super) device: Option<DeviceId>,
    pub(super) completion: Option<CompletionRoutine>,
    /// `SL_PENDING_RETURNED`.
    pub(super) pending: bool,
    /// Filled by `IoCopyCurrentIrpStackLocationToNext` and no completion routine set since.
    pub(super) copied_without_routine: bool,
}

impl StackLoc {
    pub(super) const fn empty() -> Self {
        Self {
            major: 0,
            minor: 0,
            params: Params::Other,
            device: None,
            completion: None,
            pending: false,
            copied_without_routine: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    /// Owned by a driver (or its originator).
    InProgress,
    /// `IoCompleteRequest` is running completion routines.
    Completing,
    /// Completed; the result is final.
    Completed,
    /// Completed through `TrackingCompleter` (the completion path did not run).
    Tracked,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Holder {
    /// The originator (user side, PnP manager, a test) before sending or after completion.
    Originator,
    /// The dispatch routine running in frame `0`.
    Frame(usize),
    /// A driver keeps it (pended) at stack location `0`.
    Parked(usize),
    /// A completion routine returned `STATUS_MORE_PROCESSING_REQUIRED`: the driver owning stack
    /// location `0` has it back.
    Halted(usize),
}

/// How the originator's buffers were set up, for the copy-back at completion.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(in crate::host) enum Transfer {
    /// Nothing comes back (write, create, close, PnP, METHOD_NEITHER).
    None,
    /// Output is copied back from the system buffer (buffered read, METHOD_BUFFERED IOCTL).
    Buffered,
    /// Output is in the user's own buffer, described by the MDL (direct read, IN/OUT_DIRECT).
    Direct,
}

/// What an originator sends.
pub(in crate::host) struct IrpSpec {
    pub(in crate::host) major: u8,
    pub(in crate::host) minor: u8,
    pub(in crate::host) params: Params,
    pub(in crate::host) mode: Mode,
    pub(in crate::host) system: Vec<u8>,
    pub(in crate::host) mdl: Vec<u8>,
    pub(in crate::host) transfer: Transfer,
    /// The user's output buffer as it was before the request (what the caller passed in).
    pub(in crate::host) user_output: Vec<u8>,
    pub(in crate::host) user_addresses: (usize, usize),
    pub(in crate::host) initial_status: NtStatus,
}

pub(super) struct IrpState {
    pub(super) obj: Arc<IrpObj>,
    pub(super) stack: Vec<StackLoc>,
    /// Index of the current location; `stack.len()` means the originator's (none).
    pub(super) current: usize,
    pub(super) status: NtStatus,
    pub(super) information: usize,
    pub(super) pending_returned: bool,
    pub(super) cancel: bool,
    pub(super) cancel_routine: Option<CancelRoutine>,
    pub(super) driver_context: usize,
    /// The file object it was sent through (`IrpSp->FileObject`), if any.
    pub(super) file: Option<crate::host::FileObject>,
    pub(super) mode: Mode,
    pub(super) phase: Phase,
    pub(super) holder: Holder,
    pub(super) tracked: Vec<TrackedCompletion>,
    pub(super) transfer: Transfer,
    pub(super) output_len: usize,
    pub(super) user_output: Vec<u8>,
    pub(super) user_addresses: (usize, usize),
    pub(super) result: Option<IoResult>,
    pub(super) orig_major: u8,
    /// Who still wants to read the IRP after it completes: its originator until it took the
    /// result, and every live [`IrpProbe`](super::IrpProbe). At zero, a completed IRP retires.
    pub(super) keepers: usize,
    /// Completion routines running on it now (one, or more when one completes it again).
    pub(super) routines_running: usize,
}

impl IrpState {
    pub(super) fn current_loc(&self) -> Option<&StackLoc> {
        self.stack.get(self.current)
    }
}

/// The IRPs of one simulation: a slab whose slots are reused once an IRP retires.
#[derive(Default)]
pub(super) struct IrpTable {
    slots: Vec<Slot>,
    /// Slots whose IRP retired, to reuse.
    free: Vec<usize>,
    /// Serial numbers handed out so far (the next IRP's number).
    issued: usize,
}

struct Slot {
    serial: usize,
    state: Option<IrpState>,
}

impl IrpTable {
    fn insert(&mut self, make: impl FnOnce(IrpId) -> IrpState) -> IrpId {
        let serial = self.issued;
        self.issued += 1;
        let slot = self.free.pop().unwrap_or(self.slots.len());
        let id = IrpId { slot, serial };
        let state = Some(make(id));
        match self.slots.get_mut(slot) {
            Some(entry) => *entry = Slot { serial, state },
            None => self.slots.push(Slot { serial, state }),
        }
        id
    }

    pub(super) fn get(&self, id: IrpId) -> Option<&IrpState> {
        self.slots
            .get(id.slot)
            .filter(|s| s.serial == id.serial)
            .and_then(|s| s.state.as_ref())
    }

    pub(super) fn get_mut(&mut self, id: IrpId) -> Option<&mut IrpState> {
        self.slots
            .get_mut(id.slot)
            .filter(|s| s.serial == id.serial)
            .and_then(|s| s.state.as_mut())
    }

    /// Whether `id` names an IRP that existed and has retired.
    pub(super) fn retired(&self, id: IrpId) -> bool {
        id.serial < self.issued && self.get(id).is_none()
    }

    /// Frees the IRP's slot (its state is dropped in place).
    fn remove(&mut self, id: IrpId) {
        if let Some(slot) = self
            .slots
            .get_mut(id.slot)
            .filter(|s| s.serial == id.serial)
            && slot.state.is_some()
        {
            slot.state = None;
            self.free.push(id.slot);
        }
    }

    /// The IRPs alive now, with their ids.
    pub(super) fn iter(&self) -> impl Iterator<Item = (IrpId, &IrpState)> {
        self.slots.iter().enumerate().filter_map(|(slot, s)| {
            let id = IrpId {
                slot,
                serial: s.serial,
            };
            s.state.as_ref().map(|state| (id, state))
        })
    }

    /// How many IRPs are alive (in flight, or completed and still kept).
    pub(super) fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// The serial number the next IRP will get.
    pub(super) const fn next_serial(&self) -> usize {
        self.issued
    }
}

/// What scripted code may do with an IRP ([`IoManager::scripted_access`]).
pub(in crate::host) enum ScriptedAccess {
    /// The IRP retired (or never existed).
    Gone,
    /// A driver built on the safe layer owns it and may hold its buffers: hands off.
    HeldByNativeDriver,
    /// Scripted code may touch it; with the buffers when they were asked for.
    Open {
        obj: Option<Arc<IrpObj>>,
        system_len: usize,
    },
}

impl World {
    /// The length of the system buffer the IRP's current stack location describes.
    fn system_buffer_len(&self, state: &IrpState) -> usize {
        // Back at its originator (a driver's own IRP, its completion routine having taken it
        // back), the IRP has no current location: the buffers are those the first location,
        // the one the originator filled, describes.
        let Some(loc) = state.current_loc().or_else(|| state.stack.last()) else {
            return 0;
        };
        let buffered = loc
            .device
            .and_then(|d| self.device(d))
            .is_some_and(|d| d.flags & DO_BUFFERED_IO != 0);
        let len = match loc.params {
            Params::Read { length, .. } | Params::Write { length, .. } if buffered => {
                usize::try_from(length).unwrap_or(0)
            }
            Params::DeviceControl {
                output_length,
                input_length,
                code,
            } => {
                let input = usize::try_from(input_length).unwrap_or(0);
                let output = usize::try_from(output_length).unwrap_or(0);
                match code & 3 {
                    0 => input.max(output),
                    1 | 2 => input,
                    // A kernel sender's `Type3InputBuffer` of an internal IOCTL (`ioctl_spec`).
                    _ if state.orig_major == major::INTERNAL_DEVICE_CONTROL
                        && state.mode == Mode::Kernel =>
                    {
                        input
                    }
                    _ => 0,
                }
            }
            Params::QueryInformation { length, .. } | Params::SetInformation { length, .. } => {
                usize::try_from(length).unwrap_or(0)
            }
            _ => 0,
        };
        len.min(state.obj.system.len())
    }

    pub(super) fn irp(&self, id: IrpId) -> Option<&IrpState> {
        self.irps.get(id)
    }

    pub(super) fn irp_mut(&mut self, id: IrpId) -> Option<&mut IrpState> {
        self.irps.get_mut(id)
    }

    /// The driver owning the IRP's current location, and the major there.
    pub(super) fn irp_blame(&self, id: IrpId) -> (Option<DriverId>, Option<u8>) {
        let Some(irp) = self.irp(id) else {
            return (None, None);
        };
        let loc = irp.current_loc();
        let driver = self.device_driver(loc.and_then(|l| l.device));
        (driver, Some(loc.map_or(irp.orig_major, |l| l.major)))
    }

    /// Whether nothing but a keeper still needs the IRP: it completed, it is back with its
    /// originator, and no dispatch routine, completion routine or cancel routine (holding the
    /// cancel lock) is running on it.
    fn finished(&self, id: IrpId) -> bool {
        self.irp(id).is_some_and(|state| {
            matches!(state.phase, Phase::Completed | Phase::Tracked)
                && state.holder == Holder::Originator
                && state.routines_running == 0
                && !self.frames.values().any(|f| f.irp == id)
                && !self.cancel_lock.iter().any(|(held, _)| *held == id)
        })
    }

    /// Whether releasing one keeper would retire the IRP.
    pub(super) fn retires_on_release(&self, id: IrpId) -> bool {
        self.irp(id).is_some_and(|state| state.keepers <= 1) && self.finished(id)
    }

    /// Retires the IRP if it is [finished](Self::finished) and nobody keeps it. Called wherever
    /// one of those conditions may have just become true.
    pub(super) fn retire_if_done(&mut self, id: IrpId) {
        if self.irp(id).is_some_and(|state| state.keepers == 0) && self.finished(id) {
            self.irps.remove(id);
        }
    }

    /// One keeper fewer; retires the IRP when that was the last and it is done.
    pub(super) fn release_irp(&mut self, id: IrpId) {
        if let Some(state) = self.irp_mut(id) {
            state.keepers = state.keepers.saturating_sub(1);
        }
        self.retire_if_done(id);
    }

    /// One keeper more (a probe); `false` when the IRP is already gone.
    pub(super) fn keep_irp(&mut self, id: IrpId) -> bool {
        self.irp_mut(id).is_some_and(|state| {
            state.keepers += 1;
            true
        })
    }
}

impl IoManager {
    /// Allocates an IRP for `target`'s stack and fills the first stack location the way an
    /// originator does (`IoGetNextIrpStackLocation`). The originator keeps it until it calls
    /// [`release_irp`](Self::release_irp).
    pub(in crate::host) fn allocate_irp(&self, stack_size: usize, spec: IrpSpec) -> IrpId {
        let size = stack_size.max(1);
        let mut stack = Vec::new();
        stack.resize(size, StackLoc::empty());
        if let Some(first) = stack.last_mut() {
            first.major = spec.major;
            first.minor = spec.minor;
            first.params = spec.params;
        }
        self.with_world(|w| {
            w.irps.insert(|id| IrpState {
                obj: IrpObj::new(self, id, &spec.system, &spec.mdl),
                stack,
                current: size,
                status: spec.initial_status,
                information: 0,
                pending_returned: false,
                cancel: false,
                cancel_routine: None,
                driver_context: 0,
                file: None,
                mode: spec.mode,
                phase: Phase::InProgress,
                holder: Holder::Originator,
                tracked: Vec::new(),
                transfer: spec.transfer,
                output_len: spec.user_output.len(),
                user_output: spec.user_output,
                user_addresses: spec.user_addresses,
                result: None,
                orig_major: spec.major,
                keepers: 1,
                routines_running: 0,
            })
        })
    }

    /// The originator is done with the IRP (it took the result, or stopped waiting): the IRP
    /// retires once it has completed.
    pub(in crate::host) fn release_irp(&self, irp: IrpId) {
        self.with_world(|w| w.release_irp(irp));
    }

    /// `IoFreeIrp` by the driver that allocated the IRP: before sending it, or once its own
    /// completion routine took it back (`STATUS_MORE_PROCESSING_REQUIRED`), from inside that
    /// routine too, as drivers do; the IRP goes when the routine has returned. Freeing an IRP
    /// some driver below still holds is reported and ignored (Windows would free memory that
    /// driver goes on using). Returns whether the IRP was freed.
    pub(in crate::host) fn free_irp(&self, irp: IrpId) -> bool {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return false;
            };
            let originator_has_it = match state.holder {
                Holder::Halted(level) => level == state.stack.len(),
                Holder::Originator => state.phase != Phase::Completing,
                Holder::Frame(_) | Holder::Parked(_) => false,
            };
            if !originator_has_it {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!(
                        "IoFreeIrp of IRP #{} while a driver below still holds it",
                        irp.number()
                    ),
                });
                return false;
            }
            state.phase = Phase::Completed;
            state.holder = Holder::Originator;
            w.release_irp(irp);
            true
        })
    }

    /// The serial number the next IRP will get (for fake user addresses that differ per IRP).
    pub(in crate::host) fn next_irp_serial(&self) -> usize {
        self.with_world(|w| w.irps.next_serial())
    }

    /// How many IRPs this simulation holds now: in flight, or completed and still kept by their
    /// originator or a probe. Flat under any load once requests finish.
    #[must_use]
    pub fn live_irps(&self) -> usize {
        self.with_world(|w| w.irps.live())
    }

    pub(in crate::host) fn stack_size_of(&self, device: DeviceId) -> usize {
        self.with_world(|w| w.device(device).map_or(1, |d| d.stack_size))
    }

    pub(crate) fn stack_params(&self, irp: IrpId) -> StackParams {
        self.with_world(|w| {
            let loc = w.irp(irp).and_then(IrpState::current_loc);
            StackParams {
                major: loc.map_or(0, |l| l.major),
                minor: loc.map_or(0, |l| l.minor),
                params: loc.map_or(Params::Other, |l| l.params),
            }
        })
    }

    /// The current stack location, the requestor mode and the status, under one lock.
    pub(in crate::host) fn irp_view(&self, irp: IrpId) -> (StackParams, Mode, NtStatus) {
        self.with_world(|w| {
            let state = w.irp(irp);
            let loc = state.and_then(IrpState::current_loc);
            (
                StackParams {
                    major: loc.map_or(0, |l| l.major),
                    minor: loc.map_or(0, |l| l.minor),
                    params: loc.map_or(Params::Other, |l| l.params),
                },
                state.map_or(Mode::Kernel, |i| i.mode),
                state.map_or(NtStatus::SUCCESS, |i| i.status),
            )
        })
    }

    pub(crate) fn requestor_mode(&self, irp: IrpId) -> Mode {
        self.with_world(|w| w.irp(irp).map_or(Mode::Kernel, |i| i.mode))
    }

    /// The length of the system buffer the current stack location describes.
    pub(crate) fn system_buffer_len(&self, irp: IrpId) -> usize {
        self.with_world(|w| w.irp(irp).map_or(0, |state| w.system_buffer_len(state)))
    }

    pub(crate) fn user_addresses(&self, irp: IrpId) -> (usize, usize) {
        self.with_world(|w| w.irp(irp).map_or((0, 0), |i| i.user_addresses))
    }

    pub(crate) fn information(&self, irp: IrpId) -> usize {
        self.with_world(|w| w.irp(irp).map_or(0, |i| i.information))
    }

    pub(crate) fn set_information(&self, irp: IrpId, information: usize) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.information = information;
            }
        });
    }

    pub(crate) fn status(&self, irp: IrpId) -> NtStatus {
        self.with_world(|w| w.irp(irp).map_or(NtStatus::SUCCESS, |i| i.status))
    }

    pub(crate) fn set_status(&self, irp: IrpId, status: NtStatus) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.status = status;
            }
        });
    }

    pub(crate) fn pending_returned(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_some_and(|i| i.pending_returned))
    }

    pub(crate) fn cancel_requested(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_some_and(|i| i.cancel))
    }

    /// The device of `irp`'s current stack location (`IoGetCurrentIrpStackLocation(irp)->DeviceObject`).
    pub(crate) fn irp_current_device(&self, irp: IrpId) -> Option<DeviceId> {
        self.with_world(|w| {
            w.irp(irp)
                .and_then(IrpState::current_loc)
                .and_then(|l| l.device)
        })
    }

    /// The file object `irp` was sent through.
    pub(crate) fn irp_file(&self, irp: IrpId) -> Option<crate::host::FileObject> {
        self.with_world(|w| w.irp(irp).and_then(|i| i.file))
    }

    /// Records the file object `irp` is sent through.
    pub(in crate::host) fn set_irp_file(&self, irp: IrpId, file: crate::host::FileObject) {
        self.with_world(|w| {
            if let Some(state) = w.irp_mut(irp) {
                state.file = Some(file);
            }
        });
    }

    pub(crate) fn irp_driver_context(&self, irp: IrpId) -> usize {
        self.with_world(|w| w.irp(irp).map_or(0, |i| i.driver_context))
    }

    pub(crate) fn set_irp_driver_context(&self, irp: IrpId, context: usize) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.driver_context = context;
            }
        });
    }

    /// Whether scripted code may touch the IRP, and (with `buffers`) its object and
    /// system-buffer length, in one look under the lock.
    pub(in crate::host) fn scripted_access(&self, irp: IrpId, buffers: bool) -> ScriptedAccess {
        self.with_world(|w| {
            let Some(state) = w.irp(irp) else {
                return ScriptedAccess::Gone;
            };
            let owner = if state.phase == Phase::Completed || state.phase == Phase::Tracked {
                None
            } else {
                w.device_driver(state.current_loc().and_then(|l| l.device))
            };
            let native = owner
                .and_then(|d| w.drivers.get(d.0))
                .is_some_and(|d| !d.scripted);
            if native {
                ScriptedAccess::HeldByNativeDriver
            } else if buffers {
                ScriptedAccess::Open {
                    obj: Some(Arc::clone(&state.obj)),
                    system_len: w.system_buffer_len(state),
                }
            } else {
                ScriptedAccess::Open {
                    obj: None,
                    system_len: 0,
                }
            }
        })
    }
}
