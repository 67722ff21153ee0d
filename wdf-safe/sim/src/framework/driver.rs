//! `FxDriver`: `WdfDriverCreate`, `AddDevice` and `DriverUnload` (shared/core/fxdriverapi.cpp,
//! shared/core/fxdriver.cpp, shared/core/km/fxdriverkm.cpp).

use std::format;
use std::sync::PoisonError;

use wdm_compat::NtStatus;
use wdm_compat::host::DeviceId;

use super::objects::{Body, Handle};
use super::{Cx, Image, device, lifecycle};
use crate::ffi::bindings::{
    _WDF_DRIVER_INIT_FLAGS as Flags, PDRIVER_OBJECT, PFN_WDF_DRIVER_DEVICE_ADD,
    PFN_WDF_DRIVER_UNLOAD,
};
use crate::ffi::callbacks;

/// The `WDFDRIVER`'s own state: the callbacks of its `WDF_DRIVER_CONFIG`.
pub(crate) struct DriverBody {
    pub(crate) device_add: PFN_WDF_DRIVER_DEVICE_ADD,
    pub(crate) unload: PFN_WDF_DRIVER_UNLOAD,
}

/// `WDF_DRIVER_CONFIG`, read by the table's entry.
pub(crate) struct DriverConfig {
    pub(crate) device_add: PFN_WDF_DRIVER_DEVICE_ADD,
    pub(crate) unload: PFN_WDF_DRIVER_UNLOAD,
    pub(crate) flags: u32,
}

/// The `DRIVER_OBJECT` an image's `DriverEntry` receives: on the host, an address that only
/// identifies the image (the framework compares it, nobody reads through it).
pub(crate) fn driver_object(image: &Image) -> PDRIVER_OBJECT {
    image.globals().cast()
}

/// `WdfDriverCreate`.
pub(crate) fn create(
    cx: &Cx,
    driver_object: PDRIVER_OBJECT,
    attributes: Option<&lifecycle::Attributes>,
    config: &DriverConfig,
) -> Result<Handle, NtStatus> {
    if driver_object != driver_object_of(cx) {
        cx.verifier_break(
            None,
            "WdfDriverCreate: DriverObject is not the driver object DriverEntry received",
        );
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let allowed =
        (Flags::WdfDriverInitNonPnpDriver | Flags::WdfDriverInitNoDispatchOverride) as u32;
    if config.flags & !allowed != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let non_pnp = config.flags & Flags::WdfDriverInitNonPnpDriver as u32 != 0;
    if non_pnp && config.device_add.is_some() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if cx.image.driver().is_some() {
        // "WdfDriverCreate can only be called one time per WDM PDRIVER_OBJECT".
        return Err(NtStatus::DRIVER_INTERNAL_ERROR);
    }
    if attributes.is_some_and(|a| a.parent.is_some()) {
        return Err(NtStatus::WDF_PARENT_ASSIGNMENT_NOT_ALLOWED);
    }
    let body = Body::Driver(DriverBody {
        device_add: config.device_add,
        unload: config.unload,
    });
    let handle = lifecycle::create_object(cx, None, attributes, body)?;
    *cx.image
        .driver
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(handle);
    // The WDM side (FxDriver::Initialize): a non-PnP driver has no AddDevice, and is
    // unloadable only with an EvtDriverUnload; a PnP driver always has both.
    if non_pnp {
        cx.kernel.clear_add_device();
        if config.unload.is_none() {
            cx.kernel.clear_unload();
        }
    }
    Ok(handle)
}

fn driver_object_of(cx: &Cx) -> PDRIVER_OBJECT {
    driver_object(&cx.image)
}

/// `FxDriver::AddDevice`: an FDO init on the stack, `EvtDriverDeviceAdd`, then
/// `FinishInitializing` on success; a failure deletes what was created, and a filter's failure
/// becomes success so the rest of the stack still builds ("We do not let filters affect the
/// building of the rest of the stack", shared/core/km/fxdriverkm.cpp).
pub(crate) fn add_device(cx: &Cx, pdo: DeviceId) -> NtStatus {
    let Some(driver) = cx.image.driver() else {
        return NtStatus::DEVICE_NOT_READY;
    };
    let device_add = {
        let state = cx.lock();
        state
            .objects
            .get(driver)
            .and_then(|o| o.driver())
            .and_then(|d| d.device_add)
    };
    let Some(device_add) = device_add else {
        // FxDriverDeviceAdd::Invoke without a callback.
        return NtStatus::UNSUCCESSFUL;
    };
    let Some(init) = device::new_fdo_init(cx, pdo) else {
        return NtStatus::INSUFFICIENT_RESOURCES;
    };
    let unfinished = device::unfinished_control_devices(cx);
    let status = NtStatus::from_raw(callbacks::evt_driver_device_add(
        Some(device_add),
        driver,
        init,
    ));
    let (created, filter) = device::take_fdo_init(cx, init);
    device::check_control_devices_finished(
        cx,
        &unfinished,
        "CtlDeviceFinishInitDeviceAdd",
        "EvtDriverDeviceAdd",
    );
    match (status.is_success(), created) {
        (true, Some(device)) => {
            device::finish_fdo(cx, device);
            status
        }
        (true, None) => status,
        (false, created) => {
            if let Some(device) = created {
                device::delete_from_failed_create(cx, device);
            }
            if filter { NtStatus::SUCCESS } else { status }
        }
    }
}

/// `FxDriver::Unload`: `EvtDriverUnload` first, while everything still exists, then the
/// `WDFDRIVER` is deleted with every child (control devices included, after their queues and
/// before the driver's own cleanup).
pub(crate) fn unload(cx: &Cx) {
    let Some(driver) = cx.image.driver() else {
        return;
    };
    let unload = {
        let state = cx.lock();
        state
            .objects
            .get(driver)
            .and_then(|o| o.driver())
            .and_then(|d| d.unload)
    };
    if let Some(unload) = unload {
        callbacks::evt_driver_unload(Some(unload), driver);
    }
    unbind(cx);
}

/// Deletes the `WDFDRIVER` and everything under it, and reports objects of the image that
/// outlive it.
pub(crate) fn unbind(cx: &Cx) {
    let driver = cx
        .image
        .driver
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(driver) = driver {
        lifecycle::delete_object(cx, driver, "unload");
    }
    let left = {
        let state = cx.lock();
        let mut left = state.objects.owned_by(cx.image.id);
        // Leaked blocks first: each holds its lookaside list, which goes with the last of them
        // (the list itself did not leak).
        left.sort_by_key(|handle| {
            state
                .objects
                .get(*handle)
                .and_then(|o| o.memory())
                .is_none()
        });
        left
    };
    for handle in left {
        let removed = cx.lock().objects.remove(handle);
        if let Some(memory) = removed.as_ref().and_then(|o| o.memory()) {
            // FxPoolDump: pool tracking (on with the verifier) lists each block still out.
            let tag = memory.tag().to_le_bytes();
            cx.verifier_break(
                None,
                &format!(
                    "FX_POOL: driver {} leaked a {}-byte block tagged '{}' (a WDFMEMORY {} whose \
                     last reference was never released)",
                    cx.image.name,
                    memory.size(),
                    String::from_utf8_lossy(&tag),
                    if memory.lookaside.is_some() {
                        "from a lookaside list"
                    } else {
                        "made by WdfMemoryCreate"
                    }
                ),
            );
        } else if let Some(object) = removed.as_ref() {
            cx.verifier_break(
                None,
                &format!(
                    "a {} of driver {} outlived its WDFDRIVER",
                    object.body.kind().name(),
                    cx.image.name
                ),
            );
        }
        super::lookaside::removed(cx, removed);
    }
}
