//! `FxPkgPnp` for a function or filter device: the PnP and power IRPs a device receives, and
//! the driver's `WDF_PNPPOWER_EVENT_CALLBACKS` they raise, in KMDF's order
//! (shared/irphandlers/pnp/pnpstatemachine.cpp, powerstatemachine.cpp,
//! powerpolicystatemachine.cpp, fdopower.cpp, fxpkgfdo.cpp).
//!
//! The three state machines (PnP, power, power policy) are reduced to what a device without
//! interrupts, DMA, wake or idle settings goes through, with its function driver owning power
//! policy:
//!
//! * start: the IRP goes down first (an FDO starts after its bus), then
//!   `EvtDevicePrepareHardware`, `EvtDeviceD0Entry(WdfPowerDeviceD3Final)`,
//!   `EvtDeviceSelfManagedIoInit`, and the device interfaces are enabled before the IRP
//!   completes;
//! * system sleep (`IRP_MN_SET_POWER`, `SystemPowerState` below working): the S-IRP goes down,
//!   then the power policy owner requests a device D3 IRP (`PoRequestPowerIrp`), which raises
//!   `EvtDeviceSelfManagedIoSuspend` and `EvtDeviceD0Exit(WdfPowerDeviceD3)` before it goes
//!   down; system wake requests D0, which goes down first and then raises
//!   `EvtDeviceD0Entry(WdfPowerDeviceD3)` and `EvtDeviceSelfManagedIoRestart`. A device
//!   set-power IRP the policy owner did not request is bug check `WDF_VIOLATION` (0x10D)
//!   subcode `WDF_POWER_MULTIPLE_PPO` (fdopower.cpp `DispatchDeviceSetPower`); a filter,
//!   which does not own power policy, follows the D-IRPs it sees;
//! * removal (`IRP_MN_REMOVE_DEVICE`, with or without a query before): suspend,
//!   `D0Exit(WdfPowerDeviceD3Final)`, `EvtDeviceReleaseHardware`,
//!   `EvtDeviceSelfManagedIoFlush`, `EvtDeviceSelfManagedIoCleanup`, then the device's deletion
//!   (its default target first, which cancels what was sent to it and waits for it, then the
//!   children's cleanup callbacks, then the device's), and the IRP goes down last;
//! * surprise removal: `EvtDeviceSurpriseRemoval` first, then suspend,
//!   `D0Exit(WdfPowerDeviceD3Final)`, release hardware and flush; the removal that follows
//!   has only self-managed I/O cleanup and the deletion left.
//!
//! A start a callback fails (pnpstatemachine.cpp `PnpEventFailedOwnHardware`,
//! powerstatemachine.cpp `InitialPowerUpFailed`, `PowerConnectInterruptFailed`):
//!
//! * prepare hardware fails: release hardware is still called; the start IRP fails with the
//!   driver's status;
//! * D0 entry fails: no D0 exit; release hardware; the start fails with
//!   `STATUS_DEVICE_POWER_FAILURE`;
//! * self-managed I/O init fails: `D0Exit(WdfPowerDeviceD3Final)` (no suspend), release
//!   hardware, flush; the start fails with `STATUS_DEVICE_POWER_FAILURE`, and the removal that
//!   follows calls self-managed I/O cleanup.
//!
//! Simplified: the S0 IRP completes after the device is back in D0 (KMDF lets it complete
//! first); a failing suspend, D0 exit or release, and a failing D0 entry or self-managed I/O
//! restart on wake, are traced and the transition goes on (the device stays out of D0 after a
//! failed D0 entry), where KMDF fails the device and asks PnP to remove it.

use std::format;

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, IrpId, IrpParameters, pnp_minor, power_minor};

use super::device::{self, Routing};
use super::objects::Handle;
use super::{Cx, io, lifecycle, queue_power};
use crate::ffi::bindings::{
    _WDF_POWER_DEVICE_STATE as PowerState, WDF_PNPPOWER_EVENT_CALLBACKS, WDF_POWER_DEVICE_STATE,
};
use crate::ffi::callbacks;

/// `DevicePowerState`, the `Type` of a device set-power IRP.
const DEVICE_POWER_STATE: u32 = 1;

/// Where a device is in its PnP and power life.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PowerLife {
    /// Between a successful `EvtDevicePrepareHardware` and `EvtDeviceReleaseHardware`.
    pub(crate) hardware: bool,
    /// In D0: between a successful `EvtDeviceD0Entry` and `EvtDeviceD0Exit`.
    pub(crate) in_d0: bool,
    /// The state the device is in when not in D0 (`WdfPowerDeviceD3Final` before its first
    /// start).
    pub(crate) dx: WDF_POWER_DEVICE_STATE,
    /// `EvtDeviceSelfManagedIoInit` was called (flush and cleanup are owed, even if it
    /// failed).
    pub(crate) self_managed_io: bool,
    /// Self-managed I/O is suspended (restart is owed on the return to D0).
    pub(crate) suspended: bool,
    /// `IRP_MN_SURPRISE_REMOVAL` arrived.
    pub(crate) surprise_removed: bool,
    /// The device power state the power policy requested (`PoRequestPowerIrp`) and whose
    /// D-IRP has not arrived yet, as a `DEVICE_POWER_STATE` (1 for D0 … 4 for D3).
    pub(crate) requested: Option<u32>,
    /// The system is shutting down: the driver's D0 exit is to `WdfPowerDeviceD3Final`.
    pub(crate) shutting_down: bool,
}

impl PowerLife {
    pub(crate) const fn new() -> Self {
        Self {
            hardware: false,
            in_d0: false,
            dx: PowerState::WdfPowerDeviceD3Final,
            self_managed_io: false,
            suspended: false,
            surprise_removed: false,
            requested: None,
            shutting_down: false,
        }
    }
}

/// The device's callbacks and where it is.
fn life(cx: &Cx, device: Handle) -> Option<(WDF_PNPPOWER_EVENT_CALLBACKS, PowerLife)> {
    let state = cx.lock();
    let body = state.objects.get(device)?.device()?;
    Some((body.pnp_power, body.power))
}

fn set_life(cx: &Cx, device: Handle, change: impl FnOnce(&mut PowerLife)) {
    let mut state = cx.lock();
    if let Some(body) = state.objects.get_mut(device).and_then(|o| o.device_mut()) {
        change(&mut body.power);
    }
}

/// `IRP_MJ_PNP` for a PnP device with a device below.
pub(crate) fn dispatch_pnp(cx: &Cx, device: Handle, routing: &Routing, irp: IrpId) -> NtStatus {
    let Some(lower) = routing.lower else {
        return io::complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST);
    };
    match cx.kernel.minor(irp) {
        pnp_minor::START_DEVICE => start(cx, device, lower, irp),
        pnp_minor::SURPRISE_REMOVAL => {
            surprise_removal(cx, device);
            io::forward(cx, irp, lower)
        }
        pnp_minor::REMOVE_DEVICE => remove(cx, device, lower, irp),
        pnp_minor::STOP_DEVICE => {
            stop_for_rebalance(cx, device);
            io::forward(cx, irp, lower)
        }
        // The query succeeds: nothing of the driver's runs for it (no EvtDeviceQueryStop).
        _ => io::forward(cx, irp, lower),
    }
}

/// `IRP_MN_STOP_DEVICE` after a successful query (`PnpEventQueryStopped` … `PnpEventStopped`):
/// the device leaves D0 as for a removal (self-managed I/O suspended, power-managed queues
/// stopped, D0 exit to D3Final) and gives its hardware back; nothing is purged or cleaned up,
/// and the next start prepares the hardware again and restarts self-managed I/O
/// (`PnpEventStartingFromStopped`, `PnpEventRestarting`).
fn stop_for_rebalance(cx: &Cx, device: Handle) {
    power_down(cx, device, PowerState::WdfPowerDeviceD3Final);
    release_hardware(cx, device);
}

/// `SystemPowerState`, the `Type` of a system set-power IRP.
const SYSTEM_POWER_STATE: u32 = 0;

/// `PowerSystemWorking` (S0) and `PowerSystemShutdown` (S5).
const SYSTEM_WORKING: u32 = 1;
const SYSTEM_SHUTDOWN: u32 = 6;

/// `PowerDeviceD0` and `PowerDeviceD3`.
const DEVICE_D0: u32 = 1;
const DEVICE_D3: u32 = 4;

/// `WDF_POWER_MULTIPLE_PPO`, the `WDF_VIOLATION` subcode of an unrequested device set-power.
const WDF_POWER_MULTIPLE_PPO: usize = 0xD;

/// `IRP_MJ_POWER` for a PnP device with a device below: set-power IRPs move the device between
/// D0 and Dx; the rest goes down.
pub(crate) fn dispatch_power(cx: &Cx, device: Handle, routing: &Routing, irp: IrpId) -> NtStatus {
    let Some(lower) = routing.lower else {
        return io::complete(cx, irp, NtStatus::INVALID_DEVICE_REQUEST);
    };
    let (kind, state) = match cx.kernel.parameters(irp) {
        IrpParameters::Power { kind, state } if cx.kernel.minor(irp) == power_minor::SET_POWER => {
            (kind, state)
        }
        _ => return io::forward(cx, irp, lower),
    };
    let Some((_, life)) = life(cx, device) else {
        return io::forward(cx, irp, lower);
    };
    if !life.hardware || life.surprise_removed {
        // Not started (or gone): nothing of the driver's runs.
        return io::forward(cx, irp, lower);
    }
    if kind == SYSTEM_POWER_STATE {
        if routing.filter {
            return io::forward(cx, irp, lower);
        }
        return system_set_power(cx, device, lower, irp, state);
    }
    if kind != DEVICE_POWER_STATE {
        return io::forward(cx, irp, lower);
    }
    if !routing.filter && life.requested.is_none() {
        let wdm = device::wdm_of(cx, device).map_or(0, DeviceId::index);
        cx.bug_check(
            None,
            [WDF_POWER_MULTIPLE_PPO, wdm, irp.index(), 0],
            "a device set-power IRP the device's power policy owner did not request: KMDF owns \
             the device's power policy and requests D-IRPs itself (WDF_POWER_MULTIPLE_PPO); \
             put the system to sleep (a system set-power IRP) instead",
        );
        return io::forward(cx, irp, lower);
    }
    set_life(cx, device, |l| l.requested = None);
    device_set_power(cx, device, lower, irp, state, life)
}

/// A system set-power IRP at the power policy owner (`DispatchSystemSetPower`): down first,
/// then the device power state it maps to is requested (D0 for S0, D3 for sleep and
/// hibernate, D3 with `WdfPowerDeviceD3Final` for the driver at shutdown), and the S-IRP
/// completes once the D-IRP did.
fn system_set_power(cx: &Cx, device: Handle, lower: DeviceId, irp: IrpId, state: u32) -> NtStatus {
    let status = io::send_synchronously(cx, irp, lower);
    let in_d0 = life(cx, device).is_some_and(|(_, l)| l.in_d0);
    let wanted = if state == SYSTEM_WORKING {
        DEVICE_D0
    } else {
        DEVICE_D3
    };
    if status.is_success() && in_d0 != (wanted == DEVICE_D0) {
        set_life(cx, device, |l| {
            l.requested = Some(wanted);
            l.shutting_down = state == SYSTEM_SHUTDOWN;
        });
        if let Some(wdm) = device::wdm_of(cx, device) {
            let d = u8::try_from(wanted - 1).unwrap_or(3);
            let _ = cx.kernel.request_device_power(wdm, d);
        }
    }
    let information = cx.kernel.information(irp);
    cx.kernel.complete(irp, status, information);
    status
}

/// A device set-power IRP the power policy requested (or, at a filter, one going down the
/// stack): to D0 it goes down first and the device powers up; to Dx the device powers down
/// first and it goes down after.
fn device_set_power(
    cx: &Cx,
    device: Handle,
    lower: DeviceId,
    irp: IrpId,
    state: u32,
    life: PowerLife,
) -> NtStatus {
    if state == DEVICE_D0 {
        if life.in_d0 {
            return io::forward(cx, irp, lower);
        }
        let status = io::send_synchronously(cx, irp, lower);
        if status.is_success() {
            let _ = power_up(cx, device, life.dx);
        }
        let information = cx.kernel.information(irp);
        cx.kernel.complete(irp, status, information);
        return status;
    }
    if life.in_d0 {
        // `WDF_POWER_DEVICE_STATE` is `DEVICE_POWER_STATE` (D1 … D3 are 2 … 4 in both); a
        // shutdown's D3 is D3Final for the driver.
        let target = if life.shutting_down {
            PowerState::WdfPowerDeviceD3Final
        } else {
            i32::try_from(state).unwrap_or(PowerState::WdfPowerDeviceD3)
        };
        power_down(cx, device, target);
    }
    io::forward(cx, irp, lower)
}

/// `IRP_MN_START_DEVICE`: down first, then prepare hardware, D0 entry and self-managed I/O
/// init; the interfaces are enabled when all succeeded.
fn start(cx: &Cx, device: Handle, lower: DeviceId, irp: IrpId) -> NtStatus {
    let mut status = io::send_synchronously(cx, irp, lower);
    if status.is_success() {
        status = start_device(cx, device);
    }
    if status.is_success() {
        device::set_interfaces(cx, device, true);
    }
    let information = cx.kernel.information(irp);
    cx.kernel.complete(irp, status, information);
    status
}

/// The driver's part of a start.
fn start_device(cx: &Cx, device: Handle) -> NtStatus {
    let Some((events, life)) = life(cx, device) else {
        return NtStatus::SUCCESS;
    };
    if life.hardware {
        return NtStatus::SUCCESS;
    }
    let status = status_of(callbacks::evt_device_prepare_hardware(
        events.EvtDevicePrepareHardware,
        device,
    ));
    // From here the driver owns the hardware, even if preparing it failed: KMDF calls
    // EvtDeviceReleaseHardware either way (`PnpEventFailedOwnHardware`).
    set_life(cx, device, |l| {
        l.hardware = true;
        l.dx = PowerState::WdfPowerDeviceD3Final;
    });
    if status.is_error() {
        trace(cx, "EvtDevicePrepareHardware", status);
        release_hardware(cx, device);
        return status;
    }
    let status = power_up(cx, device, PowerState::WdfPowerDeviceD3Final);
    if status.is_error() {
        // `PnpEventFailedOwnHardware`, then `PnpCleanupForRemove`.
        release_hardware(cx, device);
        device::set_interfaces(cx, device, false);
        queue_power::purge_for_removal(cx, device, true);
        flush(cx, device);
        return NtStatus::DEVICE_POWER_FAILURE;
    }
    status
}

/// D0 entry from `previous`, then self-managed I/O init (the first time) or restart. A failed
/// D0 entry leaves the device out of D0; a failed init or restart powers it down again.
fn power_up(cx: &Cx, device: Handle, previous: WDF_POWER_DEVICE_STATE) -> NtStatus {
    let Some((events, life)) = life(cx, device) else {
        return NtStatus::SUCCESS;
    };
    let status = status_of(callbacks::evt_device_power(
        events.EvtDeviceD0Entry,
        device,
        previous,
    ));
    if status.is_error() {
        trace(cx, "EvtDeviceD0Entry", status);
        return status;
    }
    set_life(cx, device, |l| l.in_d0 = true);
    // Power-managed queues present again (after EvtIoResume for what EvtIoStop acknowledged),
    // before self-managed I/O starts (`PowerD0StartingStartSelfManagedIo`).
    queue_power::power_on(cx, device);
    let restart = life.self_managed_io;
    set_life(cx, device, |l| l.self_managed_io = true);
    let (name, status) = if restart {
        (
            "EvtDeviceSelfManagedIoRestart",
            status_of(callbacks::evt_device_status(
                events.EvtDeviceSelfManagedIoRestart,
                device,
            )),
        )
    } else {
        (
            "EvtDeviceSelfManagedIoInit",
            status_of(callbacks::evt_device_status(
                events.EvtDeviceSelfManagedIoInit,
                device,
            )),
        )
    };
    if status.is_error() {
        trace(cx, name, status);
        queue_power::power_off(cx, device, queue_power::ACTION_SUSPEND);
        exit_d0(cx, device, PowerState::WdfPowerDeviceD3Final);
        return status;
    }
    set_life(cx, device, |l| l.suspended = false);
    NtStatus::SUCCESS
}

/// Self-managed I/O suspend, then D0 exit to `target`.
fn power_down(cx: &Cx, device: Handle, target: WDF_POWER_DEVICE_STATE) {
    let Some((events, life)) = life(cx, device) else {
        return;
    };
    if !life.in_d0 {
        return;
    }
    if life.self_managed_io && !life.suspended {
        let status = status_of(callbacks::evt_device_status(
            events.EvtDeviceSelfManagedIoSuspend,
            device,
        ));
        if status.is_error() {
            trace(cx, "EvtDeviceSelfManagedIoSuspend", status);
        }
        set_life(cx, device, |l| l.suspended = true);
    }
    queue_power::power_off(cx, device, queue_power::ACTION_SUSPEND);
    exit_d0(cx, device, target);
}

/// `EvtDeviceD0Exit(target)`, if the device is in D0.
fn exit_d0(cx: &Cx, device: Handle, target: WDF_POWER_DEVICE_STATE) {
    let Some((events, life)) = life(cx, device) else {
        return;
    };
    if !life.in_d0 {
        return;
    }
    let status = status_of(callbacks::evt_device_power(
        events.EvtDeviceD0Exit,
        device,
        target,
    ));
    if status.is_error() {
        trace(cx, "EvtDeviceD0Exit", status);
    }
    set_life(cx, device, |l| {
        l.in_d0 = false;
        l.dx = target;
    });
}

/// `EvtDeviceReleaseHardware`, if the hardware was prepared.
fn release_hardware(cx: &Cx, device: Handle) {
    let Some((events, life)) = life(cx, device) else {
        return;
    };
    if !life.hardware {
        return;
    }
    let status = status_of(callbacks::evt_device_release_hardware(
        events.EvtDeviceReleaseHardware,
        device,
    ));
    if status.is_error() {
        trace(cx, "EvtDeviceReleaseHardware", status);
    }
    set_life(cx, device, |l| l.hardware = false);
}

/// Power down for good and give the hardware back: suspend, D0 exit to D3Final, release
/// hardware, then `PnpCleanupForRemove`: the interfaces off, the power-managed queues purged,
/// flush (what of it is still owed).
fn stop_device(cx: &Cx, device: Handle) {
    power_down(cx, device, PowerState::WdfPowerDeviceD3Final);
    let owned_hardware = life(cx, device).is_some_and(|(_, l)| l.hardware);
    if owned_hardware {
        release_hardware(cx, device);
    }
    device::set_interfaces(cx, device, false);
    if owned_hardware {
        queue_power::purge_for_removal(cx, device, true);
        flush(cx, device);
    }
}

/// `EvtDeviceSelfManagedIoFlush`, once self-managed I/O was initialised.
fn flush(cx: &Cx, device: Handle) {
    if let Some((events, life)) = life(cx, device)
        && life.self_managed_io
    {
        callbacks::evt_device_notice(events.EvtDeviceSelfManagedIoFlush, device);
    }
}

/// `IRP_MN_SURPRISE_REMOVAL`: the interfaces go, the driver hears of it, and the device is
/// stopped.
fn surprise_removal(cx: &Cx, device: Handle) {
    let Some((events, life)) = life(cx, device) else {
        return;
    };
    if life.surprise_removed {
        return;
    }
    set_life(cx, device, |l| l.surprise_removed = true);
    {
        let _inside = InSurpriseRemoval::enter();
        callbacks::evt_device_notice(events.EvtDeviceSurpriseRemoval, device);
    }
    stop_device(cx, device);
}

/// `IRP_MN_REMOVE_DEVICE`: the device stops (if the surprise removal did not), self-managed
/// I/O is cleaned up, the device is deleted, then the IRP goes down and the device object goes.
fn remove(cx: &Cx, device: Handle, lower: DeviceId, irp: IrpId) -> NtStatus {
    let wdm = device::begin_removal(cx, device);
    stop_device(cx, device);
    // `PnpEventRemovedCommonCode`: the other queues are purged before self-managed I/O
    // cleanup.
    queue_power::purge_for_removal(cx, device, false);
    if let Some((events, life)) = life(cx, device)
        && life.self_managed_io
    {
        callbacks::evt_device_notice(events.EvtDeviceSelfManagedIoCleanup, device);
        set_life(cx, device, |l| l.self_managed_io = false);
    }
    // The default target goes with the device, after what was sent to it is back.
    super::created::remove_target(cx, device);
    lifecycle::delete_object(cx, device, "device removal");
    let status = io::forward(cx, irp, lower);
    cx.kernel.detach(lower);
    if let Some(wdm) = wdm {
        cx.kernel.delete_device(wdm);
    }
    status
}

std::thread_local! {
    /// This thread runs an `EvtDeviceSurpriseRemoval`.
    static SURPRISE_REMOVAL: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Marks the thread as inside `EvtDeviceSurpriseRemoval` while it lives.
struct InSurpriseRemoval(bool);

impl InSurpriseRemoval {
    fn enter() -> Self {
        Self(SURPRISE_REMOVAL.with(|inside| inside.replace(true)))
    }
}

impl Drop for InSurpriseRemoval {
    fn drop(&mut self) {
        SURPRISE_REMOVAL.with(|inside| inside.set(self.0));
    }
}

/// SDV's rules about `EvtDeviceSurpriseRemoval`, which KMDF itself does not check: the queues
/// are the framework's to stop then (EvtSurpriseRemoveNoSuspendQueue), and requests are not
/// completed from it (EvtSurpriseRemoveNoRequestComplete). `what` is what the driver called.
pub(crate) fn check_not_in_surprise_removal(cx: &Cx, rule: &'static str, what: &str) {
    if SURPRISE_REMOVAL.with(core::cell::Cell::get) {
        cx.verifier_break(Some(rule), &format!("{what} from EvtDeviceSurpriseRemoval"));
    }
}

fn status_of(raw: i32) -> NtStatus {
    NtStatus::from_raw(raw)
}

/// A failed callback, in the debugger output (`!wdflogdump` would show it).
fn trace(cx: &Cx, callback: &str, status: NtStatus) {
    cx.kernel
        .dbg_print(&format!("KMDF: {callback} failed with {status}"));
}
