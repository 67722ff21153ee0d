//! `WDFDRIVER`: a KMDF driver as one type implementing [`KmdfDriver`].
//!
//! The driver's life is created → configured → started, in types:
//!
//! * **created**: the framework creates the `WDFDRIVER` (`WdfDriverCreate`) before it calls
//!   [`KmdfDriver::driver_entry`]; only inside that call is there a [`DriverContext`], the
//!   only thing that can allocate control-device inits (SDV DriverCreate, DeviceInitAllocate);
//! * **configured**: what `driver_entry` sets up (control devices, their queues and links) and
//!   the constants of the trait (`PNP`);
//! * **started**: after `driver_entry` returns the context is gone, so configuration cannot
//!   change any more (SDV DriverAttributeChanged); PnP devices arrive through
//!   [`KmdfDriver::device_add`].

use wdm_compat::io::Completion;
use wdm_compat::{NtResult, NtStatus};

use crate::device::FdoInit;
use crate::sys::DriverHandle;

/// A KMDF driver.
pub trait KmdfDriver: Sized + Send + Sync + 'static {
    /// Whether the driver is a PnP driver (`EvtDriverDeviceAdd` registered).
    const PNP: bool = false;

    /// `DriverEntry`, after `WdfDriverCreate`: create control devices through `driver`, and
    /// return the driver's state.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// Any failure status: the driver does not load.
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self>;

    /// `EvtDriverDeviceAdd` (PnP drivers): create the device from `init` and its queues.
    ///
    /// IRQL: PASSIVE_LEVEL.
    ///
    /// # Errors
    ///
    /// A failure status (SDV DeviceCreateFail: return the failure of `create`).
    fn device_add(&self, init: FdoInit<'_, Self>) -> NtResult<()> {
        let _ = init;
        Err(NtStatus::NOT_SUPPORTED)
    }

    /// `EvtDriverUnload`; the framework deletes control devices afterwards.
    ///
    /// IRQL: PASSIVE_LEVEL.
    fn unload(&self) {}

    /// `EvtFileClose`: the last handle to the device was closed. Cannot fail.
    ///
    /// IRQL: PASSIVE_LEVEL.
    fn on_file_close(&self) {}

    /// The completion routine of requests sent with
    /// [`Request::send_observed`](crate::Request::send_observed): sees the outcome.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    fn on_sent_request_completed(&self, completion: &Completion) {
        let _ = completion;
    }
}

/// The created `WDFDRIVER`, during `DriverEntry`.
pub struct DriverContext<'a, 'b, D: KmdfDriver> {
    raw: DriverHandle<'a, 'b, D>,
}

impl<'a, 'b, D: KmdfDriver> DriverContext<'a, 'b, D> {
    #[cfg_attr(
        not(feature = "host"),
        allow(dead_code, reason = "only a backend runs DriverEntry")
    )]
    pub(crate) const fn from_raw(raw: DriverHandle<'a, 'b, D>) -> Self {
        Self { raw }
    }

    #[cfg_attr(
        not(feature = "host"),
        allow(dead_code, reason = "only a backend runs DriverEntry")
    )]
    pub(crate) fn into_raw(self) -> DriverHandle<'a, 'b, D> {
        self.raw
    }

    pub(crate) const fn raw_mut(&mut self) -> &mut DriverHandle<'a, 'b, D> {
        &mut self.raw
    }
}

/// The entry point of KMDF driver `D`, for loading it into the host simulation
/// ([`IoManager::load_driver`](wdm_compat::host::IoManager::load_driver)).
///
/// IRQL: host simulation only; no IRQL applies.
#[cfg(feature = "host")]
#[must_use]
pub fn entry_point<D: KmdfDriver>() -> wdm_compat::host::DriverEntry {
    crate::host::entry_point::<D>()
}

/// Makes a crate a KMDF driver image for driver type `$driver`: `DriverEntry`, `WdfDriverCreate`
/// and the callbacks, on the real framework.
///
/// Not available yet: the wdk-sys backend that talks to the real KMDF is still to be written, so
/// for now this stops the build with a message that says so. The same driver runs today on the
/// host simulation (`wdf_safe::entry_point` under the `host` feature), and a driver
/// written against `wdm_compat::io` builds as a real WDM driver with
/// `wdm_compat::wdm_driver_entry!`.
#[macro_export]
macro_rules! kmdf_driver_entry {
    ($driver:ty) => {
        ::core::compile_error!(
            "wdf-safe has no real-KMDF (wdk-sys) backend yet: build the sample's `wdm` package \
             instead, or run this driver on the host simulation (`run-sample --backend kmdf`)"
        );
    };
}
