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
use crate::queue::Callbacks;
use crate::sys::{self, DeviceHandle, DriverHandle};

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

    /// `EvtFileClose`: a handle to the device was closed (its file object's close), once per
    /// handle. Cannot fail.
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
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a backend runs DriverEntry")
    )]
    pub(crate) const fn from_raw(raw: DriverHandle<'a, 'b, D>) -> Self {
        Self { raw }
    }

    pub(crate) const fn raw_mut(&mut self) -> &mut DriverHandle<'a, 'b, D> {
        &mut self.raw
    }

    pub(crate) const fn raw(&self) -> &DriverHandle<'a, 'b, D> {
        &self.raw
    }
}

/// What the seam calls in a driver, in terms of the typed API.
impl<D: KmdfDriver> sys::DriverCallbacks for D {
    type Queue = Callbacks<D>;
    type DeviceCallback = crate::device::ParentCallback<D>;
    type PnpPower = crate::pnp_power::PnpPowerCallbacks<D>;

    const PNP: bool = D::PNP;

    fn driver_entry(driver: DriverHandle<'_, '_, Self>) -> NtResult<Self> {
        D::driver_entry(&mut DriverContext::from_raw(driver))
    }

    fn device_add(&self, init: DeviceHandle<Self>) -> NtResult {
        KmdfDriver::device_add(self, FdoInit::from_raw(init))
    }

    fn unload(&self) {
        KmdfDriver::unload(self);
    }

    fn file_close(&self) {
        self.on_file_close();
    }

    fn sent_request_completed(&self, completion: &Completion) {
        self.on_sent_request_completed(completion);
    }
}

/// The entry point of KMDF driver `D`, for loading it into the host simulation
/// ([`IoManager::load_driver`](wdm_compat::host::IoManager::load_driver)): the simulated
/// KMDF's loader, binding the image whose `DriverEntry` is the seam's for `D` — the same
/// `DriverEntry` [`kmdf_driver_entry!`](crate::kmdf_driver_entry) exports on Windows.
///
/// IRQL: host simulation only; no IRQL applies.
#[cfg(feature = "host")]
#[must_use]
pub fn entry_point<D: KmdfDriver>() -> wdm_compat::host::DriverEntry {
    kmdf_sim::entry_point(sys::wdk::image_entry::<D>)
}

/// Makes a crate a KMDF driver image for driver type `$driver`: exports `DriverEntry` (which
/// KMDF's `FxDriverEntry` calls) and installs wdk-alloc's global allocator; the panic handler is
/// wdk-panic's. `DriverEntry` calls `WdfDriverCreate` with `EvtDriverUnload` already set (so
/// unload is wired before anything can fail), then [`KmdfDriver::driver_entry`].
///
/// Use it once, in the driver package's `lib.rs` (the package depends on `wdf-safe` with
/// feature `wdk`):
///
/// ```ignore
/// #![no_std]
/// wdf_safe::kmdf_driver_entry!(wdf_safe::io::KmdfBackend<echo::Echo>);
/// ```
///
/// Available on Windows targets with feature `wdk` (and without `host`); anywhere else it stops
/// the build with a message saying so.
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
#[macro_export]
macro_rules! kmdf_driver_entry {
    ($driver:ty) => {
        /// `DriverEntry`, called by KMDF's `FxDriverEntry`.
        ///
        /// # Safety
        ///
        /// Called by the system only, once, as the driver's entry point.
        #[unsafe(export_name = "DriverEntry")]
        // Like `#pragma alloc_text(INIT, DriverEntry)`: the kernel may discard it once run.
        #[unsafe(link_section = "INIT")]
        pub unsafe extern "system" fn __wdf_safe_driver_entry(
            driver: *mut ::core::ffi::c_void,
            registry_path: *const ::core::ffi::c_void,
        ) -> i32 {
            // SAFETY: the system calls DriverEntry once, with its driver object and registry
            // path; `$driver` is this image's only driver type (one macro call per image).
            unsafe { ($crate::__private::driver_entry::<$driver>())(driver, registry_path) }
        }

        #[global_allocator]
        static __WDF_SAFE_ALLOCATOR: $crate::__private::Allocator = $crate::__private::ALLOCATOR;
    };
}

/// Makes a crate a KMDF driver image: only on Windows targets with feature `wdk` (see the
/// documentation built for Windows); elsewhere it stops the build with a message.
#[cfg(not(all(not(feature = "host"), feature = "wdk", target_os = "windows")))]
#[macro_export]
macro_rules! kmdf_driver_entry {
    ($driver:ty) => {
        ::core::compile_error!(
            "wdf_safe::kmdf_driver_entry! makes a real KMDF driver: build it for a Windows target \
             with wdf-safe's `wdk` feature (and without `host`), as samples/<name>/kmdf does; on \
             other hosts run the driver on the simulation (`run-sample --backend kmdf`)"
        );
    };
}
