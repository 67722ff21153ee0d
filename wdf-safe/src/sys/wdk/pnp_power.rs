//! `WDF_PNPPOWER_EVENT_CALLBACKS`: one trampoline per event, each finding the device's record
//! (its [`RECORD`](super::RECORD) context) and the driver, and calling the driver's callback
//! stored in the record. Only the events the driver handles are registered; KMDF's default
//! for the others is success.

use super::device::{DeviceHandle, DeviceRecord};
use super::driver::driver;
use super::wdk_sys::{
    self, NTSTATUS, WDF_PNPPOWER_EVENT_CALLBACKS, WDF_POWER_DEVICE_STATE, WDFCMRESLIST, WDFDEVICE,
};
use super::{guarded, record_of};
use crate::sys::{DriverCallbacks, PnpEvent, PnpPowerCallbacks, PowerState};
use wdm_compat::NtStatus;

/// The structure for `callbacks`: a trampoline for each event the driver handles, NULL for
/// the others.
pub(super) fn event_callbacks<D: DriverCallbacks>(
    callbacks: &D::PnpPower,
) -> WDF_PNPPOWER_EVENT_CALLBACKS {
    let on = |event| callbacks.handles(event);
    WDF_PNPPOWER_EVENT_CALLBACKS {
        Size: size_of::<WDF_PNPPOWER_EVENT_CALLBACKS>() as u32,
        EvtDeviceD0Entry: on(PnpEvent::D0Entry).then_some(evt_d0_entry::<D> as _),
        EvtDeviceD0Exit: on(PnpEvent::D0Exit).then_some(evt_d0_exit::<D> as _),
        EvtDevicePrepareHardware: on(PnpEvent::PrepareHardware)
            .then_some(evt_prepare_hardware::<D> as _),
        EvtDeviceReleaseHardware: on(PnpEvent::ReleaseHardware)
            .then_some(evt_release_hardware::<D> as _),
        EvtDeviceSelfManagedIoCleanup: on(PnpEvent::SelfManagedIoCleanup)
            .then_some(evt_self_managed_io_cleanup::<D> as _),
        EvtDeviceSelfManagedIoFlush: on(PnpEvent::SelfManagedIoFlush)
            .then_some(evt_self_managed_io_flush::<D> as _),
        EvtDeviceSelfManagedIoInit: on(PnpEvent::SelfManagedIoInit)
            .then_some(evt_self_managed_io_init::<D> as _),
        EvtDeviceSelfManagedIoSuspend: on(PnpEvent::SelfManagedIoSuspend)
            .then_some(evt_self_managed_io_suspend::<D> as _),
        EvtDeviceSelfManagedIoRestart: on(PnpEvent::SelfManagedIoRestart)
            .then_some(evt_self_managed_io_restart::<D> as _),
        EvtDeviceSurpriseRemoval: on(PnpEvent::SurpriseRemoval)
            .then_some(evt_surprise_removal::<D> as _),
        ..WDF_PNPPOWER_EVENT_CALLBACKS::default()
    }
}

/// Runs the driver's callback for `event` on `device`: the status it returns, success when
/// the device has no record or the driver is gone (nothing of the driver's can run then).
fn raise<D: DriverCallbacks>(device: WDFDEVICE, event: PnpEvent, state: PowerState) -> NTSTATUS {
    guarded(NtStatus::SUCCESS.to_raw(), || {
        // SAFETY: a device record lives until the device's destroy callback, after these; the
        // framework calls them only for a device the crate created.
        // Entered for the callback: the driver's code may delete the device.
        let Some(record) = (unsafe { record_of::<DeviceRecord<D>>(device.cast()).as_ref() })
            .and_then(DeviceRecord::enter)
        else {
            return NtStatus::SUCCESS.to_raw();
        };
        let (Some(driver), Some(callbacks)) = (driver::<D>(), record.pnp_power_callbacks()) else {
            return NtStatus::SUCCESS.to_raw();
        };
        match callbacks.call(event, driver, DeviceHandle::of(&record), state) {
            Ok(()) => NtStatus::SUCCESS.to_raw(),
            Err(status) => status.to_raw(),
        }
    })
}

/// A `WDF_POWER_DEVICE_STATE` as a [`PowerState`] (an unknown value as `D3`, the state the
/// device is not in D0).
const fn power_state(state: WDF_POWER_DEVICE_STATE) -> PowerState {
    use wdk_sys::_WDF_POWER_DEVICE_STATE as S;
    match state {
        S::WdfPowerDeviceD0 => PowerState::D0,
        S::WdfPowerDeviceD1 => PowerState::D1,
        S::WdfPowerDeviceD2 => PowerState::D2,
        S::WdfPowerDeviceD3Final => PowerState::D3Final,
        S::WdfPowerDevicePrepareForHibernation => PowerState::PrepareForHibernation,
        _ => PowerState::D3,
    }
}

unsafe extern "C" fn evt_prepare_hardware<D: DriverCallbacks>(
    device: WDFDEVICE,
    _resources_raw: WDFCMRESLIST,
    _resources_translated: WDFCMRESLIST,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::PrepareHardware, PowerState::D0)
}

unsafe extern "C" fn evt_release_hardware<D: DriverCallbacks>(
    device: WDFDEVICE,
    _resources_translated: WDFCMRESLIST,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::ReleaseHardware, PowerState::D3Final)
}

unsafe extern "C" fn evt_d0_entry<D: DriverCallbacks>(
    device: WDFDEVICE,
    previous: WDF_POWER_DEVICE_STATE,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::D0Entry, power_state(previous))
}

unsafe extern "C" fn evt_d0_exit<D: DriverCallbacks>(
    device: WDFDEVICE,
    target: WDF_POWER_DEVICE_STATE,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::D0Exit, power_state(target))
}

unsafe extern "C" fn evt_self_managed_io_init<D: DriverCallbacks>(device: WDFDEVICE) -> NTSTATUS {
    raise::<D>(device, PnpEvent::SelfManagedIoInit, PowerState::D0)
}

unsafe extern "C" fn evt_self_managed_io_suspend<D: DriverCallbacks>(
    device: WDFDEVICE,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::SelfManagedIoSuspend, PowerState::D0)
}

unsafe extern "C" fn evt_self_managed_io_restart<D: DriverCallbacks>(
    device: WDFDEVICE,
) -> NTSTATUS {
    raise::<D>(device, PnpEvent::SelfManagedIoRestart, PowerState::D0)
}

unsafe extern "C" fn evt_self_managed_io_flush<D: DriverCallbacks>(device: WDFDEVICE) {
    let _ = raise::<D>(device, PnpEvent::SelfManagedIoFlush, PowerState::D0);
}

unsafe extern "C" fn evt_self_managed_io_cleanup<D: DriverCallbacks>(device: WDFDEVICE) {
    let _ = raise::<D>(device, PnpEvent::SelfManagedIoCleanup, PowerState::D3Final);
}

unsafe extern "C" fn evt_surprise_removal<D: DriverCallbacks>(device: WDFDEVICE) {
    let _ = raise::<D>(device, PnpEvent::SurpriseRemoval, PowerState::D0);
}
