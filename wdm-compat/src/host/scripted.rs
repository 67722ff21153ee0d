//! Drivers made of closures, and the raw kernel calls they (and tests) make.

use std::collections::BTreeMap;
use std::format;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::vec::Vec;

use super::manager::{
    CancelRoutine, CompletionRoutine, IoManager, IrpObj, ScriptedAccess, read_cells,
};
use super::verifier::{Report, ViolationSeverity};
use super::{DeviceId, DriverId, FileObject, IrpId, irql};
use crate::status::NtStatus;
use crate::sys::{Mode, Params};

/// A scripted dispatch routine: `(kernel, device, irp) -> status to return`.
pub(crate) type DispatchClosure = dyn Fn(&KernelCalls, DeviceId, IrpId) -> NtStatus + Send + Sync;
/// A scripted completion routine: `(kernel, device of the driver that set it (None for the
/// originator), irp) -> STATUS_MORE_PROCESSING_REQUIRED to stop completion, anything else to
/// continue`.
pub(crate) type CompletionClosure =
    dyn Fn(&KernelCalls, Option<DeviceId>, IrpId) -> NtStatus + Send + Sync;
/// A scripted cancel routine: `(kernel, device, irp)`; must release the cancel spin lock.
pub(crate) type CancelClosure = dyn Fn(&KernelCalls, DeviceId, IrpId) + Send + Sync;
/// A scripted `DriverUnload`.
pub(crate) type UnloadClosure = dyn Fn(&KernelCalls) + Send + Sync;
/// A scripted `AddDevice(driver, pdo)`.
pub(crate) type AddDeviceClosure = dyn Fn(&KernelCalls, DeviceId) -> NtStatus + Send + Sync;
/// A scripted `DriverEntry` body.
pub(crate) type EntryClosure = dyn Fn(&KernelCalls) -> NtStatus + Send + Sync;

/// A driver whose routines are closures, so a test can play any driver — a buggy C driver, the
/// bus driver under a PDO, the function driver under a filter — without `unsafe`.
///
/// Its routines receive a [`KernelCalls`]: raw, C-like kernel calls that go through the same
/// I/O manager paths as real drivers' calls and are checked by the same verifier. Majors
/// without a routine complete with `STATUS_INVALID_DEVICE_REQUEST`. Without
/// [`on_unload`](Self::on_unload) the driver cannot be unloaded, as on Windows.
///
/// The simulation may drop a routine while it holds its own lock (a completion routine never
/// reached, a cancel routine replaced): a closure must not own an [`IoOperation`], an
/// [`IrpProbe`] or a [`FileHandle`], whose drops call back into the simulation and would wait
/// for that lock for ever. Share them through an `Arc<Mutex<…>>` the test keeps instead.
///
/// [`IoOperation`]: super::IoOperation
/// [`IrpProbe`]: super::IrpProbe
/// [`FileHandle`]: super::FileHandle
#[derive(Default, Clone)]
pub struct ScriptedDriver {
    pub(super) entry: Option<Arc<EntryClosure>>,
    pub(super) dispatch: BTreeMap<u8, Arc<DispatchClosure>>,
    pub(super) unload: Option<Arc<UnloadClosure>>,
    pub(super) add_device: Option<Arc<AddDeviceClosure>>,
}

impl core::fmt::Debug for ScriptedDriver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScriptedDriver")
            .field("majors", &self.dispatch.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ScriptedDriver {
    /// A driver with no routines.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the dispatch routine of `major`: it returns the status the dispatch routine
    /// returns.
    #[must_use]
    pub fn on(
        mut self,
        major: u8,
        f: impl Fn(&KernelCalls, DeviceId, IrpId) -> NtStatus + Send + Sync + 'static,
    ) -> Self {
        self.dispatch.insert(major, Arc::new(f));
        self
    }

    /// Dispatch routines for each of `majors` that complete the IRP at once with
    /// `STATUS_SUCCESS` and no information: what a bus driver's PDO does with the creates,
    /// closes and PnP IRPs a test does not look at.
    #[must_use]
    pub fn succeeding(self, majors: &[u8]) -> Self {
        majors.iter().fold(self, |driver, &major| {
            driver.on(major, |k, _device, irp| {
                k.complete(irp, NtStatus::SUCCESS, 0);
                NtStatus::SUCCESS
            })
        })
    }

    /// Sets the body of `DriverEntry` (create devices, links…); its status is the entry
    /// point's.
    #[must_use]
    pub fn on_entry(
        mut self,
        f: impl Fn(&KernelCalls) -> NtStatus + Send + Sync + 'static,
    ) -> Self {
        self.entry = Some(Arc::new(f));
        self
    }

    /// Sets `DriverUnload`.
    #[must_use]
    pub fn on_unload(mut self, f: impl Fn(&KernelCalls) + Send + Sync + 'static) -> Self {
        self.unload = Some(Arc::new(f));
        self
    }

    /// Sets `AddDevice(driver, pdo)` (PnP).
    #[must_use]
    pub fn on_add_device(
        mut self,
        f: impl Fn(&KernelCalls, DeviceId) -> NtStatus + Send + Sync + 'static,
    ) -> Self {
        self.add_device = Some(Arc::new(f));
        self
    }
}

/// The parameters of an IRP's current stack location, as scripted drivers read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrpParameters {
    /// `Parameters.Read`.
    Read {
        /// `Length`.
        length: u32,
        /// `ByteOffset`.
        offset: i64,
    },
    /// `Parameters.Write`.
    Write {
        /// `Length`.
        length: u32,
        /// `ByteOffset`.
        offset: i64,
    },
    /// `Parameters.DeviceIoControl`.
    DeviceControl {
        /// `OutputBufferLength`.
        output_length: u32,
        /// `InputBufferLength`.
        input_length: u32,
        /// `IoControlCode`.
        code: u32,
    },
    /// `Parameters.Power` of a set-power or query-power IRP.
    Power {
        /// `Type`: 0 `SystemPowerState`, 1 `DevicePowerState`.
        kind: u32,
        /// `State`: a `DEVICE_POWER_STATE` (1 for D0 … 4 for D3) or `SYSTEM_POWER_STATE`.
        state: u32,
    },
    /// Nothing decoded.
    Other,
}

/// What a dispatch routine reads first about an IRP, in one look ([`KernelCalls::view`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrpView {
    /// The current stack location's major function.
    pub major: u8,
    /// The current stack location's minor function.
    pub minor: u8,
    /// The current stack location's parameters.
    pub parameters: IrpParameters,
    /// Whether the IRP came from user mode (`Irp->RequestorMode == UserMode`).
    pub from_user_mode: bool,
    /// `IoStatus.Status`.
    pub status: NtStatus,
}

impl From<Params> for IrpParameters {
    fn from(params: Params) -> Self {
        match params {
            Params::Read { length, offset } => Self::Read { length, offset },
            Params::Write { length, offset } => Self::Write { length, offset },
            Params::DeviceControl {
                output_length,
                input_length,
                code,
            } => Self::DeviceControl {
                output_length,
                input_length,
                code,
            },
            Params::Power { kind, state } => Self::Power { kind, state },
            // Scripted drivers read these through `KernelCalls::system_buffer` when they need to.
            Params::QueryInformation { .. } | Params::SetInformation { .. } | Params::Other => {
                Self::Other
            }
        }
    }
}

/// Raw kernel calls, C-style: IRPs and devices are plain ids, nothing is checked by types, and
/// everything goes through the same I/O manager paths (and the same verifier) as the calls of
/// real drivers.
///
/// Scripted routines receive one; a test gets one from [`IoManager::kernel`] (acting as
/// nobody in particular, e.g. to complete later an IRP a scripted driver kept) or
/// [`IoManager::kernel_as`].
///
/// Operations that touch an IRP (completing, marking, forwarding, its buffers…) are refused and
/// reported when the IRP is currently owned by a driver built on the safe layer: that driver
/// may hold its buffers as `&mut [u8]`.
#[derive(Clone, Debug)]
pub struct KernelCalls {
    manager: IoManager,
    driver: Option<DriverId>,
}

impl KernelCalls {
    pub(super) const fn new(manager: IoManager, driver: Option<DriverId>) -> Self {
        Self { manager, driver }
    }

    /// The I/O manager these calls go to.
    #[must_use]
    pub const fn manager(&self) -> &IoManager {
        &self.manager
    }

    /// The driver making the calls, if any.
    #[must_use]
    pub const fn driver(&self) -> Option<DriverId> {
        self.driver
    }

    /// Whether the IRP may be touched from scripted code: refused (and reported) when a
    /// safe-layer driver owns it. `Ok(None)`: the IRP is gone (the call itself reports that).
    fn touch(&self, irp: IrpId, what: &str) -> Result<Option<(Arc<IrpObj>, usize)>, ()> {
        self.access(irp, what, true)
    }

    fn may_touch(&self, irp: IrpId, what: &str) -> bool {
        self.access(irp, what, false).is_ok()
    }

    fn access(
        &self,
        irp: IrpId,
        what: &str,
        buffers: bool,
    ) -> Result<Option<(Arc<IrpObj>, usize)>, ()> {
        match self.manager.scripted_access(irp, buffers) {
            ScriptedAccess::Gone => Ok(None),
            ScriptedAccess::Open { obj, system_len } => Ok(obj.map(|obj| (obj, system_len))),
            ScriptedAccess::HeldByNativeDriver => {
                self.manager.push_report(Report {
                    rule: None,
                    bug_check: None,
                    severity: ViolationSeverity::Fatal,
                    driver: self.driver,
                    major: None,
                    message: format!(
                        "{what} on IRP #{} while another driver owns it (refused by the simulation)",
                        irp.number()
                    ),
                });
                Err(())
            }
        }
    }

    // --- IRPs ----------------------------------------------------------------------------

    /// Sets `IoStatus` and calls `IoCompleteRequest`.
    pub fn complete(&self, irp: IrpId, status: NtStatus, information: usize) {
        if self.may_touch(irp, "IoCompleteRequest") {
            self.manager
                .complete_request(irp, status, information, false);
        }
    }

    /// `IoCompleteRequest` as a framework calls it for its client driver (`WdfRequestComplete`
    /// of the simulated KMDF): every completion check applies except the WDM rule SpinLockSafe,
    /// since KMDF lets a driver complete a request while it holds a spin lock (at
    /// DISPATCH_LEVEL).
    pub fn complete_for_client(&self, irp: IrpId, status: NtStatus, information: usize) {
        if self.may_touch(irp, "IoCompleteRequest") {
            self.manager
                .complete_request(irp, status, information, true);
        }
    }

    /// `IoCompleteRequest` with `IoStatus` as it is (set it with
    /// [`set_status`](Self::set_status) and [`set_information`](Self::set_information)).
    pub fn complete_as_is(&self, irp: IrpId) {
        let status = self.manager.status(irp);
        let information = self.manager.information(irp);
        self.complete(irp, status, information);
    }

    /// `IoMarkIrpPending`.
    pub fn mark_pending(&self, irp: IrpId) {
        if self.may_touch(irp, "IoMarkIrpPending") {
            self.manager.mark_pending(irp);
        }
    }

    /// `IoCallDriver(device, irp)`: returns what the lower driver returned.
    pub fn call_driver(&self, irp: IrpId, device: DeviceId) -> NtStatus {
        if self.may_touch(irp, "IoCallDriver") {
            self.manager.call_driver(irp, device)
        } else {
            NtStatus::INVALID_PARAMETER
        }
    }

    /// `IoSkipCurrentIrpStackLocation`.
    pub fn skip_current_location(&self, irp: IrpId) {
        if self.may_touch(irp, "IoSkipCurrentIrpStackLocation") {
            self.manager.skip_current_location(irp);
        }
    }

    /// `IoCopyCurrentIrpStackLocationToNext`.
    pub fn copy_current_location_to_next(&self, irp: IrpId) {
        if self.may_touch(irp, "IoCopyCurrentIrpStackLocationToNext") {
            self.manager.copy_current_location_to_next(irp);
        }
    }

    /// `IoSetCompletionRoutine(irp, f, …, TRUE, TRUE, TRUE)` on the next stack location. `f`
    /// receives the device of the driver that set it (the one at the location completion
    /// returns to) and returns `STATUS_MORE_PROCESSING_REQUIRED` to stop completion.
    pub fn set_completion_routine(
        &self,
        irp: IrpId,
        f: impl Fn(&KernelCalls, Option<DeviceId>, IrpId) -> NtStatus + Send + Sync + 'static,
    ) {
        if self.may_touch(irp, "IoSetCompletionRoutine") {
            self.manager
                .set_completion_routine(irp, CompletionRoutine::Scripted(Arc::new(f)));
        }
    }

    /// `IoSetCancelRoutine(irp, f)`: returns whether a routine was set before. The routine is
    /// called with the cancel spin lock held and must release it with
    /// [`release_cancel_lock`](Self::release_cancel_lock).
    pub fn set_cancel_routine(
        &self,
        irp: IrpId,
        f: impl Fn(&KernelCalls, DeviceId, IrpId) + Send + Sync + 'static,
    ) -> bool {
        self.may_touch(irp, "IoSetCancelRoutine")
            && self
                .manager
                .set_cancel_routine(irp, Some(CancelRoutine::Scripted(Arc::new(f))))
    }

    /// `IoSetCancelRoutine(irp, NULL)`: returns whether a routine was still set (`false`: the
    /// cancel routine already has, or is about to have, the IRP).
    pub fn clear_cancel_routine(&self, irp: IrpId) -> bool {
        self.manager.set_cancel_routine(irp, None)
    }

    /// `IoReleaseCancelSpinLock(Irp->CancelIrql)`.
    pub fn release_cancel_lock(&self, irp: IrpId) {
        self.manager.release_cancel_lock(irp);
    }

    /// `IoCancelIrp`: returns whether a cancel routine was called.
    pub fn cancel(&self, irp: IrpId) -> bool {
        self.manager.cancel_irp(irp)
    }

    /// `Irp->Cancel`.
    #[must_use]
    pub fn cancel_requested(&self, irp: IrpId) -> bool {
        self.manager.cancel_requested(irp)
    }

    /// `IoGetCurrentIrpStackLocation(irp)->FileObject`: the handle's file object the IRP was
    /// sent through (`None` for IRPs of the kernel: PnP, IOCTLs a driver built).
    #[must_use]
    pub fn file_object(&self, irp: IrpId) -> Option<FileObject> {
        self.manager.irp_file(irp)
    }

    /// `Irp->PendingReturned`.
    #[must_use]
    pub fn pending_returned(&self, irp: IrpId) -> bool {
        self.manager.pending_returned(irp)
    }

    /// The current stack location's major function.
    #[must_use]
    pub fn major(&self, irp: IrpId) -> u8 {
        self.manager.stack_params(irp).major
    }

    /// The current stack location's minor function.
    #[must_use]
    pub fn minor(&self, irp: IrpId) -> u8 {
        self.manager.stack_params(irp).minor
    }

    /// The current stack location's parameters.
    #[must_use]
    pub fn parameters(&self, irp: IrpId) -> IrpParameters {
        self.manager.stack_params(irp).params.into()
    }

    /// The current stack location and the IRP's requestor mode and status, read at once.
    #[must_use]
    pub fn view(&self, irp: IrpId) -> IrpView {
        let (stack, mode, status) = self.manager.irp_view(irp);
        IrpView {
            major: stack.major,
            minor: stack.minor,
            parameters: stack.params.into(),
            from_user_mode: mode == Mode::User,
            status,
        }
    }

    /// Whether the IRP came from user mode (`Irp->RequestorMode == UserMode`).
    #[must_use]
    pub fn from_user_mode(&self, irp: IrpId) -> bool {
        self.manager.requestor_mode(irp) == Mode::User
    }

    /// `IoStatus.Status`.
    #[must_use]
    pub fn status(&self, irp: IrpId) -> NtStatus {
        self.manager.status(irp)
    }

    /// Sets `IoStatus.Status`.
    pub fn set_status(&self, irp: IrpId, status: NtStatus) {
        self.manager.set_status(irp, status);
    }

    /// `IoStatus.Information`.
    #[must_use]
    pub fn information(&self, irp: IrpId) -> usize {
        self.manager.information(irp)
    }

    /// Sets `IoStatus.Information`.
    pub fn set_information(&self, irp: IrpId, information: usize) {
        self.manager.set_information(irp, information);
    }

    /// A copy of the system buffer the current stack location describes (empty: none).
    #[must_use]
    pub fn system_buffer(&self, irp: IrpId) -> Vec<u8> {
        match self.touch(irp, "reading the system buffer") {
            Ok(Some((obj, len))) => obj.system.get(..len).map(read_cells).unwrap_or_default(),
            Ok(None) | Err(()) => Vec::new(),
        }
    }

    /// Writes `bytes` into the system buffer at `offset`.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when they do not fit (nothing is written).
    pub fn write_system_buffer(
        &self,
        irp: IrpId,
        offset: usize,
        bytes: &[u8],
    ) -> Result<(), NtStatus> {
        let Ok(Some((obj, len))) = self.touch(irp, "writing the system buffer") else {
            return Err(NtStatus::INVALID_PARAMETER);
        };
        let end = offset
            .checked_add(bytes.len())
            .ok_or(NtStatus::BUFFER_TOO_SMALL)?;
        if end > len {
            return Err(NtStatus::BUFFER_TOO_SMALL);
        }
        let target = obj
            .system
            .get(offset..end)
            .ok_or(NtStatus::BUFFER_TOO_SMALL)?;
        for (cell, byte) in target.iter().zip(bytes) {
            cell.store(*byte, Ordering::Relaxed);
        }
        Ok(())
    }

    /// A copy of the buffer the MDL describes (empty: no MDL).
    #[must_use]
    pub fn mdl_buffer(&self, irp: IrpId) -> Vec<u8> {
        match self.touch(irp, "reading the MDL") {
            Ok(Some((obj, _))) => read_cells(&obj.mdl),
            Ok(None) | Err(()) => Vec::new(),
        }
    }

    /// Writes `bytes` into the buffer the MDL describes, at `offset`.
    ///
    /// # Errors
    ///
    /// `STATUS_BUFFER_TOO_SMALL` when they do not fit (nothing is written).
    pub fn write_mdl_buffer(
        &self,
        irp: IrpId,
        offset: usize,
        bytes: &[u8],
    ) -> Result<(), NtStatus> {
        let Ok(Some((obj, _))) = self.touch(irp, "writing the MDL") else {
            return Err(NtStatus::INVALID_PARAMETER);
        };
        let end = offset
            .checked_add(bytes.len())
            .ok_or(NtStatus::BUFFER_TOO_SMALL)?;
        let target = obj.mdl.get(offset..end).ok_or(NtStatus::BUFFER_TOO_SMALL)?;
        for (cell, byte) in target.iter().zip(bytes) {
            cell.store(*byte, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The raw user addresses of a METHOD_NEITHER request (or a read/write on a device with
    /// neither buffered nor direct I/O): (`Type3InputBuffer`, `UserBuffer`). Numbers only.
    #[must_use]
    pub fn user_addresses(&self, irp: IrpId) -> (usize, usize) {
        self.manager.user_addresses(irp)
    }

    // --- Devices -------------------------------------------------------------------------

    /// Runs `f` as code of the calling driver (so reports name it even when a test makes the
    /// call from outside any driver routine), as the system runs a driver's DPC or work item:
    /// what a library on the simulation (the simulated KMDF's timers) calls its driver through.
    pub fn as_driver<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self
            .driver
            .filter(|_| irql::current_driver().is_none())
            .map(|driver| irql::enter(&self.manager, Some(driver)));
        f()
    }

    /// `IoCreateDevice` for the calling driver (see [`KernelCalls::driver`]); the device starts
    /// with `DO_DEVICE_INITIALIZING` set.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_COLLISION`, `STATUS_OBJECT_NAME_INVALID`, or
    /// `STATUS_INVALID_PARAMETER` when there is no calling driver.
    pub fn create_device(
        &self,
        name: Option<&str>,
        device_type: u32,
        exclusive: bool,
    ) -> Result<DeviceId, NtStatus> {
        let driver = self.driver.ok_or(NtStatus::INVALID_PARAMETER)?;
        self.as_driver(|| {
            self.manager
                .create_device(driver, name, device_type, exclusive)
        })
    }

    /// The security part of `IoCreateDeviceSecure`: `device` (this driver's, still
    /// initializing) gets the DACL of `sddl` instead of `IoCreateDevice`'s default (everyone
    /// may read and write). `CreateFile` is then checked against it.
    ///
    /// # Errors
    ///
    /// `STATUS_INVALID_PARAMETER` for SDDL the simulation cannot read: it reads `D:P` followed
    /// by `(A;;rights;;;trustee)` entries with rights from `GA GR GW GX` (the
    /// `SDDL_DEVOBJ_*` strings).
    pub fn set_device_security(&self, device: DeviceId, sddl: &str) -> Result<(), NtStatus> {
        self.manager.set_device_security(device, sddl)
    }

    /// `IoDeleteDevice`.
    pub fn delete_device(&self, device: DeviceId) {
        self.as_driver(|| self.manager.delete_device(device));
    }

    /// `IoAttachDeviceToDeviceStack(device, target)`: the device it attached over, or `None`.
    #[must_use]
    pub fn attach(&self, device: DeviceId, target: DeviceId) -> Option<DeviceId> {
        self.as_driver(|| self.manager.attach_device(device, target))
    }

    /// `IoDetachDevice(lower)`.
    pub fn detach(&self, lower: DeviceId) {
        self.as_driver(|| self.manager.detach_device(None, lower));
    }

    /// `DeviceObject->Flags |= flags`.
    pub fn set_flags(&self, device: DeviceId, flags: u32) {
        self.manager.update_device_flags(device, flags, 0);
    }

    /// `DeviceObject->Flags &= !flags`.
    pub fn clear_flags(&self, device: DeviceId, flags: u32) {
        self.manager.update_device_flags(device, 0, flags);
    }

    /// `DeviceObject->Flags`.
    #[must_use]
    pub fn flags(&self, device: DeviceId) -> u32 {
        self.manager.device_flags(device)
    }

    /// `DeviceObject->DeviceType`.
    #[must_use]
    pub fn device_type(&self, device: DeviceId) -> u32 {
        self.manager.device_type(device)
    }

    /// `DeviceObject->DeviceType = device_type`.
    pub fn set_device_type(&self, device: DeviceId, device_type: u32) {
        self.manager.set_device_type(device, device_type);
    }

    /// `IoCreateSymbolicLink(link, name of device)`.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_COLLISION`, or `STATUS_OBJECT_NAME_INVALID` for an unnamed device.
    pub fn create_symbolic_link(&self, link: &str, device: DeviceId) -> Result<(), NtStatus> {
        self.as_driver(|| self.manager.create_symbolic_link(device, link))
    }

    /// `IoDeleteSymbolicLink(link)`.
    pub fn delete_symbolic_link(&self, link: &str) -> NtStatus {
        self.manager.delete_symbolic_link(link)
    }

    // --- The driver object -----------------------------------------------------------------

    /// `DriverObject->DriverUnload = NULL`: the calling driver can no longer be unloaded (a
    /// framework does this for a driver that gave it no unload callback).
    pub fn clear_unload(&self) {
        if let Some(driver) = self.driver {
            self.manager.clear_unload(driver);
        }
    }

    /// `DriverObject->DriverExtension->AddDevice = NULL`: the calling driver is not a PnP
    /// driver.
    pub fn clear_add_device(&self) {
        if let Some(driver) = self.driver {
            self.manager.clear_add_device(driver);
        }
    }

    /// `PoRequestPowerIrp(IRP_MN_SET_POWER, DevicePowerState Dd)`: a device set-power IRP for
    /// D-state `d` (0 for D0 … 3 for D3) sent to the top of the stack `device` is in, as the
    /// power manager does for the device's power policy owner; returns its final status once
    /// the stack completed it (the simulation waits where Windows calls a completion routine).
    pub fn request_device_power(&self, device: DeviceId, d: u8) -> NtStatus {
        let params = crate::sys::Params::Power {
            kind: 1,
            state: u32::from(d) + 1,
        };
        self.manager
            .send_system_irp(
                device,
                super::major::POWER,
                super::power_minor::SET_POWER,
                params,
            )
            .status
    }

    /// `IoBuildDeviceIoControlRequest` + `IoCallDriver`, waiting for the completion: an IOCTL
    /// (`IRP_MJ_INTERNAL_DEVICE_CONTROL` when `internal`) sent from kernel mode to `device`
    /// (a device below the caller's), with `input` and room for `output_length` bytes. The
    /// result's `data` is what the driver returned (its `Information` bytes).
    pub fn send_ioctl(
        &self,
        device: DeviceId,
        internal: bool,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> super::IoResult {
        self.manager
            .kernel_ioctl(device, internal, code, input, output_length)
    }

    /// `IoAllocateIrp` + the first stack location `IoBuildDeviceIoControlRequest` would fill,
    /// not sent: an IOCTL (`IRP_MJ_INTERNAL_DEVICE_CONTROL` when `internal`) from kernel mode
    /// for `device`'s stack, with `input` and room for `output_length` bytes. The caller sets
    /// its completion routine ([`set_completion_routine`](Self::set_completion_routine)),
    /// sends it ([`call_driver`](Self::call_driver)) and frees it
    /// ([`free_irp`](Self::free_irp)).
    #[must_use]
    pub fn allocate_ioctl_irp(
        &self,
        device: DeviceId,
        internal: bool,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> IrpId {
        self.manager
            .allocate_kernel_ioctl(device, internal, code, input, output_length)
    }

    /// `IoFreeIrp` of an IRP this driver allocated, before it is sent or once its completion
    /// routine returned `STATUS_MORE_PROCESSING_REQUIRED` (from inside that routine too).
    /// Freeing an IRP a driver below still holds is reported; returns whether it was freed.
    pub fn free_irp(&self, irp: IrpId) -> bool {
        self.manager.free_irp(irp)
    }

    /// Reports what a framework layered on the simulation found (a KMDF verifier break, a
    /// `WDF_VIOLATION` bug check…), attributed to the calling driver: `rule` is the SDV rule
    /// name when there is one, `bug_check` the bug check Windows would raise.
    pub fn report(
        &self,
        rule: Option<&'static str>,
        bug_check: Option<(u32, [usize; 4])>,
        severity: ViolationSeverity,
        message: &str,
    ) {
        self.manager.push_report(Report {
            rule,
            bug_check,
            severity,
            driver: self.driver,
            major: None,
            message: message.into(),
        });
    }

    // --- IRQL and trace ------------------------------------------------------------------

    /// `KeRaiseIrql`: returns the previous IRQL (raising to DISPATCH_LEVEL stands for acquiring
    /// a spin lock).
    #[must_use]
    pub fn raise_irql(&self, new: u8) -> u8 {
        irql::raise_irql(new)
    }

    /// `KeLowerIrql`.
    pub fn lower_irql(&self, old: u8) {
        irql::lower_irql(old);
    }

    /// `KeGetCurrentIrql`.
    #[must_use]
    pub fn current_irql(&self) -> u8 {
        irql::current_irql()
    }

    /// `DbgPrint`: one line of trace.
    pub fn dbg_print(&self, text: &str) {
        self.manager.dbg_print(text);
    }
}
