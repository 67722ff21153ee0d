//! `WDFDRIVER`: `DriverEntry`, `EvtDriverUnload`, `EvtDriverDeviceAdd`, `EvtFileClose` and the
//! driver object's destruction.

use alloc::boxed::Box;
use core::ffi::c_void;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::Ordering;

use wdm_compat::memory::try_box;

use super::wdk_sys::{
    self, NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT, PWDFDEVICE_INIT, WDF_DRIVER_CONFIG,
    WDF_OBJECT_ATTRIBUTES, WDFDRIVER, WDFOBJECT, call_unsafe_wdf_function_binding,
};
use super::{DeviceHandle, device, enum_flags, guarded, image, install_image, uninstall_image};
use crate::sys::{ControlDeviceSettings, DriverCallbacks};
use core::any::TypeId;
use wdm_compat::{NtResult, NtStatus};

/// The published driver value of the running image, for a trampoline the seam registered for
/// an object it created with the image's driver type: every device, queue, timer, work item
/// and file object of the image is created through a handle typed by that `D` (the seam's
/// entry points hand out no other), so their callbacks name the right type and the check of
/// [`driver_of_type`] is not paid per request.
pub(super) fn driver<D: DriverCallbacks>() -> Option<&'static D> {
    let published = image()?.driver.load(Ordering::Acquire).cast::<D>();
    // SAFETY: the image's driver slot holds null or a `Box<D>` leaked by `driver_entry` with
    // the image's one driver type (see above), freed only in `evt_driver_destroy` after KMDF
    // destroyed every object whose callbacks could run.
    unsafe { published.as_ref() }
}

/// The published driver value of the running image, if it is a `D`: for the trampolines whose
/// `D` the driver names at the call (`send_observed::<D>`, `hook_keyboard_connect::<D>`),
/// which safe code may name wrong.
pub(super) fn driver_of_type<D: DriverCallbacks>() -> Option<&'static D> {
    // The type `driver_entry` recorded before it published the value.
    if *image()?.driver_type.lock() != Some(TypeId::of::<D>()) {
        return None;
    }
    driver::<D>()
}

/// `WDFDRIVER` during `DriverEntry`.
pub(crate) struct DriverHandle<'a, 'b, D> {
    driver: WDFDRIVER,
    _lifetimes: Lifetimes<'a, 'b, D>,
}

/// The borrows a `DriverHandle` stands for (DriverEntry's) and its driver type.
type Lifetimes<'a, 'b, D> = PhantomData<(&'a mut (), &'b (), fn(&D))>;

impl<D: DriverCallbacks> DriverHandle<'_, '_, D> {
    /// This DriverEntry's `WDFDRIVER`, for the seam's other calls on it (the registry).
    pub(super) const fn raw_driver(&self) -> WDFDRIVER {
        self.driver
    }

    /// `WdfControlDeviceInitAllocate` + the init's setters + `WdfDeviceCreate`.
    pub(crate) fn create_control_device(
        &mut self,
        init: &ControlDeviceSettings,
        file: &mut Option<crate::sys::FileEventsBox<D>>,
        request_context: Option<crate::sys::RequestContextSpec>,
    ) -> NtResult<DeviceHandle<D>> {
        device::create_control_device(self.driver, init, file, request_context)
    }
}

/// `EvtDriverUnload`.
unsafe extern "C" fn evt_driver_unload<D: DriverCallbacks>(_driver: WDFDRIVER) {
    guarded((), || {
        if let Some(driver) = driver::<D>() {
            driver.unload();
        }
    });
}

/// The `WDFDRIVER`'s `EvtDestroyCallback`: every device is gone, so the driver value goes, then
/// the records (and the typed contexts in them).
unsafe extern "C" fn evt_driver_destroy<D: DriverCallbacks>(_object: WDFOBJECT) {
    guarded((), || {
        if let Some(image) = image() {
            image.torn_down.store(true, Ordering::Release);
            let published = image
                .driver
                .swap(ptr::null_mut(), Ordering::AcqRel)
                .cast::<D>();
            if !published.is_null() {
                // SAFETY: the pointer came from `Box::into_raw` in `driver_entry` and was
                // unpublished just above, so this is its only owner; no callback can run any more.
                drop(unsafe { Box::from_raw(published) });
            }
        }
        uninstall_image();
    });
}

/// `EvtDriverDeviceAdd`.
unsafe extern "C" fn evt_device_add<D: DriverCallbacks>(
    _driver: WDFDRIVER,
    init: PWDFDEVICE_INIT,
) -> NTSTATUS {
    guarded(NtStatus::DRIVER_INTERNAL_ERROR.to_raw(), || {
        let Some(driver) = driver::<D>() else {
            return NtStatus::DEVICE_NOT_READY.to_raw();
        };
        let Some(handle) = device::fdo_handle::<D>(init) else {
            return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
        };
        let result = driver.device_add(handle);
        // The init belongs to the framework again once the callback returns.
        device::end_fdo_init(handle);
        match result {
            Ok(()) => NtStatus::SUCCESS.to_raw(),
            Err(status) => status.to_raw(),
        }
    })
}

/// What `DriverEntry` of driver `D` does: `WdfDriverCreate` (with the unload callback, so it is
/// in place before anything can fail), then [`DriverCallbacks::driver_entry`].
///
/// # Safety
///
/// Only `DriverEntry` may call it, once per load of the image, with the driver object and
/// registry path the system passed to it; `D` must be the only driver type of the image.
pub(crate) unsafe fn driver_entry<D: DriverCallbacks>(
    driver_object: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    if !install_image() {
        return NtStatus::DRIVER_INTERNAL_ERROR.to_raw();
    }
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: if D::PNP {
            Some(evt_device_add::<D>)
        } else {
            None
        },
        EvtDriverUnload: Some(evt_driver_unload::<D>),
        DriverInitFlags: if D::PNP {
            0
        } else {
            enum_flags(wdk_sys::_WDF_DRIVER_INIT_FLAGS::WdfDriverInitNonPnpDriver)
        },
        DriverPoolTag: u32::from_le_bytes(*b"Wdfs"),
    };
    let mut driver_attributes = WDF_OBJECT_ATTRIBUTES {
        Size: size_of::<WDF_OBJECT_ATTRIBUTES>() as u32,
        EvtDestroyCallback: Some(evt_driver_destroy::<D>),
        ExecutionLevel: wdk_sys::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
        SynchronizationScope:
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
        ..WDF_OBJECT_ATTRIBUTES::default()
    };
    let mut driver: WDFDRIVER = ptr::null_mut();
    // SAFETY: the caller passes DriverEntry's own arguments; the configuration and attributes
    // are read during the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            driver_object,
            registry_path,
            &mut driver_attributes,
            &mut config,
            &mut driver
        )
    };
    if let Err(status) = NtStatus::from_raw(status).ok() {
        // No WDFDRIVER, so no destroy callback will free the statics.
        uninstall_image();
        return status.to_raw();
    }
    if let Some(image) = image() {
        image.wdf_driver.store(driver.cast(), Ordering::Release);
    }
    let handle = DriverHandle::<D> {
        driver,
        _lifetimes: PhantomData,
    };
    match guarded(Err(NtStatus::DRIVER_INTERNAL_ERROR), || {
        D::driver_entry(handle)
    }) {
        Ok(value) => {
            let value = match try_box(value) {
                Ok(value) => value,
                Err(value) => {
                    // DriverEntry fails: the framework deletes what the driver created.
                    guarded((), || drop(value));
                    return NtStatus::INSUFFICIENT_RESOURCES.to_raw();
                }
            };
            if let Some(image) = image() {
                // The type first: `driver_of_type` reads it once it sees the value.
                *image.driver_type.lock() = Some(TypeId::of::<D>());
                image
                    .driver
                    .store(Box::into_raw(value).cast::<c_void>(), Ordering::Release);
            }
            NtStatus::SUCCESS.to_raw()
        }
        // The framework deletes the WDFDRIVER and the devices created so far when DriverEntry
        // fails; the driver's destroy callback then frees the statics.
        Err(status) => status.to_raw(),
    }
}

/// The image's `DriverEntry` for driver type `D`, for the simulated KMDF's loader
/// ([`kmdf_sim::entry_point`]).
///
/// # Safety
///
/// Called by the simulated loader only, once per load, as the image's entry point.
#[cfg(feature = "host")]
pub(crate) unsafe extern "C" fn image_entry<D: DriverCallbacks>(
    driver_object: PDRIVER_OBJECT,
    registry_path: PCUNICODE_STRING,
) -> NTSTATUS {
    // SAFETY: forwarded from the loader's call of the image's entry point.
    unsafe { driver_entry::<D>(driver_object, registry_path) }
}

/// The image's `DriverEntry` for driver type `D`, with untyped pointers, for the `DriverEntry`
/// an image exports ([`kmdf_driver_entry!`](crate::kmdf_driver_entry)), whose signature cannot
/// name the bindings' types.
///
/// # Safety
///
/// Only the system may call it, once, as the image's `DriverEntry` (KMDF's `FxDriverEntry`
/// calls it), with the arguments it was given; `D` must be the image's only driver type.
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
pub(crate) unsafe extern "system" fn image_driver_entry<D: DriverCallbacks>(
    driver_object: *mut c_void,
    registry_path: *const c_void,
) -> i32 {
    // SAFETY: forwarded from DriverEntry (the caller's contract).
    unsafe { driver_entry::<D>(driver_object.cast(), registry_path.cast()) }
}
