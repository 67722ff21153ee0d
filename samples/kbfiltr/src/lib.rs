//! # kbfiltr
//!
//! Microsoft's KMDF keyboard filter (`input/kbfiltr`) written with wdf-safe: an upper filter of
//! the keyboard class that sees every keystroke, and a sideband device through which an
//! application asks what it saw.
//!
//! * **The connect, hooked.** Keystrokes do not come up the stack in reads: the keyboard class
//!   driver sends `IOCTL_INTERNAL_KEYBOARD_CONNECT` down with its class service callback, and
//!   the port driver calls that callback from its DPC. The filter's `EvtIoInternalDeviceControl`
//!   hooks the connect ([`Request::hook_keyboard_connect`]), so the port calls the filter first
//!   ([`KeyboardFilter::on_keystrokes`], kbfiltr's `KbFilter_ServiceCallback`), which counts the
//!   keystrokes and lets the class driver have them unchanged. A second connect is refused with
//!   `STATUS_SHARING_VIOLATION`, a disconnect with `STATUS_NOT_IMPLEMENTED`, as kbfiltr does;
//!   every other internal IOCTL goes down as it is (send-and-forget).
//! * **Per keyboard, per driver.** Each keyboard's counts are its device's context
//!   ([`KeyboardDevice`], kbfiltr's `DEVICE_EXTENSION`); the driver adds them up for the
//!   sideband device.
//! * **A sideband control device** (`\\.\KbFiltr`, administrators only), created from
//!   `EvtDriverDeviceAdd` with the first keyboard and deleted when the last keyboard goes, as the
//!   control-device version of kbfiltr and the toaster filter do. Its one IOCTL,
//!   [`IOCTL_KBFILTR_GET_KEYSTROKES`], returns a [`KeystrokeReport`].
//!
//! * **The keyboard's attributes.** kbdclass's `IOCTL_KEYBOARD_QUERY_ATTRIBUTES` is sent down
//!   with a completion routine, which keeps the port driver's answer on its way back up, for
//!   the sideband device's [`IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES`] (the C sample's IOCTL and
//!   routine).
//!
//! What the C sample does that this port leaves out: the raw PDO it enumerates for its sideband
//! channel in its latest version (wdf-safe has no PDO API; the control device is the sample's
//! earlier design).
#![no_std]
#![forbid(unsafe_code)]

use core::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::{FdoInit, SDDL_DEVOBJ_SYS_ALL_ADM_ALL};
use wdf_safe::keyboard::{
    IOCTL_INTERNAL_KEYBOARD_CONNECT, IOCTL_INTERNAL_KEYBOARD_DISCONNECT,
    IOCTL_KEYBOARD_QUERY_ATTRIBUTES, KEYBOARD_ATTRIBUTES_SIZE, KeyboardFilter, KeyboardInputData,
};
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, InternalDeviceControl, Parallel};
use wdf_safe::request::SentOutcome;
use wdf_safe::{
    ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig, Request,
    RequestDone, SpinLock, StaticQueue, WaitLock,
};
use wdm_compat::kd_print;

/// The sideband device's name.
pub const CONTROL_DEVICE_NAME: &str = r"\Device\KbFiltr";
/// Its symbolic link.
pub const CONTROL_DEVICE_LINK: &str = r"\DosDevices\KbFiltr";
/// The path an application opens it by.
pub const CONTROL_DEVICE_PATH: &str = r"\\.\KbFiltr";

/// What [`IOCTL_KBFILTR_GET_KEYSTROKES`] returns: the keystrokes the filter passed on, over
/// every keyboard it filters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct KeystrokeReport {
    /// Keyboards the filter sits on now.
    pub keyboards: u32,
    /// Keys pressed (`KEY_MAKE`).
    pub presses: u32,
    /// Keys released (`KEY_BREAK`).
    pub releases: u32,
    /// The scan code of the last keystroke (0 before any).
    pub last_make_code: u32,
    /// The `KEY_*` flags of the last keystroke.
    pub last_flags: u32,
}
wdm_compat::io_buffer_struct!(KeystrokeReport {
    keyboards: u32,
    presses: u32,
    releases: u32,
    last_make_code: u32,
    last_flags: u32,
});

wdm_compat::define_ioctl!(
    /// Returns a [`KeystrokeReport`] (`FILE_DEVICE_KEYBOARD`, function 0x801, METHOD_BUFFERED,
    /// `FILE_READ_ACCESS`).
    pub IOCTL_KBFILTR_GET_KEYSTROKES, 0x0B, 0x801, () => KeystrokeReport, access = Read
);

/// A keyboard's `KEYBOARD_ATTRIBUTES`, as its port driver answered them (28 bytes on x64).
pub type KeyboardAttributes = [u8; KEYBOARD_ATTRIBUTES_SIZE];

wdm_compat::define_ioctl!(
    /// The C sample's `IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES` (`FILE_DEVICE_KEYBOARD`, function
    /// 0x800, METHOD_BUFFERED, `FILE_READ_ACCESS`): the [`KeyboardAttributes`] the filter saw
    /// last go up to the class driver; `STATUS_DEVICE_NOT_READY` before any.
    pub IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES, 0x0B, 0x800, () => KeyboardAttributes, access = Read
);

/// The driver: the keyboards it filters, what they all passed on, and the sideband device.
pub struct KbFiltr {
    keyboards: AtomicU32,
    presses: AtomicU32,
    releases: AtomicU32,
    last: AtomicU32,
    /// The sideband control device while any keyboard is filtered.
    control: WaitLock<Option<Device<KbFiltr, Ready>>>,
    /// The keyboard attributes the port driver answered last (kbfiltr's cached
    /// `KeyboardAttributes`).
    attributes: SpinLock<Option<KeyboardAttributes>>,
}

/// One keyboard's counts, its filter device's context (kbfiltr's `DEVICE_EXTENSION`).
#[derive(Default)]
pub struct KeyboardDevice {
    keystrokes: AtomicU32,
}
wdf_safe::declare_context_type!(KeyboardDevice);

impl KbFiltr {
    /// What the sideband device reports.
    #[must_use]
    pub fn report(&self) -> KeystrokeReport {
        let last = self.last.load(Ordering::Relaxed);
        KeystrokeReport {
            keyboards: self.keyboards.load(Ordering::Relaxed),
            presses: self.presses.load(Ordering::Relaxed),
            releases: self.releases.load(Ordering::Relaxed),
            last_make_code: last & 0xFFFF,
            last_flags: last >> 16,
        }
    }

    /// Creates the sideband device beside `device` unless it exists.
    fn ensure_control_device(
        &self,
        device: &Device<Self, wdf_safe::kind::state::Adding<'_>>,
    ) -> NtResult<()> {
        let mut control = self.control.lock()?;
        if control.is_some() {
            return Ok(());
        }
        let mut init = ControlDeviceInit::allocate_beside(device, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(CONTROL_DEVICE_NAME)?;
        let sideband = init.create_beside(device).map_err(|(_, status)| status)?;
        sideband.create_symbolic_link(CONTROL_DEVICE_LINK)?;
        let _queue = sideband
            .create_default_queue(QueueConfig::parallel().on_device_control(sideband_ioctl))?;
        *control = Some(sideband.finish_initializing());
        kd_print!("[kbfiltr] sideband device created");
        Ok(())
    }
}

/// `EvtIoInternalDeviceControl` of a keyboard's filter device (kbfiltr's
/// `KbFilter_EvtIoInternalDeviceControl`).
fn internal_ioctl<'r>(
    _driver: &KbFiltr,
    request: Request<'r, InternalDeviceControl>,
) -> RequestDone<'r> {
    let code = request.ioctl_code().to_raw();
    if code == IOCTL_INTERNAL_KEYBOARD_CONNECT.to_raw() {
        return match request.hook_keyboard_connect::<KbFiltr>() {
            Ok(done) => {
                kd_print!("[kbfiltr] connect hooked");
                done
            }
            Err((request, status)) => {
                kd_print!("[kbfiltr] connect refused: {status}");
                request.complete(status)
            }
        };
    }
    if code == IOCTL_INTERNAL_KEYBOARD_DISCONNECT.to_raw() {
        // kbfiltr: clearing the connection is not implemented.
        return request.complete(NtStatus::NOT_IMPLEMENTED);
    }
    let Some(target) = request.default_io_target() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    if code == IOCTL_KEYBOARD_QUERY_ATTRIBUTES.to_raw() {
        return query_attributes(request, &target);
    }
    match request.send_and_forget(&target) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

/// `IOCTL_KEYBOARD_QUERY_ATTRIBUTES` on its way from the class driver: sent down with a
/// completion routine ([`attributes_answered`]), as kbfiltr does.
fn query_attributes<'r>(
    request: Request<'r, InternalDeviceControl>,
    target: &wdf_safe::IoTarget,
) -> RequestDone<'r> {
    match request.send_with_completion_routine::<KbFiltr>(target, attributes_answered) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

/// The attributes query came back from the port driver (kbfiltr's
/// `KbFilterRequestCompletionRoutine`): the filter keeps what it answered, for the sideband
/// device's [`IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES`], and completes the query to the class
/// driver as it came.
fn attributes_answered<'c>(
    driver: &KbFiltr,
    mut request: Request<'c, InternalDeviceControl>,
    outcome: SentOutcome,
) -> RequestDone<'c> {
    if outcome.status.is_success()
        && outcome.information >= KEYBOARD_ATTRIBUTES_SIZE
        && let Ok(output) = request.output_buffer(KEYBOARD_ATTRIBUTES_SIZE)
        && let Some(attributes) = output
            .get(..KEYBOARD_ATTRIBUTES_SIZE)
            .and_then(|bytes| KeyboardAttributes::try_from(bytes).ok())
    {
        *driver.attributes.lock() = Some(attributes);
        kd_print!("[kbfiltr] keyboard attributes kept");
    }
    request.complete_with_information(outcome.status, outcome.information)
}

/// `EvtIoDeviceControl` of the sideband device.
fn sideband_ioctl<'r>(driver: &KbFiltr, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let code = request.ioctl_code().to_raw();
    if code == IOCTL_KBFILTR_GET_KEYSTROKES.code().to_raw() {
        let report = driver.report();
        return request.complete_with(|request| request.write_output(&report));
    }
    if code == IOCTL_KBFILTR_GET_KEYBOARD_ATTRIBUTES.code().to_raw() {
        let Some(attributes) = *driver.attributes.lock() else {
            return request.complete(NtStatus::DEVICE_NOT_READY);
        };
        return request.complete_with(|request| request.write_output(&attributes));
    }
    request.complete(NtStatus::INVALID_DEVICE_REQUEST)
}

/// A keyboard's filter device is gone: the last one takes the sideband device with it.
fn keyboard_gone(driver: &KbFiltr) {
    if driver.keyboards.fetch_sub(1, Ordering::SeqCst) != 1 {
        return;
    }
    if let Ok(mut control) = driver.control.lock()
        && let Some(device) = control.take()
    {
        match device.delete() {
            Ok(()) => kd_print!("[kbfiltr] sideband device deleted"),
            Err(status) => kd_print!("[kbfiltr] sideband device not deleted: {status}"),
        }
    }
}

/// A keyboard's default queue, parallel as kbfiltr's: the connect and the other internal
/// IOCTLs; everything else passes down untouched (a filter's default for types without a
/// callback). A constant, so KMDF's `EvtIoInternalDeviceControl` calls `internal_ioctl`
/// directly.
struct KeyboardQueue;

impl StaticQueue<KbFiltr> for KeyboardQueue {
    type Kind = Parallel;
    const CONFIG: QueueConfig<Parallel, KbFiltr> =
        QueueConfig::parallel().on_internal_device_control(internal_ioctl);
}

impl KmdfDriver for KbFiltr {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        kd_print!("[kbfiltr] DriverEntry");
        Ok(Self {
            keyboards: AtomicU32::new(0),
            presses: AtomicU32::new(0),
            releases: AtomicU32::new(0),
            last: AtomicU32::new(0),
            control: WaitLock::new(None)?,
            attributes: SpinLock::new(None),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_filter();
        let device = init.create().map_err(|(_, status)| status)?;
        device.allocate_context(KeyboardDevice::default, None)?;
        device.on_cleanup(keyboard_gone)?;
        self.keyboards.fetch_add(1, Ordering::SeqCst);
        let _queue = device.create_static_default_queue::<KeyboardQueue>()?;
        self.ensure_control_device(&device)?;
        kd_print!("[kbfiltr] keyboard added");
        Ok(())
    }

    fn unload(&self) {
        let report = self.report();
        kd_print!(
            "[kbfiltr] DriverUnload -- {} presses, {} releases seen",
            report.presses,
            report.releases
        );
    }
}

impl KeyboardFilter for KbFiltr {
    fn on_keystrokes(&self, device: Device<Self, Ready>, keys: &mut [KeyboardInputData]) {
        let count = u32::try_from(keys.len()).unwrap_or(u32::MAX);
        let releases = u32::try_from(keys.iter().filter(|k| k.is_break()).count()).unwrap_or(0);
        self.releases.fetch_add(releases, Ordering::Relaxed);
        self.presses
            .fetch_add(count.saturating_sub(releases), Ordering::Relaxed);
        if let Some(last) = keys.last() {
            self.last.store(
                u32::from(last.make_code) | (u32::from(last.flags) << 16),
                Ordering::Relaxed,
            );
        }
        if let Some(keyboard) = device.context::<KeyboardDevice>() {
            let total = keyboard.keystrokes.fetch_add(count, Ordering::Relaxed) + count;
            kd_print!(
                "[kbfiltr] {count} keystrokes passed to the class driver ({total} on this keyboard)"
            );
        }
    }
}
