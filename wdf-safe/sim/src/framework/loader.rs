//! Loading a KMDF image: what KMDF's stub (`FxDriverEntry`) and loader do before the image's
//! `DriverEntry` runs, and the WDM routines the framework installs for the driver
//! (`FxDriver::Initialize`, shared/core/fxdriver.cpp: every major function goes to
//! `FxDevice::DispatchWithLock`, `AddDevice` to `FxDriver::AddDevice`, `DriverUnload` to
//! `FxDriver::Unload`).

use std::rc::Rc;
use std::string::String;
use std::sync::{Arc, OnceLock};

use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceId, DriverEntry, IrpId, KernelCalls, ScriptedDriver};

use super::{Cx, EnterShared, Framework, Image, device, driver, io};
use crate::ffi::bindings::{NTSTATUS, PCUNICODE_STRING, PDRIVER_OBJECT};

/// An image's `DriverEntry`, as KMDF's stub calls it.
pub type ImageEntry = unsafe extern "C" fn(PDRIVER_OBJECT, PCUNICODE_STRING) -> NTSTATUS;

/// `IRP_MJ_MAXIMUM_FUNCTION`.
const MAXIMUM_FUNCTION: u8 = 0x1b;

/// The image a loaded driver's routines belong to, set when its `DriverEntry` runs.
type ImageCell = Arc<OnceLock<Arc<Image>>>;

/// The entry point of a KMDF driver image whose `DriverEntry` is `entry`, for
/// [`IoManager::load_driver`](wdm_compat::host::IoManager::load_driver): binds the image to
/// the simulation's framework, then calls `entry` with the driver object and registry path.
#[must_use]
pub fn entry_point(entry: ImageEntry) -> DriverEntry {
    let image: ImageCell = Arc::default();
    let mut driver = ScriptedDriver::new().on_entry({
        let image = Arc::clone(&image);
        move |k| driver_entry(k, &image, entry)
    });
    for major in 0..=MAXIMUM_FUNCTION {
        let image = Arc::clone(&image);
        driver = driver.on(major, move |k, device, irp| {
            dispatch(k, &image, device, irp).unwrap_or_else(|| {
                k.complete(irp, NtStatus::INVALID_DEVICE_STATE, 0);
                NtStatus::INVALID_DEVICE_STATE
            })
        });
    }
    driver
        .on_unload({
            let image = Arc::clone(&image);
            move |k| {
                if let Some(cx) = context(k, &image) {
                    let _frame = cx.enter();
                    driver::unload(&cx);
                }
            }
        })
        .on_add_device(move |k, pdo| match context(k, &image) {
            Some(cx) => {
                let _frame = cx.enter();
                driver::add_device(&cx, pdo)
            }
            None => NtStatus::DEVICE_NOT_READY,
        })
        .into()
}

fn context(k: &KernelCalls, image: &ImageCell) -> Option<Cx> {
    image
        .get()
        .map(|image| Cx::new(Arc::clone(image), k.clone()))
}

fn dispatch(k: &KernelCalls, image: &ImageCell, device: DeviceId, irp: IrpId) -> Option<NtStatus> {
    // Shared (`Rc`), so the DDIs the driver calls during this IRP read it without atomics.
    let cx = Rc::new(context(k, image)?);
    let _frame = cx.enter_shared();
    Some(io::dispatch(&cx, device, irp))
}

/// `FxDriverEntry`: binds the image (its globals, the framework), then calls its
/// `DriverEntry`. When that fails, the stub unbinds the image, which deletes the `WDFDRIVER`
/// and everything under it (cleanup and destroy callbacks run; `EvtDriverUnload` does not):
/// `FxLibraryCommonUnregisterClient`, kmdf/src/librarycommon/fxlibrarycommon.cpp.
fn driver_entry(k: &KernelCalls, cell: &ImageCell, entry: ImageEntry) -> NtStatus {
    let Some(driver_id) = k.driver() else {
        return NtStatus::INVALID_PARAMETER;
    };
    let framework = k.manager().library::<Framework>();
    let name = k.manager().driver_name(driver_id).unwrap_or_default();
    let image = Arc::new(Image::new(framework, &name));
    if cell.set(Arc::clone(&image)).is_err() {
        return NtStatus::DRIVER_INTERNAL_ERROR;
    }
    let cx = Cx::new(image, k.clone());
    let _frame = cx.enter();
    let registry_path = registry_path(&name);
    let status = NtStatus::from_raw(crate::ffi::callbacks::driver_entry(
        entry,
        driver::driver_object(&cx.image),
        &registry_path,
    ));
    if status.is_success() {
        device::check_control_devices_finished(
            &cx,
            &[],
            "CtlDeviceFinishInitDrEntry",
            "DriverEntry",
        );
    } else {
        driver::unbind(&cx);
    }
    status
}

/// `\Registry\Machine\System\CurrentControlSet\Services\<service name>`, as UTF-16.
fn registry_path(service: &str) -> std::vec::Vec<u16> {
    let path = String::from(r"\Registry\Machine\System\CurrentControlSet\Services\") + service;
    path.encode_utf16().collect()
}

/// Runs driver code. Built with `panic = "abort"` (the measure profile, as a driver image is),
/// it is the plain call it is on Windows, so what `.ci/ioctl-cost` counts is the shipped path.
#[cfg(panic = "abort")]
#[inline(always)]
pub fn guarded<R>(_fallback: R, f: impl FnOnce() -> R) -> R {
    f()
}

/// Runs driver code; a panic in it becomes bug check 0x1E (`KMODE_EXCEPTION_NOT_HANDLED`, what
/// a panic in a real driver is) reported to the simulation, and `fallback` is returned. The
/// seam's callbacks use it, so a panicking driver never unwinds through a C frame.
#[cfg(not(panic = "abort"))]
pub fn guarded<R>(fallback: R, f: impl FnOnce() -> R) -> R {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(value) => value,
        // A bug check of the simulated kernel: reported already, the driver code just stops.
        Err(payload) if payload.is::<wdm_compat::host::BugCheckRaised>() => fallback,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| String::from(*s))
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            if let Some(cx) = super::current() {
                cx.kernel.report(
                    None,
                    Some((0x1E, [0; 4])),
                    wdm_compat::host::ViolationSeverity::Fatal,
                    &std::format!("driver code panicked (KMODE_EXCEPTION_NOT_HANDLED): {message}"),
                );
            }
            fallback
        }
    }
}
