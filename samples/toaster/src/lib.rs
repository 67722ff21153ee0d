//! # toaster
//!
//! Microsoft's KMDF toaster function driver (`general/toaster/toastDrv/kmdf/func`, the
//! featured version without WMI, wake and idle) written with wdf-safe: the function driver of
//! a toaster the toaster bus enumerates, opened through its device interface
//! [`GUID_DEVINTERFACE_TOASTER`]. It shows a PnP device's life the KMDF way:
//!
//! * **Hardware and power.** `EvtDevicePrepareHardware` takes the toaster's hardware,
//!   `EvtDeviceReleaseHardware` gives it back; `EvtDeviceD0Entry` and `EvtDeviceD0Exit` follow
//!   the device in and out of D0 (the system sleeping and waking, the device removed).
//!   `EvtDeviceSurpriseRemoval` notes a toaster pulled out.
//! * **A power-managed queue.** The default queue (parallel) presents reads, writes and device
//!   controls only in D0: a request sent while the system sleeps waits in the queue and is
//!   presented once the device is back. Its `EvtIoStop` acknowledges what the driver owns when
//!   the device leaves D0 (every request here completes in its callback, so in practice
//!   nothing), and `EvtIoResume` notes it.
//! * **File objects.** `EvtDeviceFileCreate` and `EvtFileClose` count the toaster's open handles,
//!   as the featured C driver handles create and close; each open keeps its own transfer count
//!   in its file object's context ([`ToasterOpen`]).
//! * **Reads and writes** succeed with their whole length, as the C driver's do (a toaster has
//!   no data); [`IOCTL_TOASTER_GET_STATE`] returns what the driver saw ([`ToasterState`]), the
//!   port's addition so that a client can show it.
//! * **A registry parameter.** `DebugLevel` (REG_DWORD) under the service's `Parameters` key
//!   sets how much the driver prints (the C toaster's `DebugLevel`): [`DEBUG_ERROR`] …
//!   [`DEBUG_INFO`], the default; 0 prints nothing.
//!
//! Each toaster's state is a device context ([`ToasterDevice`], the C driver's `FDO_DATA`):
//! the PnP and power callbacks reach it through their device, the I/O callbacks through their
//! request (`Request::device_context`), so the driver serves any number of toasters.
#![no_std]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use wdf_safe::context::ContextRef;
use wdf_safe::device::FdoInit;
use wdf_safe::file::{FileConfig, FileObject};
use wdf_safe::io_stop::{ResumedRequest, StopDone, StopRequest};
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{Create, DeviceControl, Parallel, Read, Write};
use wdf_safe::pnp_power::{PnpPowerCallbacks, PowerState};
use wdf_safe::{
    Device, DriverContext, Guid, KmdfDriver, NtResult, NtStatus, QueueConfig, Request, RequestDone,
    StaticQueue,
};
use wdm_compat::kd_print;

/// `GUID_DEVINTERFACE_TOASTER`, the interface the toaster's clients open:
/// `{781EF630-72B2-11D2-B852-00C04FAD5171}`.
pub const GUID_DEVINTERFACE_TOASTER: Guid = Guid {
    data1: 0x781E_F630,
    data2: 0x72B2,
    data3: 0x11D2,
    data4: [0xB8, 0x52, 0x00, 0xC0, 0x4F, 0xAD, 0x51, 0x71],
};

/// `DebugLevel` values, as the C toaster's: errors only …
pub const DEBUG_ERROR: u32 = 1;
/// … warnings too …
pub const DEBUG_WARNING: u32 = 2;
/// … the PnP and power events too …
pub const DEBUG_TRACE: u32 = 3;
/// … and every request (the default).
pub const DEBUG_INFO: u32 = 4;

/// The registry value (`Parameters\DebugLevel`) that sets the level.
pub const DEBUG_LEVEL_VALUE: &str = "DebugLevel";

/// What [`IOCTL_TOASTER_GET_STATE`] returns: one toaster as its driver sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct ToasterState {
    /// 1 while the driver holds the toaster's hardware (prepared, not yet released).
    pub hardware: u32,
    /// 1 while the device is in D0.
    pub in_d0: u32,
    /// How many times the device entered D0.
    pub d0_entries: u32,
    /// Reads and writes completed, through any handle.
    pub transfers: u32,
    /// The `DebugLevel` the driver runs with.
    pub debug_level: u32,
    /// Handles open on the toaster.
    pub opens: u32,
    /// Reads and writes completed through the handle that asked.
    pub handle_transfers: u32,
}
wdm_compat::io_buffer_struct!(ToasterState {
    hardware: u32,
    in_d0: u32,
    d0_entries: u32,
    transfers: u32,
    debug_level: u32,
    opens: u32,
    handle_transfers: u32,
});

wdm_compat::define_ioctl!(
    /// Returns a [`ToasterState`] (`FILE_DEVICE_UNKNOWN`, function 0x800, METHOD_BUFFERED,
    /// `FILE_READ_ACCESS`).
    pub IOCTL_TOASTER_GET_STATE, 0x22, 0x800, () => ToasterState, access = Read
);

/// The driver: the `DebugLevel` it read.
pub struct Toaster {
    debug_level: u32,
}

/// One toaster's state, the device's context (the C driver's `FDO_DATA`).
pub struct ToasterDevice {
    hardware: AtomicBool,
    in_d0: AtomicBool,
    d0_entries: AtomicU32,
    transfers: AtomicU32,
    opens: AtomicU32,
}
wdf_safe::declare_context_type!(ToasterDevice);

/// One open handle's state, its file object's context.
#[derive(Default)]
pub struct ToasterOpen {
    transfers: AtomicU32,
}

/// Prints when the driver's `DebugLevel` is at least `$level`.
macro_rules! toaster_print {
    ($toaster:expr, $level:expr, $($arg:tt)*) => {
        if $toaster.debug_level >= $level {
            kd_print!($($arg)*);
        }
    };
}

impl ToasterDevice {
    const fn new() -> Self {
        Self {
            hardware: AtomicBool::new(false),
            in_d0: AtomicBool::new(false),
            d0_entries: AtomicU32::new(0),
            transfers: AtomicU32::new(0),
            opens: AtomicU32::new(0),
        }
    }

    fn state(&self, debug_level: u32, handle_transfers: u32) -> ToasterState {
        ToasterState {
            hardware: u32::from(self.hardware.load(Ordering::SeqCst)),
            in_d0: u32::from(self.in_d0.load(Ordering::SeqCst)),
            d0_entries: self.d0_entries.load(Ordering::SeqCst),
            transfers: self.transfers.load(Ordering::SeqCst),
            debug_level,
            opens: self.opens.load(Ordering::SeqCst),
            handle_transfers,
        }
    }
}

/// A device's context: every toaster has one from `EvtDriverDeviceAdd` on.
fn toaster_of(device: &Device<Toaster, Ready>) -> NtResult<ContextRef<ToasterDevice>> {
    device
        .context::<ToasterDevice>()
        .ok_or(NtStatus::INVALID_DEVICE_STATE)
}

/// `EvtDevicePrepareHardware`: the toaster's hardware is the driver's (a real one would map
/// its registers here).
fn prepare_hardware(toaster: &Toaster, device: Device<Toaster, Ready>) -> NtResult {
    toaster_of(&device)?.hardware.store(true, Ordering::SeqCst);
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] hardware prepared");
    Ok(())
}

/// `EvtDeviceReleaseHardware`.
fn release_hardware(toaster: &Toaster, device: Device<Toaster, Ready>) -> NtResult {
    toaster_of(&device)?.hardware.store(false, Ordering::SeqCst);
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] hardware released");
    Ok(())
}

/// `EvtDeviceD0Entry`.
fn d0_entry(toaster: &Toaster, device: Device<Toaster, Ready>, from: PowerState) -> NtResult {
    let state = toaster_of(&device)?;
    state.in_d0.store(true, Ordering::SeqCst);
    state.d0_entries.fetch_add(1, Ordering::SeqCst);
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] D0 entry from {from:?}");
    Ok(())
}

/// `EvtDeviceD0Exit`.
fn d0_exit(toaster: &Toaster, device: Device<Toaster, Ready>, to: PowerState) -> NtResult {
    toaster_of(&device)?.in_d0.store(false, Ordering::SeqCst);
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] D0 exit to {to:?}");
    Ok(())
}

/// `EvtDeviceSurpriseRemoval`: the toaster was pulled out; the framework stops the device.
fn surprise_removal(toaster: &Toaster, _device: Device<Toaster, Ready>) {
    toaster_print!(toaster, DEBUG_WARNING, "[toaster] surprise removal");
}

/// The device's cleanup.
fn device_cleanup(toaster: &Toaster) {
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] device gone");
}

/// Counts a transfer on the request's toaster and on its handle.
fn count_transfer<K: wdf_safe::kind::RequestKind>(request: &Request<'_, K>) {
    if let Some(state) = request.device_context::<ToasterDevice>() {
        state.transfers.fetch_add(1, Ordering::SeqCst);
    }
    if let Some(open) = request.file_object::<ToasterOpen>() {
        open.context().transfers.fetch_add(1, Ordering::SeqCst);
    }
}

/// `EvtDeviceFileCreate`: a handle opens.
fn toaster_open<'r>(
    toaster: &Toaster,
    device: Device<Toaster, Ready>,
    _file: FileObject<'r, ToasterOpen>,
    create: Request<'r, Create>,
) -> RequestDone<'r> {
    let Ok(state) = toaster_of(&device) else {
        return create.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    let opens = state.opens.fetch_add(1, Ordering::SeqCst) + 1;
    toaster_print!(toaster, DEBUG_INFO, "[toaster] open, {opens} handle(s)");
    create.complete(NtStatus::SUCCESS)
}

/// `EvtFileClose`: a handle is gone.
fn toaster_close(
    toaster: &Toaster,
    device: Device<Toaster, Ready>,
    _file: FileObject<'_, ToasterOpen>,
) {
    if let Ok(state) = toaster_of(&device) {
        let opens = state.opens.fetch_sub(1, Ordering::SeqCst).saturating_sub(1);
        toaster_print!(toaster, DEBUG_INFO, "[toaster] close, {opens} handle(s)");
    }
}

/// `EvtIoRead`: succeeds with its length.
fn toaster_read<'r>(toaster: &Toaster, request: Request<'r, Read>) -> RequestDone<'r> {
    let length = request.length();
    count_transfer(&request);
    toaster_print!(toaster, DEBUG_INFO, "[toaster] read of {length} bytes");
    request.complete_with_information(NtStatus::SUCCESS, length)
}

/// `EvtIoWrite`: succeeds with its length.
fn toaster_write<'r>(toaster: &Toaster, request: Request<'r, Write>) -> RequestDone<'r> {
    let length = request.length();
    count_transfer(&request);
    toaster_print!(toaster, DEBUG_INFO, "[toaster] write of {length} bytes");
    request.complete_with_information(NtStatus::SUCCESS, length)
}

/// `EvtIoDeviceControl`: [`IOCTL_TOASTER_GET_STATE`]; anything else is not the toaster's.
fn toaster_ioctl<'r>(toaster: &Toaster, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    if request.ioctl_code() != IOCTL_TOASTER_GET_STATE.code() {
        toaster_print!(toaster, DEBUG_WARNING, "[toaster] unknown IOCTL");
        return request.complete(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let Some(device) = request.device_context::<ToasterDevice>() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    let handle_transfers = request
        .file_object::<ToasterOpen>()
        .map_or(0, |open| open.context().transfers.load(Ordering::SeqCst));
    let state = device.state(toaster.debug_level, handle_transfers);
    request.complete_with(|request| request.write_output(&state))
}

/// `EvtIoStop`: every request completes in its callback, so only one sent or parked could be
/// here; it stays the driver's.
fn toaster_stop<'r>(toaster: &Toaster, request: StopRequest<'r>) -> StopDone<'r> {
    toaster_print!(
        toaster,
        DEBUG_TRACE,
        "[toaster] stop ({:?})",
        request.action()
    );
    request.acknowledge()
}

/// `EvtIoResume`.
fn toaster_resume(toaster: &Toaster, _request: ResumedRequest<'_>) {
    toaster_print!(toaster, DEBUG_TRACE, "[toaster] resume");
}

/// The device's default queue, as the C sample's: parallel and power-managed. Its
/// configuration is a constant, so KMDF's `EvtIo*` calls these functions directly.
struct ToasterQueue;

impl StaticQueue<Toaster> for ToasterQueue {
    type Kind = Parallel;
    const CONFIG: QueueConfig<Parallel, Toaster> = QueueConfig::parallel()
        .on_read(toaster_read)
        .on_write(toaster_write)
        .on_device_control(toaster_ioctl)
        .power_managed(toaster_stop, toaster_resume);
}

impl KmdfDriver for Toaster {
    const PNP: bool = true;

    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        // A missing key or value keeps the default.
        let debug_level = driver
            .parameters()
            .and_then(|key| key.query_u32(DEBUG_LEVEL_VALUE))
            .unwrap_or(DEBUG_INFO);
        let toaster = Self { debug_level };
        toaster_print!(
            toaster,
            DEBUG_TRACE,
            "[toaster] DriverEntry, DebugLevel {debug_level}"
        );
        Ok(toaster)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(
            PnpPowerCallbacks::new()
                .on_prepare_hardware(prepare_hardware)
                .on_release_hardware(release_hardware)
                .on_d0_entry(d0_entry)
                .on_d0_exit(d0_exit)
                .on_surprise_removal(surprise_removal),
        );
        init.set_file_config(FileConfig::new(toaster_open).on_close(toaster_close))?;
        let device = init.create().map_err(|(_init, status)| status)?;
        device.allocate_context(ToasterDevice::new, None)?;
        device.on_cleanup(device_cleanup)?;
        device.create_device_interface(&GUID_DEVINTERFACE_TOASTER)?;
        let _queue = device.create_static_default_queue::<ToasterQueue>()?;
        toaster_print!(self, DEBUG_TRACE, "[toaster] device added");
        Ok(())
    }

    fn unload(&self) {
        toaster_print!(self, DEBUG_TRACE, "[toaster] DriverUnload");
    }
}
