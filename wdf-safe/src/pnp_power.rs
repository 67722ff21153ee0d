//! PnP and power callbacks of a PnP device (`WDF_PNPPOWER_EVENT_CALLBACKS`,
//! `WdfDeviceInitSetPnpPowerEventCallbacks`).
//!
//! A driver registers the events it handles on the [`FdoInit`](crate::FdoInit) with
//! [`FdoInit::set_pnp_power_callbacks`](crate::FdoInit::set_pnp_power_callbacks); the framework
//! runs the others' default (success). Each callback gets the driver and the device. KMDF calls
//! them in this order (the simulated framework does too, from the PnP and power IRPs the test's
//! bus sends):
//!
//! | what happens to the device | callbacks, in order |
//! |---|---|
//! | first start (`IRP_MN_START_DEVICE`, after the bus started it) | `prepare_hardware`, `d0_entry(D3Final)`, `self_managed_io_init` |
//! | leaves D0 (`IRP_MN_SET_POWER` Dx) | `self_managed_io_suspend`, `d0_exit(Dx)` |
//! | back to D0 | `d0_entry(Dx)`, `self_managed_io_restart` |
//! | removed (`IRP_MN_REMOVE_DEVICE`) while in D0 | `self_managed_io_suspend`, `d0_exit(D3Final)`, `release_hardware`, `self_managed_io_flush`, `self_managed_io_cleanup`, then the device's cleanup |
//! | surprise-removed (`IRP_MN_SURPRISE_REMOVAL`) | `surprise_removal`, then suspend, `d0_exit(D3Final)`, `release_hardware` and flush; the removal that follows only cleans up |
//!
//! A callback of the start that fails fails the start, after which the PnP manager removes
//! the device: a failed `prepare_hardware` is still followed by `release_hardware`, and the
//! start fails with its status; a failed `d0_entry` is followed by `release_hardware` (there is
//! no D0 to exit), a failed `self_managed_io_init` by `d0_exit(D3Final)`, `release_hardware`
//! and flush, and the start fails with `STATUS_DEVICE_POWER_FAILURE`. A failing suspend,
//! `d0_exit` or `release_hardware` does not stop the power-down or removal (KMDF reports the
//! device as failed).
//!
//! IRQL: every callback runs at PASSIVE_LEVEL (the device is power-pageable, as KMDF's FDOs are
//! by default).
//!
//! Resource lists (`ResourcesRaw`, `ResourcesTranslated`) are not passed to
//! `prepare_hardware`: the simulated buses assign no hardware resources.

use crate::KmdfDriver;
use crate::device::Device;
use crate::kind::state::Ready;
pub use crate::sys::PowerState;
use crate::sys::{self, DeviceHandle, PnpEvent};
use wdm_compat::NtResult;

/// A PnP event callback that may fail the transition: prepare/release hardware and
/// self-managed I/O init, suspend and restart.
pub type DeviceEvent<D> = fn(&D, Device<D, Ready>) -> NtResult;

/// `EvtDeviceD0Entry` (with the state the device leaves) or `EvtDeviceD0Exit` (with the state
/// it enters).
pub type PowerEvent<D> = fn(&D, Device<D, Ready>, PowerState) -> NtResult;

/// A PnP event callback that cannot fail: self-managed I/O flush and cleanup, surprise
/// removal.
pub type DeviceNotice<D> = fn(&D, Device<D, Ready>);

/// `WDF_PNPPOWER_EVENT_CALLBACKS`: the events a device's driver handles; the rest are left to
/// the framework.
pub struct PnpPowerCallbacks<D: KmdfDriver> {
    prepare_hardware: Option<DeviceEvent<D>>,
    release_hardware: Option<DeviceEvent<D>>,
    d0_entry: Option<PowerEvent<D>>,
    d0_exit: Option<PowerEvent<D>>,
    self_managed_io_init: Option<DeviceEvent<D>>,
    self_managed_io_suspend: Option<DeviceEvent<D>>,
    self_managed_io_restart: Option<DeviceEvent<D>>,
    self_managed_io_flush: Option<DeviceNotice<D>>,
    self_managed_io_cleanup: Option<DeviceNotice<D>>,
    surprise_removal: Option<DeviceNotice<D>>,
}

impl<D: KmdfDriver> Clone for PnpPowerCallbacks<D> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<D: KmdfDriver> Copy for PnpPowerCallbacks<D> {}

impl<D: KmdfDriver> Default for PnpPowerCallbacks<D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<D: KmdfDriver> PnpPowerCallbacks<D> {
    /// `WDF_PNPPOWER_EVENT_CALLBACKS_INIT`: no callbacks.
    ///
    /// IRQL: any: builds the structure.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            prepare_hardware: None,
            release_hardware: None,
            d0_entry: None,
            d0_exit: None,
            self_managed_io_init: None,
            self_managed_io_suspend: None,
            self_managed_io_restart: None,
            self_managed_io_flush: None,
            self_managed_io_cleanup: None,
            surprise_removal: None,
        }
    }

    /// `EvtDevicePrepareHardware`: the device was started and its hardware is the driver's
    /// (map registers, read the configuration). Runs before the first D0 entry of each start.
    #[must_use]
    pub const fn on_prepare_hardware(mut self, callback: DeviceEvent<D>) -> Self {
        self.prepare_hardware = Some(callback);
        self
    }

    /// `EvtDeviceReleaseHardware`: undo `prepare_hardware`; the device is in D3Final.
    #[must_use]
    pub const fn on_release_hardware(mut self, callback: DeviceEvent<D>) -> Self {
        self.release_hardware = Some(callback);
        self
    }

    /// `EvtDeviceD0Entry`: the device entered D0, coming from the given state (`D3Final` on
    /// the first start).
    #[must_use]
    pub const fn on_d0_entry(mut self, callback: PowerEvent<D>) -> Self {
        self.d0_entry = Some(callback);
        self
    }

    /// `EvtDeviceD0Exit`: the device is about to leave D0 for the given state (`D3Final` when
    /// it is removed).
    #[must_use]
    pub const fn on_d0_exit(mut self, callback: PowerEvent<D>) -> Self {
        self.d0_exit = Some(callback);
        self
    }

    /// `EvtDeviceSelfManagedIoInit`: once, after the first D0 entry; start the I/O the
    /// framework does not manage (timers, queues the driver starts itself).
    #[must_use]
    pub const fn on_self_managed_io_init(mut self, callback: DeviceEvent<D>) -> Self {
        self.self_managed_io_init = Some(callback);
        self
    }

    /// `EvtDeviceSelfManagedIoSuspend`: before the device leaves D0, or is removed.
    #[must_use]
    pub const fn on_self_managed_io_suspend(mut self, callback: DeviceEvent<D>) -> Self {
        self.self_managed_io_suspend = Some(callback);
        self
    }

    /// `EvtDeviceSelfManagedIoRestart`: after each return to D0 that followed a suspend.
    #[must_use]
    pub const fn on_self_managed_io_restart(mut self, callback: DeviceEvent<D>) -> Self {
        self.self_managed_io_restart = Some(callback);
        self
    }

    /// `EvtDeviceSelfManagedIoFlush`: the device is being removed; fail what self-managed I/O
    /// still holds.
    #[must_use]
    pub const fn on_self_managed_io_flush(mut self, callback: DeviceNotice<D>) -> Self {
        self.self_managed_io_flush = Some(callback);
        self
    }

    /// `EvtDeviceSelfManagedIoCleanup`: last of the removal, after `release_hardware`.
    #[must_use]
    pub const fn on_self_managed_io_cleanup(mut self, callback: DeviceNotice<D>) -> Self {
        self.self_managed_io_cleanup = Some(callback);
        self
    }

    /// `EvtDeviceSurpriseRemoval`: the device is gone without warning; the hardware no longer
    /// answers, and the removal follows.
    #[must_use]
    pub const fn on_surprise_removal(mut self, callback: DeviceNotice<D>) -> Self {
        self.surprise_removal = Some(callback);
        self
    }
}

/// What the seam calls: the callback of the event, with the device typed as ready.
impl<D: KmdfDriver> sys::PnpPowerCallbacks<D> for PnpPowerCallbacks<D> {
    fn handles(&self, event: PnpEvent) -> bool {
        match event {
            PnpEvent::PrepareHardware => self.prepare_hardware.is_some(),
            PnpEvent::ReleaseHardware => self.release_hardware.is_some(),
            PnpEvent::D0Entry => self.d0_entry.is_some(),
            PnpEvent::D0Exit => self.d0_exit.is_some(),
            PnpEvent::SelfManagedIoInit => self.self_managed_io_init.is_some(),
            PnpEvent::SelfManagedIoSuspend => self.self_managed_io_suspend.is_some(),
            PnpEvent::SelfManagedIoRestart => self.self_managed_io_restart.is_some(),
            PnpEvent::SelfManagedIoFlush => self.self_managed_io_flush.is_some(),
            PnpEvent::SelfManagedIoCleanup => self.self_managed_io_cleanup.is_some(),
            PnpEvent::SurpriseRemoval => self.surprise_removal.is_some(),
        }
    }

    fn call(
        &self,
        event: PnpEvent,
        driver: &D,
        device: DeviceHandle<D>,
        state: PowerState,
    ) -> NtResult {
        // The framework calls these only for a device `EvtDriverDeviceAdd` created and
        // returned, so the device is ready.
        let device = Device::<D, Ready>::new(device);
        let event_callback = match event {
            PnpEvent::PrepareHardware => self.prepare_hardware,
            PnpEvent::ReleaseHardware => self.release_hardware,
            PnpEvent::SelfManagedIoInit => self.self_managed_io_init,
            PnpEvent::SelfManagedIoSuspend => self.self_managed_io_suspend,
            PnpEvent::SelfManagedIoRestart => self.self_managed_io_restart,
            PnpEvent::D0Entry => return self.d0_entry.map_or(Ok(()), |f| f(driver, device, state)),
            PnpEvent::D0Exit => return self.d0_exit.map_or(Ok(()), |f| f(driver, device, state)),
            PnpEvent::SelfManagedIoFlush => {
                return notice(self.self_managed_io_flush, driver, device);
            }
            PnpEvent::SelfManagedIoCleanup => {
                return notice(self.self_managed_io_cleanup, driver, device);
            }
            PnpEvent::SurpriseRemoval => return notice(self.surprise_removal, driver, device),
        };
        event_callback.map_or(Ok(()), |f| f(driver, device))
    }
}

fn notice<D: KmdfDriver>(
    callback: Option<DeviceNotice<D>>,
    driver: &D,
    device: Device<D, Ready>,
) -> NtResult {
    if let Some(callback) = callback {
        callback(driver, device);
    }
    Ok(())
}
