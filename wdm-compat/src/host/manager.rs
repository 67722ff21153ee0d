//! The I/O manager: objects, namespace, IRP engine and verifier bookkeeping.

use core::time::Duration;
use std::boxed::Box;
use std::collections::BTreeMap;
use std::format;
use std::string::{String, ToString};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;
use std::vec::Vec;

use super::irql::{self, current_irql};
use super::irql_level::{APC_LEVEL, DISPATCH_LEVEL, PASSIVE_LEVEL};
use super::scripted::{
    AddDeviceClosure, CancelClosure, CompletionClosure, DispatchClosure, KernelCalls,
    ScriptedDriver, UnloadClosure,
};
use super::user::IoResult;
use super::verifier::{Report, Violation, ViolationSeverity};
use super::{DeviceId, DriverId, IrpId, major};
use crate::status::NtStatus;
use crate::sys::{
    self, AddDeviceFn, CancelFn, CompletionFn, DO_BUFFERED_IO, DO_DEVICE_INITIALIZING, DispatchFn,
    MAJOR_FUNCTION_COUNT, Mode, Params, StackParams, UnloadFn,
};

// ---------------------------------------------------------------------------------------------
// Objects whose addresses driver code sees.

/// The object behind a driver-object pointer: which manager, which driver. Leaked on creation,
/// so its address stays valid for the life of the process.
pub(crate) struct DriverObj {
    pub(crate) manager: IoManager,
    pub(crate) id: DriverId,
}

/// The object behind a device-object pointer. Leaked on creation.
pub(crate) struct DeviceObj {
    pub(crate) manager: IoManager,
    pub(crate) id: DeviceId,
}

/// The object behind an IRP pointer, with the IRP's buffers. Leaked on creation.
///
/// The buffers are atomics so the simulation reads and writes them with safe code; the seam
/// (`sys::host`) lends them to the owning driver as `&mut [u8]`, and the simulation touches them
/// only while no driver owns the IRP (before the first dispatch and after completion).
pub(crate) struct IrpObj {
    pub(crate) manager: IoManager,
    pub(crate) id: IrpId,
    /// `Irp->AssociatedIrp.SystemBuffer` (empty: none).
    pub(crate) system: Box<[AtomicU8]>,
    /// The pages `Irp->MdlAddress` describes: the user's own buffer (empty: no MDL).
    pub(crate) mdl: Box<[AtomicU8]>,
}

fn cells(bytes: &[u8]) -> Box<[AtomicU8]> {
    bytes.iter().map(|&b| AtomicU8::new(b)).collect()
}

pub(super) fn read_cells(cells: &[AtomicU8]) -> Vec<u8> {
    cells.iter().map(|c| c.load(Ordering::Relaxed)).collect()
}

// ---------------------------------------------------------------------------------------------
// Driver entry points.

/// A driver's entry point, for [`IoManager::load_driver`].
///
/// Made from a driver type with [`crate::driver::entry_point`], or from a [`ScriptedDriver`]
/// (`ScriptedDriver::new().on(..).into()`).
pub struct DriverEntry(EntryKind);

enum EntryKind {
    Native(sys::DriverEntryFn),
    Scripted(ScriptedDriver),
}

impl DriverEntry {
    /// Wraps a `DRIVER_INITIALIZE` routine (the safe layer's trampoline).
    pub(crate) const fn from_fn(entry: sys::DriverEntryFn) -> Self {
        Self(EntryKind::Native(entry))
    }
}

impl From<ScriptedDriver> for DriverEntry {
    fn from(driver: ScriptedDriver) -> Self {
        Self(EntryKind::Scripted(driver))
    }
}

impl core::fmt::Debug for DriverEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            EntryKind::Native(_) => f.write_str("DriverEntry(native)"),
            EntryKind::Scripted(_) => f.write_str("DriverEntry(scripted)"),
        }
    }
}

#[derive(Clone)]
pub(super) enum Dispatch {
    Native(DispatchFn),
    Scripted(Arc<DispatchClosure>),
}

#[derive(Clone)]
pub(super) enum Unload {
    Native(UnloadFn),
    Scripted(Arc<UnloadClosure>),
}

#[derive(Clone)]
pub(super) enum AddDevice {
    Native(AddDeviceFn),
    Scripted(Arc<AddDeviceClosure>),
}

#[derive(Clone)]
pub(super) enum CompletionRoutine {
    Native(CompletionFn, usize),
    Scripted(Arc<CompletionClosure>),
}

#[derive(Clone)]
pub(super) enum CancelRoutine {
    Native(CancelFn),
    Scripted(Arc<CancelClosure>),
}

// ---------------------------------------------------------------------------------------------
// State.

struct DriverState {
    name: String,
    obj: &'static DriverObj,
    dispatch: Vec<Option<Dispatch>>,
    unload: Option<Unload>,
    add_device: Option<AddDevice>,
    context: usize,
    loaded: bool,
    in_entry: bool,
    scripted: bool,
}

struct DeviceState {
    obj: &'static DeviceObj,
    driver: DriverId,
    name: Option<String>,
    device_type: u32,
    exclusive: bool,
    flags: u32,
    context: usize,
    deleted: bool,
    lower: Option<DeviceId>,
    upper: Option<DeviceId>,
    stack_size: usize,
    open_count: usize,
    created_in_entry: bool,
    surprise_removing: bool,
}

#[derive(Clone)]
struct StackLoc {
    major: u8,
    minor: u8,
    params: Params,
    device: Option<DeviceId>,
    completion: Option<CompletionRoutine>,
    /// `SL_PENDING_RETURNED`.
    pending: bool,
    /// Filled by `IoCopyCurrentIrpStackLocationToNext` and no completion routine set since.
    copied_without_routine: bool,
}

impl StackLoc {
    const fn empty() -> Self {
        Self {
            major: 0,
            minor: 0,
            params: Params::Other,
            device: None,
            completion: None,
            pending: false,
            copied_without_routine: false,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// Owned by a driver (or its originator).
    InProgress,
    /// `IoCompleteRequest` is running completion routines.
    Completing,
    /// Completed; the result is final.
    Completed,
    /// Completed through `TrackingCompleter` (the completion path did not run).
    Tracked,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Holder {
    /// The originator (user side, PnP manager, a test) before sending or after completion.
    Originator,
    /// The dispatch routine running in frame `0`.
    Frame(usize),
    /// A driver keeps it (pended) at stack location `0`.
    Parked(usize),
    /// A completion routine returned `STATUS_MORE_PROCESSING_REQUIRED`: the driver owning stack
    /// location `0` has it back.
    Halted(usize),
}

/// How the originator's buffers were set up, for the copy-back at completion.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Transfer {
    /// Nothing comes back (write, create, close, PnP, METHOD_NEITHER).
    None,
    /// Output is copied back from the system buffer (buffered read, METHOD_BUFFERED IOCTL).
    Buffered,
    /// Output is in the user's own buffer, described by the MDL (direct read, IN/OUT_DIRECT).
    Direct,
}

/// What an originator sends.
pub(super) struct IrpSpec {
    pub(super) major: u8,
    pub(super) minor: u8,
    pub(super) params: Params,
    pub(super) mode: Mode,
    pub(super) system: Vec<u8>,
    pub(super) mdl: Vec<u8>,
    pub(super) transfer: Transfer,
    /// The user's output buffer as it was before the request (what the caller passed in).
    pub(super) user_output: Vec<u8>,
    pub(super) user_addresses: (usize, usize),
    pub(super) initial_status: NtStatus,
}

struct IrpState {
    obj: &'static IrpObj,
    stack: Vec<StackLoc>,
    /// Index of the current location; `stack.len()` means the originator's (none).
    current: usize,
    status: NtStatus,
    information: usize,
    pending_returned: bool,
    cancel: bool,
    cancel_routine: Option<CancelRoutine>,
    driver_context: usize,
    mode: Mode,
    phase: Phase,
    holder: Holder,
    tracked: Vec<TrackedCompletion>,
    transfer: Transfer,
    output_len: usize,
    user_output: Vec<u8>,
    user_addresses: (usize, usize),
    result: Option<IoResult>,
    orig_major: u8,
}

impl IrpState {
    fn current_loc(&self) -> Option<&StackLoc> {
        self.stack.get(self.current)
    }
}

struct Frame {
    irp: IrpId,
    location: usize,
    driver: DriverId,
    major: u8,
    /// What `IoCallDriver` returned, when this dispatch routine passed the IRP down.
    forwarded: Option<NtStatus>,
    /// Whether it set a completion routine before passing the IRP down.
    forwarded_with_routine: bool,
    /// The IRP was reported as dropped; the return checks are skipped.
    leaked: bool,
    /// `IoMarkIrpPending` was called while this dispatch routine owned the IRP (the
    /// verifier's memory: the location's own bit may be shared with the driver below when the
    /// routine skipped its location to pass the IRP down, as KMDF's send-and-forget does).
    marked: bool,
}

/// One completion recorded by `TrackingCompleter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackedCompletion {
    /// The status the driver completed with.
    pub status: NtStatus,
    /// The information the driver completed with.
    pub information: usize,
}

/// What a test can read about a device object ([`IoManager::device`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The device's name (`\Device\X`), if it has one.
    pub name: Option<String>,
    /// The driver that created it.
    pub driver: DriverId,
    /// `DeviceType`.
    pub device_type: u32,
    /// `Flags` (`DO_*`).
    pub flags: u32,
    /// `StackSize`: how many stack locations an IRP sent to it needs.
    pub stack_size: usize,
    /// The device it is attached over (`AttachedTo` in the extension), if any.
    pub attached_to: Option<DeviceId>,
    /// The device attached over it (`AttachedDevice`), if any.
    pub attached_above: Option<DeviceId>,
    /// Whether `IoDeleteDevice` was called on it.
    pub deleted: bool,
}

struct World {
    drivers: Vec<DriverState>,
    devices: Vec<DeviceState>,
    irps: Vec<IrpState>,
    /// Normalized link name (lowercase, `\??\x`) → device name.
    links: BTreeMap<String, String>,
    frames: BTreeMap<usize, Frame>,
    next_frame: usize,
    /// Holders of the cancel spin lock: the IRP whose cancel routine got it, and the IRQL to
    /// go back to (`Irp->CancelIrql`).
    cancel_lock: Vec<(IrpId, u8)>,
    violations: Vec<Violation>,
    reported: usize,
    trace: Vec<String>,
    strict: bool,
    sync_timeout: Duration,
    echo: bool,
    /// Kernel-mode libraries shared by the drivers ([`IoManager::library`]).
    libraries: Vec<Arc<dyn core::any::Any + Send + Sync>>,
}

pub(crate) struct Inner {
    world: Mutex<World>,
    completed: Condvar,
}

/// The simulated I/O manager. Cheap to clone: every clone is a handle to the same simulation.
///
/// Each `IoManager::new()` is a world of its own (drivers, devices, namespace, verifier), so
/// tests running in parallel never see each other.
#[derive(Clone)]
pub struct IoManager {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for IoManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("IoManager")
    }
}

impl Default for IoManager {
    fn default() -> Self {
        Self::new()
    }
}

/// A dispatch call prepared under the lock and run without it.
struct PreparedCall {
    irp: IrpId,
    frame: usize,
    caller_frame: Option<usize>,
    device: DeviceId,
    device_obj: &'static DeviceObj,
    irp_obj: &'static IrpObj,
    driver: DriverId,
    dispatch: Option<Dispatch>,
}

enum Prepared {
    Call(Box<PreparedCall>),
    /// The I/O manager completes the IRP itself with this status.
    Fail(NtStatus),
    /// The IRP cannot be touched (already completed); return this status.
    Refuse(NtStatus),
}

/// The completion routine to run next, found under the lock.
struct NextRoutine {
    routine: CompletionRoutine,
    device: Option<DeviceId>,
    device_obj: Option<&'static DeviceObj>,
    driver: Option<DriverId>,
}

#[allow(
    clippy::panic,
    reason = "strict verifier mode: a violation fails the test that caused it"
)]
fn fail_test(report: &str) -> ! {
    panic!("{report}")
}

fn is_bad_status(status: NtStatus) -> bool {
    status == NtStatus::PENDING || status.to_u32() == u32::MAX
}

/// Normalizes an object-manager link name: `\DosDevices\X`, `\??\X` and `\GLOBAL??\X` are the
/// same directory here. Returns the lowercase key.
pub(super) fn link_key(link: &str) -> String {
    for prefix in ["\\DosDevices\\", "\\??\\", "\\GLOBAL??\\", "\\\\.\\"] {
        if let Some(head) = link.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
            && let Some(rest) = link.get(prefix.len()..)
        {
            return format!("\\??\\{}", rest.to_lowercase());
        }
    }
    link.to_lowercase()
}

impl World {
    fn driver_name(&self, driver: Option<DriverId>) -> String {
        driver
            .and_then(|d| self.drivers.get(d.0))
            .map(|d| d.name.clone())
            .unwrap_or_default()
    }

    fn push(&mut self, report: Report) {
        let violation = Violation {
            rule: report.rule,
            bug_check: report
                .bug_check
                .map(|(code, params)| super::verifier::BugCheck { code, params }),
            severity: report.severity,
            driver: self.driver_name(report.driver.or_else(irql::current_driver)),
            major: report.major,
            message: report.message,
        };
        if self.echo {
            std::eprintln!("[wdm-compat verifier] {violation}");
        }
        self.violations.push(violation);
    }

    fn device(&self, id: DeviceId) -> Option<&DeviceState> {
        self.devices.get(id.0)
    }

    fn device_mut(&mut self, id: DeviceId) -> Option<&mut DeviceState> {
        self.devices.get_mut(id.0)
    }

    fn irp(&self, id: IrpId) -> Option<&IrpState> {
        self.irps.get(id.0)
    }

    fn irp_mut(&mut self, id: IrpId) -> Option<&mut IrpState> {
        self.irps.get_mut(id.0)
    }

    fn device_driver(&self, id: Option<DeviceId>) -> Option<DriverId> {
        id.and_then(|d| self.device(d)).map(|d| d.driver)
    }

    fn device_label(&self, id: DeviceId) -> String {
        match self.device(id).and_then(|d| d.name.clone()) {
            Some(name) => name,
            None => format!("device #{}", id.0),
        }
    }

    /// The driver owning the IRP's current location, and the major there.
    fn irp_blame(&self, id: IrpId) -> (Option<DriverId>, Option<u8>) {
        let Some(irp) = self.irp(id) else {
            return (None, None);
        };
        let loc = irp.current_loc();
        let driver = self.device_driver(loc.and_then(|l| l.device));
        (driver, Some(loc.map_or(irp.orig_major, |l| l.major)))
    }

    fn find_device_by_name(&self, name: &str) -> Option<DeviceId> {
        self.devices
            .iter()
            .position(|d| {
                !d.deleted
                    && d.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .map(DeviceId)
    }

    fn top_of_stack(&self, mut id: DeviceId) -> DeviceId {
        let mut guard = 0usize;
        while let Some(up) = self.device(id).and_then(|d| d.upper) {
            id = up;
            guard += 1;
            if guard > self.devices.len() {
                break;
            }
        }
        id
    }

    fn new_frame(&mut self) -> usize {
        self.next_frame += 1;
        self.next_frame
    }
}

impl IoManager {
    /// A new, empty simulation: no drivers, no devices, verifier on and strict.
    #[must_use]
    pub fn new() -> Self {
        let echo = std::env::var("WDF_SAFE_TRACE").is_ok_and(|v| v == "1");
        Self {
            inner: Arc::new(Inner {
                world: Mutex::new(World {
                    drivers: Vec::new(),
                    devices: Vec::new(),
                    irps: Vec::new(),
                    links: BTreeMap::new(),
                    frames: BTreeMap::new(),
                    next_frame: 0,
                    cancel_lock: Vec::new(),
                    violations: Vec::new(),
                    reported: 0,
                    trace: Vec::new(),
                    strict: true,
                    sync_timeout: Duration::from_secs(10),
                    echo,
                    libraries: Vec::new(),
                }),
                completed: Condvar::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.inner
            .world
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.lock();
        f(&mut world)
    }

    // -----------------------------------------------------------------------------------------
    // Verifier and trace.

    /// Strict mode (the default): when a driver breaks a rule, the next operation the test
    /// makes on this simulation (open, read, load, unload, a PnP step…) panics with the full
    /// report, the way Driver Verifier stops the machine. `false`: violations are only recorded;
    /// read them with [`violations`](Self::violations). Warnings never panic.
    pub fn set_strict(&self, strict: bool) {
        self.with_world(|w| {
            w.strict = strict;
            w.reported = w.violations.len();
        });
    }

    /// Whether strict mode is on.
    #[must_use]
    pub fn is_strict(&self) -> bool {
        self.with_world(|w| w.strict)
    }

    /// Every violation recorded so far, oldest first.
    #[must_use]
    pub fn violations(&self) -> Vec<Violation> {
        self.with_world(|w| w.violations.clone())
    }

    /// Removes and returns the recorded violations.
    pub fn take_violations(&self) -> Vec<Violation> {
        self.with_world(|w| {
            w.reported = 0;
            core::mem::take(&mut w.violations)
        })
    }

    /// The lines drivers printed with `DbgPrint` (through [`crate::log`] or
    /// [`KernelCalls::dbg_print`]), oldest first, without trailing newlines.
    #[must_use]
    pub fn trace(&self) -> Vec<String> {
        self.with_world(|w| w.trace.clone())
    }

    /// How long synchronous user-side requests wait for a pending IRP before giving up and
    /// returning `STATUS_PENDING` (default 10 s).
    pub fn set_sync_timeout(&self, timeout: Duration) {
        self.with_world(|w| w.sync_timeout = timeout);
    }

    pub(super) fn sync_timeout(&self) -> Duration {
        self.with_world(|w| w.sync_timeout)
    }

    pub(super) fn report(&self, report: Report) {
        self.with_world(|w| w.push(report));
    }

    pub(super) fn report_driver_panic(&self, message: &str) {
        self.report(Report {
            rule: None,
            bug_check: Some((0x1E, [0, 0, 0, 0])),
            severity: ViolationSeverity::Fatal,
            driver: None,
            major: None,
            message: format!("driver code panicked (KMODE_EXCEPTION_NOT_HANDLED): {message}"),
        });
    }

    /// Records a bug check raised by driver-side code.
    pub(crate) fn report_bug_check(&self, code: u32, params: [usize; 4], message: &str) {
        self.report(Report {
            rule: None,
            bug_check: Some((code, params)),
            severity: ViolationSeverity::Fatal,
            driver: None,
            major: None,
            message: message.to_string(),
        });
    }

    pub(super) fn dbg_print(&self, text: &str) {
        let line = text.trim_end_matches(['\n', '\r']).to_string();
        let echo = self.with_world(|w| {
            w.trace.push(line.clone());
            w.echo
        });
        if echo {
            std::eprintln!("{line}");
        }
    }

    /// In strict mode, panics with every violation recorded since the last check. Called at
    /// the end of each operation a test makes; never inside driver code.
    pub(super) fn check_strict(&self) {
        if irql::in_driver_code() || std::thread::panicking() {
            return;
        }
        let report = self.with_world(|w| {
            let start = w.reported;
            w.reported = w.violations.len();
            if !w.strict {
                return None;
            }
            let fresh: Vec<String> = w
                .violations
                .get(start..)
                .unwrap_or_default()
                .iter()
                .filter(|v| v.severity != ViolationSeverity::Warning)
                .map(ToString::to_string)
                .collect();
            if fresh.is_empty() {
                None
            } else {
                Some(format!(
                    "the simulated Driver Verifier stopped the system:\n  {}",
                    fresh.join("\n  ")
                ))
            }
        });
        if let Some(report) = report {
            fail_test(&report);
        }
    }

    // -----------------------------------------------------------------------------------------
    // Running driver code (never with the lock held).

    /// Runs a scripted closure as driver code of `driver`; a panic becomes bug check 0x1E.
    pub(super) fn run_script<R>(
        &self,
        driver: Option<DriverId>,
        f: impl FnOnce(&KernelCalls) -> R,
    ) -> Option<R> {
        let _guard = irql::enter(self, driver);
        let calls = KernelCalls::new(self.clone(), driver);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&calls))) {
            Ok(value) => Some(value),
            Err(payload) => {
                let message = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                self.report_driver_panic(&message);
                None
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Drivers.

    /// Loads a driver: makes a fresh driver object and calls its entry point at PASSIVE_LEVEL.
    ///
    /// As Windows does, the I/O manager then clears `DO_DEVICE_INITIALIZING` on the devices
    /// `DriverEntry` created. If the entry point fails, the driver object is torn down (its
    /// unload routine is not called) and every device it left behind is reported and deleted.
    ///
    /// # Errors
    ///
    /// The status `DriverEntry` failed with.
    pub fn load_driver(
        &self,
        service_name: &str,
        entry: impl Into<DriverEntry>,
    ) -> Result<DriverId, NtStatus> {
        let entry = entry.into();
        let (id, obj) = self.with_world(|w| {
            let id = DriverId(w.drivers.len());
            let obj: &'static DriverObj = Box::leak(Box::new(DriverObj {
                manager: self.clone(),
                id,
            }));
            let mut dispatch = Vec::new();
            dispatch.resize(MAJOR_FUNCTION_COUNT, None);
            w.drivers.push(DriverState {
                name: service_name.to_string(),
                obj,
                dispatch,
                unload: None,
                add_device: None,
                context: 0,
                loaded: true,
                in_entry: true,
                scripted: matches!(entry.0, EntryKind::Scripted(_)),
            });
            (id, obj)
        });
        let status = match entry.0 {
            EntryKind::Native(f) => {
                let _guard = irql::enter(self, Some(id));
                NtStatus::from_raw(sys::host::call_driver_entry(f, obj))
            }
            EntryKind::Scripted(script) => {
                self.with_world(|w| {
                    if let Some(driver) = w.drivers.get_mut(id.0) {
                        for (major, f) in &script.dispatch {
                            if let Some(slot) = driver.dispatch.get_mut(usize::from(*major)) {
                                *slot = Some(Dispatch::Scripted(f.clone()));
                            }
                        }
                        driver.unload = script.unload.clone().map(Unload::Scripted);
                        driver.add_device = script.add_device.clone().map(AddDevice::Scripted);
                    }
                });
                match &script.entry {
                    Some(entry) => self
                        .run_script(Some(id), |k| entry(k))
                        .unwrap_or(NtStatus::DRIVER_INTERNAL_ERROR),
                    None => NtStatus::SUCCESS,
                }
            }
        };
        let result = self.with_world(|w| {
            if let Some(driver) = w.drivers.get_mut(id.0) {
                driver.in_entry = false;
            }
            if status.is_success() || status.is_information() || status.is_warning() {
                for device in w.devices.iter_mut().filter(|d| d.driver == id) {
                    if device.created_in_entry {
                        device.flags &= !DO_DEVICE_INITIALIZING;
                    }
                }
                return Ok(id);
            }
            if let Some(driver) = w.drivers.get_mut(id.0) {
                driver.loaded = false;
            }
            let left: Vec<DeviceId> = (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == id && !s.deleted))
                .collect();
            for device in left {
                let label = w.device_label(device);
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver: Some(id),
                    major: None,
                    message: format!(
                        "DriverEntry failed with {status} but left {label} behind; a failing DriverEntry must delete what it created"
                    ),
                });
                w.remove_device_from_world(device);
            }
            Err(status)
        });
        self.check_strict();
        result
    }

    /// Unloads a driver: calls its `DriverUnload`, then checks that it cleaned up: every
    /// device it created is deleted, no symbolic link points at them, and no IRP is still
    /// outstanding in it (bug check 0xCE, DRIVER_UNLOADED_WITHOUT_CANCELLING_PENDING_OPERATIONS).
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_DEVICE_REQUEST` when the driver set no unload routine (Windows cannot
    /// unload such a driver), `STATUS_INVALID_PARAMETER` when it is not loaded.
    pub fn unload_driver(&self, driver: DriverId) -> Result<(), NtStatus> {
        let found = self.with_world(|w| {
            let state = w.drivers.get(driver.0).filter(|d| d.loaded);
            match state {
                None => Err(NtStatus::INVALID_PARAMETER),
                Some(d) => match &d.unload {
                    None => Err(NtStatus::INVALID_DEVICE_REQUEST),
                    Some(unload) => Ok((unload.clone(), d.obj)),
                },
            }
        });
        let (unload, obj) = match found {
            Ok(found) => found,
            Err(status) => {
                self.check_strict();
                return Err(status);
            }
        };
        match unload {
            Unload::Native(f) => {
                let _guard = irql::enter(self, Some(driver));
                sys::host::call_unload(f, obj);
            }
            Unload::Scripted(f) => {
                self.run_script(Some(driver), |k| f(k));
            }
        }
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.loaded = false;
            }
            let devices: Vec<DeviceId> = (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == driver))
                .collect();
            for device in &devices {
                if w.device(*device).is_some_and(|d| !d.deleted) {
                    let label = w.device_label(*device);
                    w.push(Report {
                        rule: None,
                        bug_check: None,
                        severity: ViolationSeverity::NonFatal,
                        driver: Some(driver),
                        major: None,
                        message: format!(
                            "DriverUnload returned but {label} was not deleted (IoDeleteDevice)"
                        ),
                    });
                }
            }
            let dangling: Vec<String> = w
                .links
                .iter()
                .filter(|(_, target)| {
                    devices.iter().any(|d| {
                        w.device(*d).is_some_and(|s| {
                            s.name
                                .as_deref()
                                .is_some_and(|n| n.eq_ignore_ascii_case(target))
                        })
                    })
                })
                .map(|(link, _)| link.clone())
                .collect();
            for link in dangling {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver: Some(driver),
                    major: None,
                    message: format!(
                        "DriverUnload returned but the symbolic link {link} still points at one of its devices (IoDeleteSymbolicLink)"
                    ),
                });
            }
            let outstanding: Vec<(IrpId, u8)> = w
                .irps
                .iter()
                .enumerate()
                .filter(|(_, irp)| irp.phase == Phase::InProgress)
                .filter_map(|(i, irp)| {
                    let loc = irp.current_loc()?;
                    let owner = w.device_driver(loc.device)?;
                    (owner == driver).then_some((IrpId(i), loc.major))
                })
                .collect();
            for (irp, code) in outstanding {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0xCE, [0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(driver),
                    major: Some(code),
                    message: format!(
                        "DriverUnload returned while IRP #{} ({}) is still outstanding in the driver (leaked or never completed)",
                        irp.0,
                        major::name(code)
                    ),
                });
            }
        });
        self.check_strict();
        Ok(())
    }

    /// The service name a driver was loaded with.
    #[must_use]
    pub fn driver_name(&self, driver: DriverId) -> Option<String> {
        self.with_world(|w| w.drivers.get(driver.0).map(|d| d.name.clone()))
    }

    /// Whether a driver is loaded.
    #[must_use]
    pub fn is_loaded(&self, driver: DriverId) -> bool {
        self.with_world(|w| w.drivers.get(driver.0).is_some_and(|d| d.loaded))
    }

    /// Raw kernel calls made as the test itself (for example, completing later an IRP a
    /// scripted driver kept). Unchecked by types, checked by the verifier.
    #[must_use]
    pub fn kernel(&self) -> KernelCalls {
        KernelCalls::new(self.clone(), None)
    }

    /// Raw kernel calls made on behalf of `driver` (for example, creating a device after
    /// `DriverEntry`, as a PnP or a worker-thread path would).
    #[must_use]
    pub fn kernel_as(&self, driver: DriverId) -> KernelCalls {
        KernelCalls::new(self.clone(), Some(driver))
    }

    // -----------------------------------------------------------------------------------------
    // Driver-object calls (from the seam and from scripted drivers).

    pub(crate) fn set_dispatch(&self, driver: DriverId, major: u8, f: DispatchFn) {
        self.with_world(|w| {
            if let Some(slot) = w
                .drivers
                .get_mut(driver.0)
                .and_then(|d| d.dispatch.get_mut(usize::from(major)))
            {
                *slot = Some(Dispatch::Native(f));
            }
        });
    }

    pub(crate) fn set_unload(&self, driver: DriverId, f: UnloadFn) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.unload = Some(Unload::Native(f));
            }
        });
    }

    pub(crate) fn set_add_device(&self, driver: DriverId, f: AddDeviceFn) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.add_device = Some(AddDevice::Native(f));
            }
        });
    }

    pub(super) fn clear_unload(&self, driver: DriverId) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.unload = None;
            }
        });
    }

    pub(super) fn clear_add_device(&self, driver: DriverId) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.add_device = None;
            }
        });
    }

    /// A kernel-mode library loaded once into this simulated system and shared by every driver
    /// that links to it (KMDF's `Wdf01000.sys` is one), created on first use. It lives as long
    /// as the simulation; it must not hold the `IoManager` itself.
    pub fn library<T: core::any::Any + Default + Send + Sync>(&self) -> Arc<T> {
        self.with_world(|w| {
            let found = w
                .libraries
                .iter()
                .find_map(|library| Arc::clone(library).downcast::<T>().ok());
            found.unwrap_or_else(|| {
                let library = Arc::new(T::default());
                w.libraries.push(library.clone());
                library
            })
        })
    }

    pub(crate) fn set_driver_context(&self, driver: DriverId, context: usize) {
        self.with_world(|w| {
            if let Some(d) = w.drivers.get_mut(driver.0) {
                d.context = context;
            }
        });
    }

    pub(crate) fn driver_context(&self, driver: DriverId) -> usize {
        self.with_world(|w| w.drivers.get(driver.0).map_or(0, |d| d.context))
    }

    pub(super) fn add_device_routine(
        &self,
        driver: DriverId,
    ) -> Option<(AddDevice, &'static DriverObj)> {
        self.with_world(|w| {
            let d = w.drivers.get(driver.0).filter(|d| d.loaded)?;
            Some((d.add_device.clone()?, d.obj))
        })
    }

    /// `IoCreateDevice`. PASSIVE_LEVEL only (SDV IrqlIoPassive1).
    pub(crate) fn create_device(
        &self,
        driver: DriverId,
        name: Option<&str>,
        device_type: u32,
        exclusive: bool,
    ) -> Result<DeviceId, NtStatus> {
        let irql = current_irql();
        self.with_world(|w| {
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive1"),
                    bug_check: Some((0xC4, [0x0002_000A, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(driver),
                    major: None,
                    message: format!(
                        "IoCreateDevice called at IRQL {irql}; it requires PASSIVE_LEVEL"
                    ),
                });
            }
            let Some(state) = w.drivers.get(driver.0).filter(|d| d.loaded) else {
                return Err(NtStatus::INVALID_PARAMETER);
            };
            let in_entry = state.in_entry;
            if let Some(name) = name {
                if !name.starts_with('\\') || name.len() < 2 {
                    return Err(NtStatus::OBJECT_NAME_INVALID);
                }
                if w.find_device_by_name(name).is_some() {
                    return Err(NtStatus::OBJECT_NAME_COLLISION);
                }
            }
            let id = DeviceId(w.devices.len());
            let obj: &'static DeviceObj = Box::leak(Box::new(DeviceObj {
                manager: self.clone(),
                id,
            }));
            w.devices.push(DeviceState {
                obj,
                driver,
                name: name.map(ToString::to_string),
                device_type,
                exclusive,
                flags: DO_DEVICE_INITIALIZING,
                context: 0,
                deleted: false,
                lower: None,
                upper: None,
                stack_size: 1,
                open_count: 0,
                created_in_entry: in_entry,
                surprise_removing: false,
            });
            Ok(id)
        })
    }

    pub(crate) fn device_obj(&self, device: DeviceId) -> Option<&'static DeviceObj> {
        self.with_world(|w| w.device(device).map(|d| d.obj))
    }

    pub(crate) fn driver_obj(&self, driver: DriverId) -> Option<&'static DriverObj> {
        self.with_world(|w| w.drivers.get(driver.0).map(|d| d.obj))
    }

    pub(crate) fn irp_obj(&self, irp: IrpId) -> Option<&'static IrpObj> {
        self.with_world(|w| w.irp(irp).map(|i| i.obj))
    }

    /// `IoDeleteDevice`.
    pub(crate) fn delete_device(&self, device: DeviceId) {
        let irql = current_irql();
        self.with_world(|w| {
            let Some(state) = w.device(device) else {
                return;
            };
            let driver = Some(state.driver);
            let label = w.device_label(device);
            if irql > APC_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoApcLte"),
                    bug_check: Some((0xC4, [0x0002_0009, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!("IoDeleteDevice({label}) at IRQL {irql}; it requires <= APC_LEVEL"),
                });
            }
            let Some((deleted, surprise_removing, lower)) = w
                .device(device)
                .map(|s| (s.deleted, s.surprise_removing, s.lower))
            else {
                return;
            };
            if deleted {
                w.push(
                    Report::io(
                        0x240,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoDeleteDevice({label}) on a device that was already deleted"),
                    )
                    .at(driver, None),
                );
                return;
            }
            if surprise_removing {
                w.push(
                    Report::io(
                        0x242,
                        Some("PnpSurpriseRemove"),
                        ViolationSeverity::Fatal,
                        format!("IoDeleteDevice({label}) while handling IRP_MN_SURPRISE_REMOVAL"),
                    )
                    .at(driver, Some(major::PNP)),
                );
            }
            if let Some(lower) = lower {
                let lower_label = w.device_label(lower);
                w.push(
                    Report::io(
                        0x201,
                        None,
                        ViolationSeverity::Fatal,
                        format!(
                            "IoDeleteDevice({label}) while it is still attached over {lower_label} (IoDetachDevice missing)"
                        ),
                    )
                    .at(driver, None),
                );
                if let Some(l) = w.device_mut(lower) {
                    l.upper = None;
                }
                if let Some(s) = w.device_mut(device) {
                    s.lower = None;
                }
            }
            if let Some(s) = w.device_mut(device) {
                s.deleted = true;
            }
        });
    }

    pub(super) fn device_info(&self, device: DeviceId) -> Option<DeviceInfo> {
        self.with_world(|w| {
            w.device(device).map(|d| DeviceInfo {
                name: d.name.clone(),
                driver: d.driver,
                device_type: d.device_type,
                flags: d.flags,
                stack_size: d.stack_size,
                attached_to: d.lower,
                attached_above: d.upper,
                deleted: d.deleted,
            })
        })
    }

    pub(crate) fn device_flags(&self, device: DeviceId) -> u32 {
        self.with_world(|w| w.device(device).map_or(0, |d| d.flags))
    }

    pub(crate) fn update_device_flags(&self, device: DeviceId, set: u32, clear: u32) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.flags = (d.flags | set) & !clear;
            }
        });
    }

    pub(crate) fn set_device_context(&self, device: DeviceId, context: usize) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.context = context;
            }
        });
    }

    pub(crate) fn device_context(&self, device: DeviceId) -> usize {
        self.with_world(|w| w.device(device).map_or(0, |d| d.context))
    }

    pub(crate) fn set_device_type(&self, device: DeviceId, device_type: u32) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.device_type = device_type;
            }
        });
    }

    pub(crate) fn device_type(&self, device: DeviceId) -> u32 {
        self.with_world(|w| w.device(device).map_or(0, |d| d.device_type))
    }

    pub(crate) fn device_driver(&self, device: DeviceId) -> Option<DriverId> {
        self.with_world(|w| w.device(device).map(|d| d.driver))
    }

    /// `IoAttachDeviceToDeviceStack(device, target)`: attaches to the current top of
    /// `target`'s stack and returns that device.
    pub(crate) fn attach_device(&self, device: DeviceId, target: DeviceId) -> Option<DeviceId> {
        let irql = current_irql();
        self.with_world(|w| {
            let driver = w.device(device).map(|d| d.driver);
            if irql > DISPATCH_LEVEL {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!(
                        "IoAttachDeviceToDeviceStack at IRQL {irql}; it requires <= DISPATCH_LEVEL"
                    ),
                });
            }
            let target_ok = w.device(target).is_some_and(|t| !t.deleted);
            if !target_ok {
                w.push(Report {
                    rule: Some("PnpSameDeviceObject"),
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: None,
                    message: "IoAttachDeviceToDeviceStack with a deleted or unknown target device"
                        .into(),
                });
                return None;
            }
            let state = w
                .device(device)
                .filter(|d| !d.deleted && d.lower.is_none())?;
            let _ = state;
            let top = w.top_of_stack(target);
            if top == device {
                return None;
            }
            let below = w.device(top).map_or(1, |d| d.stack_size);
            if let Some(t) = w.device_mut(top) {
                t.upper = Some(device);
            }
            if let Some(d) = w.device_mut(device) {
                d.lower = Some(top);
                d.stack_size = below + 1;
            }
            Some(top)
        })
    }

    /// `IoDetachDevice(lower)`.
    pub(crate) fn detach_device(&self, caller: Option<DeviceId>, lower: DeviceId) {
        let irql = current_irql();
        self.with_world(|w| {
            let upper = w.device(lower).and_then(|d| d.upper);
            let driver = w
                .device_driver(upper)
                .or_else(|| w.device_driver(caller));
            let label = w.device_label(lower);
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive3"),
                    bug_check: Some((0xC4, [0x0002_000C, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!("IoDetachDevice({label}) at IRQL {irql}; it requires PASSIVE_LEVEL"),
                });
            }
            let Some(upper) = upper else {
                w.push(
                    Report::io(
                        0x202,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoDetachDevice({label}): no device is attached over it (detached twice?)"),
                    )
                    .at(driver, None),
                );
                return;
            };
            if w.device(upper).is_some_and(|d| d.surprise_removing) {
                w.push(
                    Report::io(
                        0x241,
                        Some("PnpSurpriseRemove"),
                        ViolationSeverity::Fatal,
                        format!("IoDetachDevice({label}) while handling IRP_MN_SURPRISE_REMOVAL"),
                    )
                    .at(driver, Some(major::PNP)),
                );
            }
            if let Some(l) = w.device_mut(lower) {
                l.upper = None;
            }
            if let Some(u) = w.device_mut(upper) {
                u.lower = None;
            }
        });
    }

    /// `IoCreateSymbolicLink(link, name of device)`.
    pub(crate) fn create_symbolic_link(
        &self,
        device: DeviceId,
        link: &str,
    ) -> Result<(), NtStatus> {
        let irql = current_irql();
        self.with_world(|w| {
            let driver = w.device(device).map(|d| d.driver);
            if irql != PASSIVE_LEVEL {
                w.push(Report {
                    rule: Some("IrqlIoPassive3"),
                    bug_check: Some((0xC4, [0x0002_000C, usize::from(irql), 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: None,
                    message: format!(
                        "IoCreateSymbolicLink({link}) at IRQL {irql}; it requires PASSIVE_LEVEL"
                    ),
                });
            }
            let Some(name) = w
                .device(device)
                .filter(|d| !d.deleted)
                .and_then(|d| d.name.clone())
            else {
                return Err(NtStatus::OBJECT_NAME_INVALID);
            };
            let key = link_key(link);
            if w.links.contains_key(&key) {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            w.links.insert(key, name);
            Ok(())
        })
    }

    /// `IoDeleteSymbolicLink(link)`; returns `STATUS_OBJECT_NAME_NOT_FOUND` for an unknown link.
    pub(crate) fn delete_symbolic_link(&self, link: &str) -> NtStatus {
        self.with_world(|w| {
            if w.links.remove(&link_key(link)).is_some() {
                NtStatus::SUCCESS
            } else {
                NtStatus::OBJECT_NAME_NOT_FOUND
            }
        })
    }

    /// Creates a symbolic link to a device by name, as the PnP manager does for a device
    /// interface (no IRQL check, no owning driver).
    pub(super) fn add_link(&self, link: &str, target_name: &str) -> Result<(), NtStatus> {
        self.with_world(|w| {
            let key = link_key(link);
            if w.links.contains_key(&key) {
                return Err(NtStatus::OBJECT_NAME_COLLISION);
            }
            w.links.insert(key, target_name.to_string());
            Ok(())
        })
    }

    /// The device a symbolic link or device name refers to (`\\.\X`, `\??\X`,
    /// `\DosDevices\X`, `\GLOBAL??\X`, or a device name such as `\Device\X`).
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_NOT_FOUND` when nothing by that name exists (or the link points at a
    /// deleted device).
    pub fn resolve(&self, path: &str) -> Result<DeviceId, NtStatus> {
        self.with_world(|w| {
            let key = link_key(path);
            let name = match w.links.get(&key) {
                Some(target) => target.clone(),
                None => path.to_string(),
            };
            w.find_device_by_name(&name)
                .ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)
        })
    }

    /// The device named `name` (`\Device\X`), if it exists and is not deleted.
    #[must_use]
    pub fn device_by_name(&self, name: &str) -> Option<DeviceId> {
        self.with_world(|w| w.find_device_by_name(name))
    }

    /// What a test can read about a device object.
    #[must_use]
    pub fn device(&self, device: DeviceId) -> Option<DeviceInfo> {
        self.device_info(device)
    }

    /// The devices a driver created (also deleted ones), oldest first.
    #[must_use]
    pub fn devices_of(&self, driver: DriverId) -> Vec<DeviceId> {
        self.with_world(|w| {
            (0..w.devices.len())
                .map(DeviceId)
                .filter(|d| w.device(*d).is_some_and(|s| s.driver == driver))
                .collect()
        })
    }

    /// The top of the stack `device` is in (`IoGetAttachedDevice`).
    #[must_use]
    pub fn top_of_stack(&self, device: DeviceId) -> DeviceId {
        self.with_world(|w| w.top_of_stack(device))
    }

    /// Checks the opened device like `IopCheckDeviceAndDriver` and returns the top of its stack,
    /// counting the open.
    pub(super) fn begin_open(&self, device: DeviceId) -> Result<DeviceId, NtStatus> {
        self.with_world(|w| {
            let state = w.device(device).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
            if state.deleted || state.flags & DO_DEVICE_INITIALIZING != 0 {
                return Err(NtStatus::NO_SUCH_DEVICE);
            }
            if !w.drivers.get(state.driver.0).is_some_and(|d| d.loaded) {
                return Err(NtStatus::NO_SUCH_DEVICE);
            }
            if state.exclusive && state.open_count > 0 {
                return Err(NtStatus::ACCESS_DENIED);
            }
            Ok(w.top_of_stack(device))
        })
    }

    pub(super) fn count_open(&self, device: DeviceId, delta: isize) {
        self.with_world(|w| {
            if let Some(d) = w.device_mut(device) {
                d.open_count = d.open_count.saturating_add_signed(delta);
            }
        });
    }

    pub(super) fn device_usable(&self, device: DeviceId) -> bool {
        self.with_world(|w| {
            w.device(device).is_some_and(|d| {
                !d.deleted && w.drivers.get(d.driver.0).is_some_and(|drv| drv.loaded)
            })
        })
    }

    pub(super) fn set_surprise_removing(&self, devices: &[DeviceId], on: bool) {
        self.with_world(|w| {
            for d in devices {
                if let Some(s) = w.device_mut(*d) {
                    s.surprise_removing = on;
                }
            }
        });
    }

    /// The chain from `bottom` up to the top of its stack.
    pub(super) fn stack_chain(&self, bottom: DeviceId) -> Vec<DeviceId> {
        self.with_world(|w| {
            let mut chain = Vec::new();
            let mut cursor = Some(bottom);
            while let Some(d) = cursor {
                if chain.contains(&d) {
                    break;
                }
                chain.push(d);
                cursor = w.device(d).and_then(|s| s.upper);
            }
            chain
        })
    }

    pub(super) fn push_report(&self, report: Report) {
        self.with_world(|w| w.push(report));
    }

    pub(super) fn irps_len(&self) -> usize {
        self.with_world(|w| w.irps.len())
    }

    // -----------------------------------------------------------------------------------------
    // IRPs.

    /// Allocates an IRP for `target`'s stack and fills the first stack location the way an
    /// originator does (`IoGetNextIrpStackLocation`).
    pub(super) fn allocate_irp(&self, stack_size: usize, spec: IrpSpec) -> IrpId {
        self.with_world(|w| {
            let id = IrpId(w.irps.len());
            let obj: &'static IrpObj = Box::leak(Box::new(IrpObj {
                manager: self.clone(),
                id,
                system: cells(&spec.system),
                mdl: cells(&spec.mdl),
            }));
            let size = stack_size.max(1);
            let mut stack = Vec::new();
            stack.resize(size, StackLoc::empty());
            if let Some(first) = stack.last_mut() {
                first.major = spec.major;
                first.minor = spec.minor;
                first.params = spec.params;
            }
            w.irps.push(IrpState {
                obj,
                stack,
                current: size,
                status: spec.initial_status,
                information: 0,
                pending_returned: false,
                cancel: false,
                cancel_routine: None,
                driver_context: 0,
                mode: spec.mode,
                phase: Phase::InProgress,
                holder: Holder::Originator,
                tracked: Vec::new(),
                transfer: spec.transfer,
                output_len: spec.user_output.len(),
                user_output: spec.user_output,
                user_addresses: spec.user_addresses,
                result: None,
                orig_major: spec.major,
            });
            id
        })
    }

    pub(super) fn stack_size_of(&self, device: DeviceId) -> usize {
        self.with_world(|w| w.device(device).map_or(1, |d| d.stack_size))
    }

    /// `IoCallDriver(target, irp)`.
    pub(crate) fn call_driver(&self, irp: IrpId, target: DeviceId) -> NtStatus {
        let irql = current_irql();
        let prepared = self.with_world(|w| w.prepare_call(irp, target, irql));
        let call = match prepared {
            Prepared::Refuse(status) => return status,
            Prepared::Fail(status) => {
                self.complete_internal(irp, status);
                return status;
            }
            Prepared::Call(call) => call,
        };
        let raises = irql::raises();
        let status = match call.dispatch {
            None => {
                // `IopInvalidDeviceRequest`, the I/O manager's default table entry.
                self.complete_internal(call.irp, NtStatus::INVALID_DEVICE_REQUEST);
                NtStatus::INVALID_DEVICE_REQUEST
            }
            Some(Dispatch::Native(f)) => {
                let _guard = irql::enter(self, Some(call.driver));
                NtStatus::from_raw(sys::host::call_dispatch(f, call.device_obj, call.irp_obj))
            }
            Some(Dispatch::Scripted(f)) => {
                let (device, id) = (call.device, call.irp);
                self.run_script(Some(call.driver), |k| f(k, device, id))
                    .unwrap_or(NtStatus::INTERNAL_ERROR)
            }
        };
        let exit_irql = current_irql();
        self.with_world(|w| {
            if exit_irql != irql {
                let code = w.frames.get(&call.frame).map(|f| f.major);
                w.push(Report {
                    rule: Some("IrqlReturn"),
                    bug_check: Some((0xC9, [0x05, usize::from(irql), usize::from(exit_irql), 0])),
                    severity: ViolationSeverity::Fatal,
                    driver: Some(call.driver),
                    major: code,
                    message: format!(
                        "the dispatch routine was entered at IRQL {irql} and returned at IRQL {exit_irql} (a spin lock still held?)"
                    ),
                });
            }
            w.finish_frame(call.frame, status);
            if let Some(caller) = call.caller_frame.and_then(|f| w.frames.get_mut(&f)) {
                caller.forwarded = Some(status);
            }
        });
        if exit_irql != irql {
            irql::set_irql(irql);
        }
        irql::set_raises(raises);
        status
    }

    /// `IoCompleteRequest` by a driver (with the verifier's completion checks).
    pub(crate) fn complete_request(&self, irp: IrpId, status: NtStatus, information: usize) {
        let irql = current_irql();
        let spin = irql::spin_lock_held();
        let start =
            self.with_world(|w| w.begin_completion(irp, status, information, Some((irql, spin))));
        if let Some(start) = start {
            self.run_completion(irp, start);
        }
    }

    /// The I/O manager completing an IRP itself (no driver checks).
    fn complete_internal(&self, irp: IrpId, status: NtStatus) {
        let start = self.with_world(|w| {
            let info = w.irp(irp).map_or(0, |i| i.information);
            w.begin_completion(irp, status, info, None)
        });
        if let Some(start) = start {
            self.run_completion(irp, start);
        }
    }

    fn run_completion(&self, irp: IrpId, start: usize) {
        let mut index = start;
        loop {
            let next = self.with_world(|w| w.next_completion(irp, index));
            let Some(next) = next else {
                break;
            };
            let (routine, device, device_obj, driver) =
                (next.routine, next.device, next.device_obj, next.driver);
            let status = match routine {
                CompletionRoutine::Native(f, context) => {
                    let Some(irp_obj) = self.irp_obj(irp) else {
                        break;
                    };
                    let _guard = irql::enter(self, driver);
                    NtStatus::from_raw(sys::host::call_completion(f, device_obj, irp_obj, context))
                }
                CompletionRoutine::Scripted(f) => self
                    .run_script(driver, |k| f(k, device, irp))
                    .unwrap_or(NtStatus::SUCCESS),
            };
            let halted = self.with_world(|w| w.after_routine(irp, index, status, driver));
            if halted {
                return;
            }
            index += 1;
        }
        self.with_world(|w| w.finish_completion(irp));
        self.inner.completed.notify_all();
    }

    /// `TrackingCompleter`: records the completion on the IRP without running the completion
    /// path; the originator sees the recorded status and information.
    pub(crate) fn tracked_complete(&self, irp: IrpId, status: NtStatus, information: usize) {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            if matches!(
                state.phase,
                Phase::Completed | Phase::Tracked | Phase::Completing
            ) {
                w.push(Report {
                    rule: Some("DoubleCompletion"),
                    bug_check: Some((0x44, [irp.0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!("IRP #{} completed twice (TrackingCompleter)", irp.0),
                });
                return;
            }
            state.tracked.push(TrackedCompletion {
                status,
                information,
            });
            state.status = status;
            state.information = information;
            state.phase = Phase::Tracked;
            state.holder = Holder::Originator;
            w.finish_completion(irp);
        });
        self.inner.completed.notify_all();
    }

    /// The safe layer dropped an IRP it owned without completing, forwarding or pending it.
    /// Reported, then completed with `STATUS_CANCELLED` so the originator is not left hanging.
    pub(crate) fn irp_leaked(&self, irp: IrpId) {
        let live = self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp(irp) else {
                return false;
            };
            if state.phase != Phase::InProgress {
                return false;
            }
            if let Holder::Frame(f) = state.holder
                && let Some(frame) = w.frames.get_mut(&f)
            {
                frame.leaked = true;
            }
            w.push(
                Report::io(
                    0x226,
                    Some("IrpProcessingComplete"),
                    ViolationSeverity::Fatal,
                    format!(
                        "IRP #{} dropped without being completed, forwarded or pended; the simulation completes it with STATUS_CANCELLED",
                        irp.0
                    ),
                )
                .at(driver, code),
            );
            true
        });
        if live {
            self.with_world(|w| {
                if let Some(state) = w.irp_mut(irp) {
                    state.cancel_routine = None;
                }
            });
            self.complete_internal(irp, NtStatus::CANCELLED);
        }
    }

    /// `IoMarkIrpPending`.
    pub(crate) fn mark_pending(&self, irp: IrpId) {
        self.with_world(|w| {
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            if let Some(loc) = state.stack.get_mut(current) {
                loc.pending = true;
            }
            if let Holder::Frame(frame) = state.holder
                && let Some(frame) = w.frames.get_mut(&frame)
            {
                frame.marked = true;
            }
        });
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub(crate) fn skip_current_location(&self, irp: IrpId) {
        self.with_world(|w| {
            if let Some(state) = w.irp_mut(irp)
                && state.current < state.stack.len()
            {
                state.current += 1;
            }
        });
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub(crate) fn copy_current_location_to_next(&self, irp: IrpId) {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            let Some(source) = state.stack.get(current).cloned() else {
                return;
            };
            let Some(next) = current.checked_sub(1).and_then(|n| state.stack.get_mut(n)) else {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0x35, [irp.0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: "IoCopyCurrentIrpStackLocationToNext with no stack location left (NO_MORE_IRP_STACK_LOCATIONS)".into(),
                });
                return;
            };
            *next = StackLoc {
                major: source.major,
                minor: source.minor,
                params: source.params,
                device: None,
                completion: None,
                pending: false,
                copied_without_routine: true,
            };
        });
    }

    /// `IoSetCompletionRoutine` on the next stack location.
    pub(super) fn set_completion_routine(&self, irp: IrpId, routine: CompletionRoutine) {
        self.with_world(|w| {
            let (driver, code) = w.irp_blame(irp);
            let Some(state) = w.irp_mut(irp) else {
                return;
            };
            let current = state.current;
            let Some(next) = current.checked_sub(1).and_then(|n| state.stack.get_mut(n)) else {
                w.push(Report {
                    rule: None,
                    bug_check: Some((0x35, [irp.0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: "IoSetCompletionRoutine with no next stack location (the lowest driver cannot set one)".into(),
                });
                return;
            };
            let overwrote = next.completion.is_some();
            next.completion = Some(routine);
            next.copied_without_routine = false;
            if overwrote {
                w.push(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: code,
                    message: "IoSetCompletionRoutine overwrote a completion routine already set on the next stack location (IoSkipCurrentIrpStackLocation followed by IoSetCompletionRoutine?)".into(),
                });
            }
        });
    }

    /// `IoSetCompletionRoutine` with a driver's routine and context pointer (as a word).
    pub(crate) fn set_native_completion_routine(
        &self,
        irp: IrpId,
        f: CompletionFn,
        context: usize,
    ) {
        self.set_completion_routine(irp, CompletionRoutine::Native(f, context));
    }

    /// `IoSetCancelRoutine` with a driver's routine (or none).
    pub(crate) fn set_native_cancel_routine(&self, irp: IrpId, f: Option<CancelFn>) -> bool {
        self.set_cancel_routine(irp, f.map(CancelRoutine::Native))
    }

    /// `IoSetCancelRoutine`: returns whether a routine was set before.
    pub(super) fn set_cancel_routine(&self, irp: IrpId, routine: Option<CancelRoutine>) -> bool {
        self.with_world(|w| {
            w.irp_mut(irp).is_some_and(|state| {
                core::mem::replace(&mut state.cancel_routine, routine).is_some()
            })
        })
    }

    /// `IoCancelIrp`: sets `Irp->Cancel`; if a cancel routine is set, clears it and calls it at
    /// DISPATCH_LEVEL with the cancel spin lock held. Returns whether a routine was called.
    pub(crate) fn cancel_irp(&self, irp: IrpId) -> bool {
        let irql = current_irql();
        let found = self.with_world(|w| {
            let state = w.irp_mut(irp)?;
            if state.phase != Phase::InProgress {
                return None;
            }
            state.cancel = true;
            let routine = state.cancel_routine.take()?;
            let device = state.current_loc().and_then(|l| l.device);
            let obj = state.obj;
            w.cancel_lock.push((irp, irql));
            let device_obj = device.and_then(|d| w.device(d)).map(|d| d.obj);
            let driver = w.device_driver(device);
            Some((routine, device, device_obj, driver, obj))
        });
        let Some((routine, device, device_obj, driver, irp_obj)) = found else {
            return false;
        };
        irql::set_irql(DISPATCH_LEVEL);
        match routine {
            CancelRoutine::Native(f) => {
                if let Some(device_obj) = device_obj {
                    let _guard = irql::enter(self, driver);
                    sys::host::call_cancel(f, device_obj, irp_obj);
                }
            }
            CancelRoutine::Scripted(f) => {
                if let Some(device) = device {
                    self.run_script(driver, |k| f(k, device, irp));
                }
            }
        }
        self.with_world(|w| {
            if let Some(position) = w.cancel_lock.iter().position(|(held, _)| *held == irp) {
                w.cancel_lock.remove(position);
                w.push(Report {
                    rule: Some("CancelSpinlockRelease"),
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: w.irp(irp).map(|i| i.orig_major),
                    message: format!(
                        "the cancel routine of IRP #{} returned without releasing the cancel spin lock (IoReleaseCancelSpinLock)",
                        irp.0
                    ),
                });
            }
        });
        irql::set_irql(irql);
        true
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub(crate) fn release_cancel_lock(&self, irp: IrpId) {
        let back = self.with_world(|w| {
            if let Some(position) = w.cancel_lock.iter().position(|(held, _)| *held == irp) {
                let (_, irql) = w.cancel_lock.remove(position);
                return Some(irql);
            }
            let (driver, code) = w.irp_blame(irp);
            w.push(Report {
                rule: Some("CancelSpinLock"),
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver,
                major: code,
                message: "IoReleaseCancelSpinLock without holding the cancel spin lock".into(),
            });
            None
        });
        if let Some(irql) = back {
            irql::set_irql(irql);
        }
    }

    pub(crate) fn stack_params(&self, irp: IrpId) -> StackParams {
        self.with_world(|w| {
            let loc = w.irp(irp).and_then(IrpState::current_loc);
            StackParams {
                major: loc.map_or(0, |l| l.major),
                minor: loc.map_or(0, |l| l.minor),
                params: loc.map_or(Params::Other, |l| l.params),
            }
        })
    }

    pub(crate) fn requestor_mode(&self, irp: IrpId) -> Mode {
        self.with_world(|w| w.irp(irp).map_or(Mode::Kernel, |i| i.mode))
    }

    /// The length of the system buffer the current stack location describes.
    pub(crate) fn system_buffer_len(&self, irp: IrpId) -> usize {
        self.with_world(|w| {
            let Some(state) = w.irp(irp) else {
                return 0;
            };
            let Some(loc) = state.current_loc() else {
                return 0;
            };
            let buffered = w
                .device(loc.device.unwrap_or(DeviceId(usize::MAX)))
                .is_some_and(|d| d.flags & DO_BUFFERED_IO != 0);
            let len = match loc.params {
                Params::Read { length, .. } | Params::Write { length, .. } if buffered => {
                    usize::try_from(length).unwrap_or(0)
                }
                Params::DeviceControl {
                    output_length,
                    input_length,
                    code,
                } => {
                    let input = usize::try_from(input_length).unwrap_or(0);
                    let output = usize::try_from(output_length).unwrap_or(0);
                    match code & 3 {
                        0 => input.max(output),
                        1 | 2 => input,
                        _ => 0,
                    }
                }
                _ => 0,
            };
            len.min(state.obj.system.len())
        })
    }

    pub(crate) fn user_addresses(&self, irp: IrpId) -> (usize, usize) {
        self.with_world(|w| w.irp(irp).map_or((0, 0), |i| i.user_addresses))
    }

    pub(crate) fn information(&self, irp: IrpId) -> usize {
        self.with_world(|w| w.irp(irp).map_or(0, |i| i.information))
    }

    pub(crate) fn set_information(&self, irp: IrpId, information: usize) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.information = information;
            }
        });
    }

    pub(crate) fn status(&self, irp: IrpId) -> NtStatus {
        self.with_world(|w| w.irp(irp).map_or(NtStatus::SUCCESS, |i| i.status))
    }

    pub(crate) fn set_status(&self, irp: IrpId, status: NtStatus) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.status = status;
            }
        });
    }

    pub(crate) fn pending_returned(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_some_and(|i| i.pending_returned))
    }

    pub(crate) fn cancel_requested(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_some_and(|i| i.cancel))
    }

    pub(crate) fn irp_driver_context(&self, irp: IrpId) -> usize {
        self.with_world(|w| w.irp(irp).map_or(0, |i| i.driver_context))
    }

    pub(crate) fn set_irp_driver_context(&self, irp: IrpId, context: usize) {
        self.with_world(|w| {
            if let Some(i) = w.irp_mut(irp) {
                i.driver_context = context;
            }
        });
    }

    /// The driver whose code owns the IRP right now, if the IRP is in a driver's hands.
    pub(super) fn irp_owner(&self, irp: IrpId) -> Option<DriverId> {
        self.with_world(|w| {
            let state = w.irp(irp)?;
            if state.phase == Phase::Completed || state.phase == Phase::Tracked {
                return None;
            }
            w.device_driver(state.current_loc().and_then(|l| l.device))
        })
    }

    pub(super) fn driver_is_scripted(&self, driver: DriverId) -> bool {
        self.with_world(|w| w.drivers.get(driver.0).is_some_and(|d| d.scripted))
    }

    /// Whether an IRP finished (completed, or gone).
    pub(super) fn is_completed(&self, irp: IrpId) -> bool {
        self.with_world(|w| w.irp(irp).is_none_or(|i| i.result.is_some()))
    }

    /// The final result of an IRP, once it completed.
    pub(super) fn irp_result(&self, irp: IrpId) -> Option<IoResult> {
        self.with_world(|w| w.irp(irp).and_then(|i| i.result.clone()))
    }

    /// Waits (at most `timeout`) for an IRP to complete.
    pub(super) fn wait_for(&self, irp: IrpId, timeout: Duration) -> Option<IoResult> {
        let deadline = Instant::now() + timeout;
        let mut world = self.lock();
        loop {
            if let Some(result) = world.irp(irp).and_then(|i| i.result.clone()) {
                return Some(result);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            world = match self.inner.completed.wait_timeout(world, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// An IRP result for a request whose dispatch routine returned without completing or
    /// pending it (already reported): what the originator sees is the returned status.
    pub(super) fn unfinished_result(&self, irp: IrpId, returned: NtStatus) -> IoResult {
        self.with_world(|w| IoResult {
            status: returned,
            information: w.irp(irp).map_or(0, |i| i.information),
            data: Vec::new(),
            output: w
                .irp(irp)
                .map(|i| i.user_output.clone())
                .unwrap_or_default(),
            irp,
        })
    }

    /// A probe into an IRP's state, for assertions.
    #[must_use]
    pub fn probe(&self, irp: IrpId) -> IrpProbe {
        IrpProbe {
            manager: self.clone(),
            irp,
        }
    }
}

impl World {
    fn prepare_call(&mut self, irp: IrpId, target: DeviceId, irql: u8) -> Prepared {
        let (blame, _) = self.irp_blame(irp);
        let Some(state) = self.irp(irp) else {
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        };
        let next_major = state
            .current
            .checked_sub(1)
            .and_then(|n| state.stack.get(n))
            .map_or(state.orig_major, |l| l.major);
        if state.phase != Phase::InProgress {
            self.push(Report {
                rule: Some("CompleteRequest"),
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!("IoCallDriver with IRP #{} after it was completed", irp.0),
            });
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        }
        let caller_frame = match state.holder {
            Holder::Frame(f) => Some(f),
            _ => None,
        };
        let has_cancel = state.cancel_routine.is_some();
        let current = state.current;
        let copied_without_routine = current
            .checked_sub(1)
            .and_then(|n| state.stack.get(n))
            .is_some_and(|l| l.copied_without_routine);
        if irql > DISPATCH_LEVEL {
            self.push(Report {
                rule: Some("ForwardedAtBadIrql"),
                bug_check: Some((0xC9, [0x10, usize::from(irql), 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!("IoCallDriver at IRQL {irql} (above DISPATCH_LEVEL)"),
            });
        } else if irql == DISPATCH_LEVEL
            && !matches!(
                next_major,
                major::POWER
                    | major::READ
                    | major::WRITE
                    | major::DEVICE_CONTROL
                    | major::INTERNAL_DEVICE_CONTROL
            )
        {
            self.push(
                Report::io(
                    0x23A,
                    Some("ForwardedAtBadIrql"),
                    ViolationSeverity::Fatal,
                    format!(
                        "IoCallDriver at DISPATCH_LEVEL with {}",
                        major::name(next_major)
                    ),
                )
                .at(blame, Some(next_major)),
            );
        }
        if has_cancel {
            self.push(
                Report::io(
                    0x203,
                    None,
                    ViolationSeverity::Fatal,
                    "IoCallDriver with the IRP's cancel routine still set".into(),
                )
                .at(blame, Some(next_major)),
            );
        }
        if copied_without_routine {
            self.push(
                Report::io(
                    0x21C,
                    None,
                    ViolationSeverity::Warning,
                    "stack location copied to the next one without a completion routine; skip it instead".into(),
                )
                .at(blame, Some(next_major)),
            );
        }
        if current == 0 {
            self.push(Report {
                rule: None,
                bug_check: Some((0x35, [irp.0, 0, 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!(
                    "IoCallDriver to {} with no stack location left (NO_MORE_IRP_STACK_LOCATIONS)",
                    self.device_label(target)
                ),
            });
            return Prepared::Fail(NtStatus::INSUFFICIENT_RESOURCES);
        }
        let Some(device) = self.device(target) else {
            self.push(
                Report::io(
                    0x204,
                    None,
                    ViolationSeverity::Fatal,
                    "IoCallDriver with an unknown device object".into(),
                )
                .at(blame, Some(next_major)),
            );
            return Prepared::Fail(NtStatus::NO_SUCH_DEVICE);
        };
        let target_driver = device.driver;
        let device_obj = device.obj;
        let deleted = device.deleted;
        let driver_state = self.drivers.get(target_driver.0);
        let loaded = driver_state.is_some_and(|d| d.loaded);
        if deleted || !loaded {
            let label = self.device_label(target);
            self.push(Report {
                rule: None,
                bug_check: None,
                severity: ViolationSeverity::Fatal,
                driver: blame,
                major: Some(next_major),
                message: format!(
                    "IoCallDriver to {label}, which is {}",
                    if deleted {
                        "deleted"
                    } else {
                        "owned by an unloaded driver"
                    }
                ),
            });
            return Prepared::Fail(NtStatus::NO_SUCH_DEVICE);
        }
        let dispatch = driver_state
            .and_then(|d| d.dispatch.get(usize::from(next_major)).cloned())
            .flatten();
        let frame = self.new_frame();
        let Some(state) = self.irp_mut(irp) else {
            return Prepared::Refuse(NtStatus::INVALID_PARAMETER);
        };
        let location = current - 1;
        state.current = location;
        let routine_set = state
            .stack
            .get(location)
            .is_some_and(|l| l.completion.is_some());
        if let Some(loc) = state.stack.get_mut(location) {
            loc.device = Some(target);
            loc.copied_without_routine = false;
        }
        state.holder = Holder::Frame(frame);
        let irp_obj = state.obj;
        if let Some(caller) = caller_frame.and_then(|f| self.frames.get_mut(&f)) {
            caller.forwarded_with_routine = routine_set;
        }
        self.frames.insert(
            frame,
            Frame {
                irp,
                location,
                driver: target_driver,
                major: next_major,
                forwarded: None,
                forwarded_with_routine: false,
                leaked: false,
                marked: false,
            },
        );
        Prepared::Call(Box::new(PreparedCall {
            irp,
            frame,
            caller_frame,
            device: target,
            device_obj,
            irp_obj,
            driver: target_driver,
            dispatch,
        }))
    }

    /// The checks when a dispatch routine returns `status`.
    fn finish_frame(&mut self, frame_id: usize, status: NtStatus) {
        let Some(frame) = self.frames.remove(&frame_id) else {
            return;
        };
        let Some(state) = self.irp(frame.irp) else {
            return;
        };
        let marked = frame.marked;
        let owned = state.holder == Holder::Frame(frame_id)
            || state.holder == Holder::Halted(frame.location);
        let done = match state.phase {
            Phase::Completed => Some(state.status),
            Phase::Tracked => state.tracked.last().map(|t| t.status),
            Phase::InProgress | Phase::Completing => None,
        };
        let irp = frame.irp;
        if state.holder == Holder::Frame(frame_id)
            && let Some(state) = self.irp_mut(irp)
        {
            state.holder = Holder::Parked(frame.location);
        }
        if frame.leaked {
            return;
        }
        let at = (Some(frame.driver), Some(frame.major));
        if status.to_u32() == u32::MAX {
            self.push(
                Report::io(
                    0x225,
                    Some("CompleteRequestStatusCheck"),
                    ViolationSeverity::NonFatal,
                    "the dispatch routine returned 0xFFFFFFFF".into(),
                )
                .at(at.0, at.1),
            );
        } else if status == NtStatus::PENDING {
            if !marked && frame.forwarded != Some(NtStatus::PENDING) {
                self.push(
                    Report::io(
                        0x23D,
                        Some("MarkIrpPending2"),
                        ViolationSeverity::NonFatal,
                        format!(
                            "the dispatch routine returned STATUS_PENDING for IRP #{} without calling IoMarkIrpPending",
                            irp.0
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
        } else {
            if marked {
                self.push(
                    Report::io(
                        0x23E,
                        Some("MarkIrpPending"),
                        ViolationSeverity::NonFatal,
                        format!(
                            "the dispatch routine called IoMarkIrpPending on IRP #{} but returned {status} instead of STATUS_PENDING",
                            irp.0
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
            if owned && done.is_none() {
                self.push(
                    Report::io(
                        0x226,
                        Some("IrpProcessingComplete"),
                        ViolationSeverity::Fatal,
                        format!(
                            "the dispatch routine returned {status} without completing IRP #{}, passing it down or returning STATUS_PENDING",
                            irp.0
                        ),
                    )
                    .at(at.0, at.1),
                );
            } else if let Some(forwarded) = frame.forwarded {
                if !frame.forwarded_with_routine && status != forwarded {
                    self.push(Report {
                        rule: Some("LowerDriverReturn"),
                        bug_check: None,
                        severity: ViolationSeverity::NonFatal,
                        driver: at.0,
                        major: at.1,
                        message: format!(
                            "the dispatch routine passed IRP #{} down without a completion routine and returned {status}, not the {forwarded} IoCallDriver returned",
                            irp.0
                        ),
                    });
                }
            } else if let Some(done) = done
                && done != status
                && !is_bad_status(done)
            {
                self.push(
                    Report::io(
                        0x224,
                        Some("CompleteRequestStatusCheck"),
                        ViolationSeverity::Fatal,
                        format!(
                            "the dispatch routine completed IRP #{} with {done} but returned {status}",
                            irp.0
                        ),
                    )
                    .at(at.0, at.1),
                );
            }
        }
    }

    /// Checks and records a completion; returns the location completion starts from.
    fn begin_completion(
        &mut self,
        irp: IrpId,
        status: NtStatus,
        information: usize,
        checks: Option<(u8, bool)>,
    ) -> Option<usize> {
        let (driver, code) = self.irp_blame(irp);
        let state = self.irp(irp)?;
        if state.phase != Phase::InProgress {
            self.push(Report {
                rule: Some("DoubleCompletion"),
                bug_check: Some((0x44, [irp.0, 0, 0, 0])),
                severity: ViolationSeverity::Fatal,
                driver,
                major: code,
                message: format!(
                    "IoCompleteRequest on IRP #{} (completing with {status}), which was already completed (MULTIPLE_IRP_COMPLETE_REQUESTS)",
                    irp.0
                ),
            });
            return None;
        }
        let has_cancel = state.cancel_routine.is_some();
        let buffered_overflow = state.transfer == Transfer::Buffered
            && !status.is_error()
            && information > state.output_len;
        let output_len = state.output_len;
        if let Some((irql, spin)) = checks {
            if irql > DISPATCH_LEVEL {
                self.push(
                    Report::io(
                        0x0E,
                        None,
                        ViolationSeverity::Fatal,
                        format!("IoCompleteRequest at IRQL {irql} (above DISPATCH_LEVEL)"),
                    )
                    .at(driver, code),
                );
            } else if spin {
                self.push(Report {
                    rule: Some("SpinLockSafe"),
                    bug_check: None,
                    severity: ViolationSeverity::NonFatal,
                    driver,
                    major: code,
                    message: format!(
                        "IoCompleteRequest on IRP #{} while holding a spin lock",
                        irp.0
                    ),
                });
            }
            if is_bad_status(status) {
                self.push(
                    Report::io(
                        0x06,
                        Some("CompleteRequestStatusCheck"),
                        ViolationSeverity::Fatal,
                        format!("IRP #{} completed with status {status}", irp.0),
                    )
                    .at(driver, code),
                );
            }
            if has_cancel {
                self.push(
                    Report::io(
                        0x07,
                        None,
                        ViolationSeverity::Fatal,
                        format!(
                            "IRP #{} completed with its cancel routine still set (also Driver Verifier 0xC9/0x23C)",
                            irp.0
                        ),
                    )
                    .at(driver, code),
                );
            }
            if buffered_overflow {
                self.push(
                    Report::io(
                        0x312,
                        None,
                        ViolationSeverity::NonFatal,
                        format!(
                            "IRP #{} completed with Information {information}, larger than the {output_len}-byte output buffer (buffered I/O)",
                            irp.0
                        ),
                    )
                    .at(driver, code),
                );
            }
        }
        let state = self.irp_mut(irp)?;
        state.status = status;
        state.information = information;
        state.cancel_routine = None;
        state.phase = Phase::Completing;
        state.holder = Holder::Originator;
        Some(state.current)
    }

    /// Walks up from `index` to the next location with a completion routine, doing the I/O
    /// manager's pending propagation for the locations without one. `None` when completion
    /// reached the originator.
    fn next_completion(&mut self, irp: IrpId, mut index: usize) -> Option<NextRoutine> {
        loop {
            let state = self.irp_mut(irp)?;
            let size = state.stack.len();
            if index >= size {
                state.current = size;
                return None;
            }
            let loc = state.stack.get_mut(index)?;
            let pending = loc.pending;
            let routine = loc.completion.take();
            loc.pending = false;
            state.pending_returned = pending;
            state.current = index + 1;
            if let Some(routine) = routine {
                // While its completion routine runs, the IRP is back in the hands of the
                // driver that set it: the routine may complete it again (then returns
                // STATUS_MORE_PROCESSING_REQUIRED, as KMDF's I/O target does) or send it on.
                state.phase = Phase::InProgress;
                state.holder = Holder::Halted(index + 1);
                let device = state.stack.get(index + 1).and_then(|l| l.device);
                let device_obj = device.and_then(|d| self.device(d)).map(|d| d.obj);
                return Some(NextRoutine {
                    routine,
                    device,
                    device_obj,
                    driver: self.device_driver(device),
                });
            }
            if pending && let Some(upper) = state.stack.get_mut(index + 1) {
                upper.pending = true;
            }
            index += 1;
        }
    }

    /// After a completion routine ran at `index`: halts on MORE_PROCESSING_REQUIRED, checks
    /// pending propagation. Returns whether completion halted.
    fn after_routine(
        &mut self,
        irp: IrpId,
        index: usize,
        status: NtStatus,
        driver: Option<DriverId>,
    ) -> bool {
        let Some(state) = self.irp_mut(irp) else {
            return true;
        };
        let kept = state.phase == Phase::InProgress && state.holder == Holder::Halted(index + 1);
        if !kept {
            // The routine completed the IRP again (or sent it on) before returning: completion
            // went on from there, so this one must stop, which only MORE_PROCESSING_REQUIRED
            // says.
            if status != NtStatus::MORE_PROCESSING_REQUIRED {
                let code = state.stack.get(index + 1).map(|l| l.major);
                self.push(Report {
                    rule: Some("DoubleCompletion"),
                    bug_check: Some((0x44, [irp.0, 0, 0, 0])),
                    severity: ViolationSeverity::Fatal,
                    driver,
                    major: code,
                    message: format!(
                        "the completion routine of IRP #{} completed or passed on the IRP and returned {status} instead of STATUS_MORE_PROCESSING_REQUIRED",
                        irp.0
                    ),
                });
            }
            return true;
        }
        if status == NtStatus::MORE_PROCESSING_REQUIRED {
            return true;
        }
        state.phase = Phase::Completing;
        state.holder = Holder::Originator;
        let pending_returned = state.pending_returned;
        let code = state.stack.get(index + 1).map(|l| l.major);
        let unmarked = state
            .stack
            .get(index + 1)
            .is_some_and(|upper| !upper.pending);
        if pending_returned && unmarked {
            self.push(
                Report::io(
                    0x228,
                    None,
                    ViolationSeverity::NonFatal,
                    format!(
                        "the completion routine of IRP #{} saw PendingReturned but did not call IoMarkIrpPending",
                        irp.0
                    ),
                )
                .at(driver, code),
            );
        }
        false
    }

    /// The I/O manager's final processing: the copy-back to the user buffer.
    fn finish_completion(&mut self, irp: IrpId) {
        let Some(state) = self.irp_mut(irp) else {
            return;
        };
        if state.phase == Phase::Completing {
            state.phase = Phase::Completed;
        }
        state.holder = Holder::Originator;
        let status = state.status;
        let mut output = state.user_output.clone();
        let returned = state.information.min(state.output_len);
        match state.transfer {
            Transfer::Buffered if !status.is_error() => {
                let system = read_cells(&state.obj.system);
                for (dst, src) in output.iter_mut().zip(system.iter()).take(returned) {
                    *dst = *src;
                }
            }
            Transfer::Direct => {
                output = read_cells(&state.obj.mdl);
            }
            Transfer::Buffered | Transfer::None => {}
        }
        let data = if status.is_error() {
            Vec::new()
        } else {
            output
                .get(..returned)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        };
        state.result = Some(IoResult {
            status,
            information: state.information,
            data,
            output,
            irp,
        });
    }

    fn remove_device_from_world(&mut self, device: DeviceId) {
        let lower = self.device(device).and_then(|d| d.lower);
        let upper = self.device(device).and_then(|d| d.upper);
        if let Some(l) = lower.and_then(|l| self.device_mut(l)) {
            l.upper = None;
        }
        if let Some(u) = upper.and_then(|u| self.device_mut(u)) {
            u.lower = None;
        }
        if let Some(d) = self.device_mut(device) {
            d.deleted = true;
            d.lower = None;
            d.upper = None;
        }
    }
}

/// A view of one IRP's state, for assertions in tests ([`IoManager::probe`]).
#[derive(Clone, Debug)]
pub struct IrpProbe {
    manager: IoManager,
    irp: IrpId,
}

impl IrpProbe {
    /// The IRP this probe looks at.
    #[must_use]
    pub const fn id(&self) -> IrpId {
        self.irp
    }

    /// The last completion `TrackingCompleter` recorded on the IRP.
    #[must_use]
    pub fn tracked_completion(&self) -> Option<TrackedCompletion> {
        self.manager
            .with_world(|w| w.irp(self.irp).and_then(|i| i.tracked.last().copied()))
    }

    /// Every completion `TrackingCompleter` recorded on the IRP, oldest first.
    #[must_use]
    pub fn tracked_completions(&self) -> Vec<TrackedCompletion> {
        self.manager.with_world(|w| {
            w.irp(self.irp)
                .map(|i| i.tracked.clone())
                .unwrap_or_default()
        })
    }

    /// Whether the IRP finished (completed through the I/O manager or `TrackingCompleter`).
    #[must_use]
    pub fn is_completed(&self) -> bool {
        self.manager.irp_result(self.irp).is_some()
    }

    /// `IoStatus.Status`.
    #[must_use]
    pub fn status(&self) -> NtStatus {
        self.manager.status(self.irp)
    }

    /// `IoStatus.Information`.
    #[must_use]
    pub fn information(&self) -> usize {
        self.manager.information(self.irp)
    }

    /// `Irp->Cancel`.
    #[must_use]
    pub fn cancel_requested(&self) -> bool {
        self.manager.cancel_requested(self.irp)
    }

    /// `Irp->PendingReturned` (after completion: whether the top driver marked it pending).
    #[must_use]
    pub fn pending_returned(&self) -> bool {
        self.manager.pending_returned(self.irp)
    }

    /// `StackCount`: the number of stack locations the IRP was allocated with.
    #[must_use]
    pub fn stack_count(&self) -> usize {
        self.manager
            .with_world(|w| w.irp(self.irp).map_or(0, |i| i.stack.len()))
    }

    /// The final result, once the IRP completed.
    #[must_use]
    pub fn result(&self) -> Option<IoResult> {
        self.manager.irp_result(self.irp)
    }
}
