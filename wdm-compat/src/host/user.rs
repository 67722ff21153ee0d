//! The user-mode side: opening devices and sending requests, as `CreateFile`, `ReadFile`,
//! `WriteFile`, `DeviceIoControl`, `CancelIo` and `CloseHandle` would.

use core::time::Duration;
use std::sync::Arc;
use std::vec;
use std::vec::Vec;

use super::manager::{IoManager, IrpSpec, Transfer};
use super::security::{Access, OpenOptions};
use super::{DeviceId, FileObject, IrpId, major};
use crate::ioctl::{Ioctl, IoctlInput, IoctlOutput};
use crate::status::NtStatus;
use crate::sys::{DO_BUFFERED_IO, DO_DIRECT_IO, Mode, Params};

/// The outcome of a request, as the caller sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoResult {
    /// The final `IoStatus.Status` (for a request that never completed: what the dispatch
    /// routine returned).
    pub status: NtStatus,
    /// The final `IoStatus.Information` (bytes transferred for reads, writes and IOCTLs).
    pub information: usize,
    /// The bytes that came back: the first `min(information, output length)` bytes of the
    /// caller's output buffer; empty when the status is an error.
    pub data: Vec<u8>,
    /// The caller's whole output buffer after the request (read length or IOCTL output
    /// length), including bytes the I/O manager did not copy back.
    pub output: Vec<u8>,
    /// The IRP that carried the request (see [`IoManager::probe`]).
    pub irp: IrpId,
}

impl IoResult {
    /// Whether the status is `NT_SUCCESS` (success or informational).
    #[must_use]
    pub const fn is_success(&self) -> bool {
        self.status.to_raw() >= 0
    }
}

/// An open handle to a device (`CreateFile` on `\\.\X`).
///
/// Each handle is its own file object (there is no `DuplicateHandle`): closing it sends
/// `IRP_MJ_CLEANUP` at once and `IRP_MJ_CLOSE` once the IRPs sent through it have completed, as
/// the file object's last reference goes with them. Its requests go to the top of the opened
/// device's stack at the time they are sent. Reads, writes
/// and IOCTLs beyond the access it was opened with are refused with `STATUS_ACCESS_DENIED`,
/// without an IRP, as the I/O manager refuses them. Dropping the
/// handle closes it (cleanup, then close) like process exit would, without strict-mode checks.
#[derive(Debug)]
pub struct FileHandle {
    manager: IoManager,
    opened: DeviceId,
    /// The handle's file object.
    file: FileObject,
    /// What the handle was opened for: reads, writes and IOCTLs beyond it are refused.
    access: Access,
    closed: bool,
    /// The IRPs sent through the handle that may still be in flight (for `CancelIoEx`).
    issued: std::sync::Mutex<Vec<IrpId>>,
}

/// A request sent asynchronously (overlapped I/O). Its IRP stays readable (its result, a
/// [`probe`](IoManager::probe)) until the operation and all its clones are dropped.
#[derive(Debug, Clone)]
pub struct IoOperation {
    manager: IoManager,
    irp: IrpId,
    returned: NtStatus,
    _originator: Arc<Originator>,
}

/// The originator's hold on an IRP: released when the last clone of the operation goes, after
/// which the IRP retires once it has completed.
#[derive(Debug)]
struct Originator {
    manager: IoManager,
    irp: IrpId,
}

impl Drop for Originator {
    fn drop(&mut self) {
        self.manager.release_irp(self.irp);
    }
}

/// Fake user-mode addresses for METHOD_NEITHER requests: never dereferenceable.
fn fake_address(irp_hint: usize, len: usize, output: bool) -> usize {
    if len == 0 {
        return 0;
    }
    0x1000_0000usize
        .wrapping_add(irp_hint.wrapping_mul(0x1_0000))
        .wrapping_add(if output { 0x8000 } else { 0 })
}

impl IoManager {
    /// `CreateFile(path)`: resolves a symbolic link (`\\.\X`, `\??\X`, `\DosDevices\X`) or a
    /// device name (`\Device\X`, a PDO's name), checks the device like
    /// `IopCheckDeviceAndDriver`, and sends `IRP_MJ_CREATE` to the top of its stack.
    ///
    /// # Errors
    ///
    /// * `STATUS_OBJECT_NAME_NOT_FOUND`: no such link or device;
    /// * `STATUS_NO_SUCH_DEVICE`: the device is deleted, its driver unloaded, or it still has
    ///   `DO_DEVICE_INITIALIZING` set (Windows refuses to open such a device);
    /// * `STATUS_ACCESS_DENIED`: an exclusive device that is already open;
    /// * any failure status the drivers completed the create with.
    /// * `STATUS_ACCESS_DENIED` also when the device's security does not grant the caller the
    ///   access it asks for ([`open_with`](Self::open_with); `open` is an administrator asking
    ///   for read and write access, as the samples' elevated clients do).
    pub fn open(&self, path: &str) -> Result<FileHandle, NtStatus> {
        self.open_with(path, OpenOptions::ADMINISTRATOR)
    }

    /// [`open`](Self::open) as `options.caller`, asking for `options.access`: the device's
    /// security descriptor must grant it (`STATUS_ACCESS_DENIED` otherwise, before any driver
    /// sees the create), and the handle may then only read, write or send IOCTLs as that
    /// access allows.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(&self, path: &str, options: OpenOptions) -> Result<FileHandle, NtStatus> {
        let result = self.open_inner(path, options);
        self.check_strict();
        result
    }

    fn open_inner(&self, path: &str, options: OpenOptions) -> Result<FileHandle, NtStatus> {
        let device = self.resolve(path)?;
        let top = self.begin_open(device, options)?;
        let file = self.new_file_object();
        let result = self.send_sync_for(top, Self::file_irp(major::CREATE), Some(file));
        if !result.is_success() {
            return Err(result.status);
        }
        self.count_open(device, 1);
        Ok(FileHandle {
            manager: self.clone(),
            opened: device,
            file,
            access: options.access,
            closed: false,
            issued: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Sends and waits for completion (at most the sync timeout); the IRP is released after.
    pub(super) fn send_sync(&self, top: DeviceId, spec: IrpSpec) -> IoResult {
        self.send_sync_for(top, spec, None)
    }

    /// [`send_sync`](Self::send_sync) through `file`.
    pub(super) fn send_sync_for(
        &self,
        top: DeviceId,
        spec: IrpSpec,
        file: Option<FileObject>,
    ) -> IoResult {
        let irp = self.allocate_irp(self.stack_size_of(top), spec);
        if let Some(file) = file {
            self.set_irp_file(irp, file);
        }
        let returned = self.call_driver(irp, top);
        self.settle_sync(irp, returned)
    }

    /// What a synchronous caller gets, after which it lets the IRP go.
    fn settle_sync(&self, irp: IrpId, returned: NtStatus) -> IoResult {
        // The common case, a request completed before `IoCallDriver` returned, in one look.
        if let Some(result) = self.take_result(irp) {
            return result;
        }
        let result = self.settle(irp, returned, true);
        self.release_irp(irp);
        result
    }

    fn settle(&self, irp: IrpId, returned: NtStatus, wait: bool) -> IoResult {
        if let Some(result) = self.irp_result(irp) {
            return result;
        }
        if returned == NtStatus::PENDING
            && wait
            && let Some(result) = self.wait_for(irp, self.sync_timeout())
        {
            return result;
        }
        self.unfinished_result(irp, returned)
    }

    fn next_irp_hint(&self) -> usize {
        self.next_irp_serial()
    }
}

impl FileHandle {
    /// The device this handle opened (not necessarily the top of its stack).
    #[must_use]
    pub const fn device(&self) -> DeviceId {
        self.opened
    }

    fn target(&self) -> Option<DeviceId> {
        let top = self.manager.top_of_stack(self.opened);
        self.manager.device_usable(top).then_some(top)
    }

    fn read_spec(&self, top: DeviceId, length: usize) -> IrpSpec {
        let flags = self.manager.device_flags(top);
        let hint = self.manager.next_irp_hint();
        let params = Params::Read {
            length: u32::try_from(length).unwrap_or(u32::MAX),
            offset: 0,
        };
        let zeros = vec![0u8; length];
        let (system, mdl, transfer, addresses) = if flags & DO_BUFFERED_IO != 0 {
            (zeros.clone(), Vec::new(), Transfer::Buffered, (0, 0))
        } else if flags & DO_DIRECT_IO != 0 {
            (Vec::new(), zeros.clone(), Transfer::Direct, (0, 0))
        } else {
            (
                Vec::new(),
                Vec::new(),
                Transfer::None,
                (0, fake_address(hint, length, true)),
            )
        };
        IrpSpec {
            major: major::READ,
            minor: 0,
            params,
            mode: Mode::User,
            system,
            mdl,
            transfer,
            user_output: zeros,
            user_addresses: addresses,
            initial_status: NtStatus::SUCCESS,
        }
    }

    fn write_spec(&self, top: DeviceId, data: &[u8]) -> IrpSpec {
        let flags = self.manager.device_flags(top);
        let hint = self.manager.next_irp_hint();
        let params = Params::Write {
            length: u32::try_from(data.len()).unwrap_or(u32::MAX),
            offset: 0,
        };
        let (system, mdl, addresses) = if flags & DO_BUFFERED_IO != 0 {
            (data.to_vec(), Vec::new(), (0, 0))
        } else if flags & DO_DIRECT_IO != 0 {
            (Vec::new(), data.to_vec(), (0, 0))
        } else {
            (
                Vec::new(),
                Vec::new(),
                (0, fake_address(hint, data.len(), true)),
            )
        };
        IrpSpec {
            major: major::WRITE,
            minor: 0,
            params,
            mode: Mode::User,
            system,
            mdl,
            transfer: Transfer::None,
            user_output: Vec::new(),
            user_addresses: addresses,
            initial_status: NtStatus::SUCCESS,
        }
    }

    fn ioctl_spec(&self, internal: bool, code: u32, input: &[u8], output: Vec<u8>) -> IrpSpec {
        let mode = if internal { Mode::Kernel } else { Mode::User };
        ioctl_spec(
            self.manager.next_irp_hint(),
            internal,
            code,
            input,
            output,
            mode,
        )
    }

    /// `NtQueryInformationFile`'s IRP: `Parameters.QueryFile`, the caller's buffer as the
    /// system buffer (the I/O manager buffers these requests whatever the device's flags).
    fn query_information_spec(class: u32, length: usize) -> IrpSpec {
        IrpSpec {
            major: major::QUERY_INFORMATION,
            minor: 0,
            params: Params::QueryInformation {
                length: u32::try_from(length).unwrap_or(u32::MAX),
                class,
            },
            mode: Mode::User,
            system: vec![0; length],
            mdl: Vec::new(),
            transfer: Transfer::Buffered,
            user_output: vec![0; length],
            user_addresses: (0, 0),
            initial_status: NtStatus::SUCCESS,
        }
    }

    /// `NtSetInformationFile`'s IRP: the data captured in the system buffer.
    fn set_information_spec(class: u32, data: &[u8]) -> IrpSpec {
        IrpSpec {
            major: major::SET_INFORMATION,
            minor: 0,
            params: Params::SetInformation {
                length: u32::try_from(data.len()).unwrap_or(u32::MAX),
                class,
            },
            mode: Mode::User,
            system: data.to_vec(),
            mdl: Vec::new(),
            transfer: Transfer::None,
            user_output: Vec::new(),
            user_addresses: (0, 0),
            initial_status: NtStatus::SUCCESS,
        }
    }

    fn no_device(&self) -> IoResult {
        Self::refused(NtStatus::NO_SUCH_DEVICE)
    }

    /// What the caller gets for a request the I/O manager refused before sending an IRP.
    fn refused(status: NtStatus) -> IoResult {
        IoResult {
            status,
            information: 0,
            data: Vec::new(),
            output: Vec::new(),
            irp: IrpId::NONE,
        }
    }

    /// Sends an IRP through the handle, remembering it until it completes (for
    /// [`cancel_io`](Self::cancel_io)).
    fn issue(&self, top: DeviceId, spec: IrpSpec) -> (IrpId, NtStatus) {
        let irp = self
            .manager
            .allocate_irp(self.manager.stack_size_of(top), spec);
        self.manager.set_irp_file(irp, self.file);
        {
            let mut issued = self
                .issued
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            issued.retain(|irp| !self.manager.is_completed(*irp));
            issued.push(irp);
        }
        let returned = self.manager.call_driver(irp, top);
        (irp, returned)
    }

    /// A synchronous request is over for this handle once its caller has the result.
    fn forget_issued(&self, irp: IrpId) {
        self.issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|issued| *issued != irp);
    }

    fn run_sync(&self, make: impl FnOnce(DeviceId) -> IrpSpec) -> IoResult {
        let result = match self.target() {
            Some(top) => {
                let (irp, returned) = self.issue(top, make(top));
                let result = self.manager.settle_sync(irp, returned);
                self.forget_issued(irp);
                result
            }
            None => self.no_device(),
        };
        self.manager.check_strict();
        result
    }

    fn run_async(&self, make: impl FnOnce(DeviceId) -> IrpSpec) -> Result<IoOperation, NtStatus> {
        let Some(top) = self.target() else {
            self.manager.check_strict();
            return Err(NtStatus::NO_SUCH_DEVICE);
        };
        let (irp, returned) = self.issue(top, make(top));
        self.manager.check_strict();
        Ok(IoOperation {
            manager: self.manager.clone(),
            irp,
            returned,
            _originator: Arc::new(Originator {
                manager: self.manager.clone(),
                irp,
            }),
        })
    }

    /// `ReadFile` of `length` bytes. On a `DO_BUFFERED_IO` device the driver fills a system
    /// buffer that is copied back (`min(Information, length)` bytes, unless the status is an
    /// error); on a `DO_DIRECT_IO` device it writes the caller's buffer through the MDL; with
    /// neither flag it gets only the user address (a number). A device that was deleted or
    /// whose driver unloaded answers `STATUS_NO_SUCH_DEVICE` without a driver call.
    #[must_use]
    pub fn read(&self, length: usize) -> IoResult {
        if !self.access.read {
            return Self::refused(NtStatus::ACCESS_DENIED);
        }
        self.run_sync(|top| self.read_spec(top, length))
    }

    /// `WriteFile` of `data` (buffered: copied into the system buffer; direct: the MDL
    /// describes the caller's buffer; neither: the user address only).
    #[must_use]
    pub fn write(&self, data: &[u8]) -> IoResult {
        if !self.access.write {
            return Self::refused(NtStatus::ACCESS_DENIED);
        }
        self.run_sync(|top| self.write_spec(top, data))
    }

    /// `DeviceIoControl(code, input, output of output_length zero bytes)`. The transfer method
    /// is the low two bits of `code`: METHOD_BUFFERED shares one system buffer of
    /// `max(input, output)` bytes holding the input and copies back `min(Information,
    /// output_length)` bytes on a non-error status; METHOD_IN/OUT_DIRECT pass the input in the
    /// system buffer and the output buffer through the MDL; METHOD_NEITHER passes fake user
    /// addresses (numbers) only. Zero-length buffers are absent (NULL).
    #[must_use]
    pub fn device_io_control(&self, code: u32, input: &[u8], output_length: usize) -> IoResult {
        self.device_io_control_with(code, input, vec![0; output_length])
    }

    /// [`device_io_control`](Self::device_io_control) with the output buffer's initial
    /// contents given (for METHOD_IN_DIRECT, the data the driver reads through the MDL).
    #[must_use]
    pub fn device_io_control_with(&self, code: u32, input: &[u8], output: Vec<u8>) -> IoResult {
        if !self.access.allows_ioctl(code) {
            return Self::refused(NtStatus::ACCESS_DENIED);
        }
        self.run_sync(|_| self.ioctl_spec(false, code, input, output))
    }

    /// `DeviceIoControl` with a typed IOCTL, as a client written against the same
    /// [`define_ioctl!`](crate::define_ioctl) constant sends it: the input encoded as `In`,
    /// room for `Out`, the reply decoded as `Out`.
    ///
    /// # Errors
    ///
    /// The request's failure status; `STATUS_INFO_LENGTH_MISMATCH` when it succeeded but what
    /// came back does not decode as `Out`.
    pub fn call<In: IoctlInput, Out: IoctlOutput>(
        &self,
        ioctl: Ioctl<In, Out>,
        input: &In::Arg,
    ) -> Result<Out::Value, NtStatus> {
        let result =
            self.device_io_control(ioctl.code().to_raw(), &In::encode(input), Out::CAPACITY);
        if !result.is_success() {
            return Err(result.status);
        }
        Out::decode(&result.data).ok_or(NtStatus::INFO_LENGTH_MISMATCH)
    }

    /// `NtQueryInformationFile(class)` with room for `length` bytes: the driver's
    /// `IRP_MJ_QUERY_INFORMATION`. The data that comes back is the first `Information` bytes
    /// of the buffer.
    #[must_use]
    pub fn query_information(&self, class: u32, length: usize) -> IoResult {
        self.run_sync(|_| Self::query_information_spec(class, length))
    }

    /// `NtSetInformationFile(class)` with `data`: the driver's `IRP_MJ_SET_INFORMATION`.
    #[must_use]
    pub fn set_information(&self, class: u32, data: &[u8]) -> IoResult {
        if !self.access.write {
            return Self::refused(NtStatus::ACCESS_DENIED);
        }
        self.run_sync(|_| Self::set_information_spec(class, data))
    }

    /// An `IRP_MJ_INTERNAL_DEVICE_CONTROL` request, as a kernel-mode sender
    /// (`IoBuildDeviceIoControlRequest` with `InternalDeviceIoControl = TRUE`) would send it;
    /// buffers as for [`device_io_control`](Self::device_io_control).
    #[must_use]
    pub fn internal_device_control(
        &self,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> IoResult {
        self.run_sync(|_| self.ioctl_spec(true, code, input, vec![0; output_length]))
    }

    /// Overlapped `ReadFile`: returns as soon as the driver's dispatch routine returned.
    ///
    /// # Errors
    ///
    /// `STATUS_NO_SUCH_DEVICE` when the device is gone, `STATUS_ACCESS_DENIED` beyond the
    /// handle's access (no IRP was sent either way).
    pub fn read_async(&self, length: usize) -> Result<IoOperation, NtStatus> {
        if !self.access.read {
            return Err(NtStatus::ACCESS_DENIED);
        }
        self.run_async(|top| self.read_spec(top, length))
    }

    /// Overlapped `WriteFile`.
    ///
    /// # Errors
    ///
    /// `STATUS_NO_SUCH_DEVICE` when the device is gone, `STATUS_ACCESS_DENIED` beyond the
    /// handle's access (no IRP was sent either way).
    pub fn write_async(&self, data: &[u8]) -> Result<IoOperation, NtStatus> {
        if !self.access.write {
            return Err(NtStatus::ACCESS_DENIED);
        }
        self.run_async(|top| self.write_spec(top, data))
    }

    /// Overlapped `DeviceIoControl`.
    ///
    /// # Errors
    ///
    /// `STATUS_NO_SUCH_DEVICE` when the device is gone, `STATUS_ACCESS_DENIED` beyond the
    /// handle's access (no IRP was sent either way).
    pub fn device_io_control_async(
        &self,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> Result<IoOperation, NtStatus> {
        if !self.access.allows_ioctl(code) {
            return Err(NtStatus::ACCESS_DENIED);
        }
        self.run_async(|_| self.ioctl_spec(false, code, input, vec![0; output_length]))
    }

    /// `CancelIoEx(handle, NULL)`: `IoCancelIrp` on every request sent through this handle that
    /// has not completed yet, from whatever thread sent it. Returns how many were cancelled
    /// (their cancel flag set; whether a cancel routine ran is the driver's business).
    pub fn cancel_io(&self) -> usize {
        let pending: Vec<IrpId> = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .filter(|irp| !self.manager.is_completed(*irp))
            .collect();
        for irp in &pending {
            let _ = self.manager.cancel_irp(*irp);
        }
        self.manager.check_strict();
        pending.len()
    }

    /// `CloseHandle`: `IRP_MJ_CLEANUP`, then `IRP_MJ_CLOSE` — at once, or, while IRPs sent
    /// through the handle are outstanding, when the last of them has completed (sent as the
    /// next user-side call ends). Returns the close status (which Windows does not report to
    /// the caller; here for tests), or success for a deferred close.
    pub fn close(mut self) -> NtStatus {
        let status = self.close_inner();
        self.manager.check_strict();
        status
    }

    /// `IRP_MJ_CLEANUP` now (the last handle to the file object is gone), `IRP_MJ_CLOSE` once
    /// no IRP of the file object is outstanding: each holds a reference to it, and the close
    /// comes with the last reference (`IopCloseFile`, `IopDeleteFile`). Returns the close's
    /// status, or success when it is deferred.
    fn close_inner(&mut self) -> NtStatus {
        if self.closed {
            return NtStatus::INVALID_HANDLE;
        }
        self.closed = true;
        let Some(top) = self.target() else {
            self.manager.count_open(self.opened, -1);
            return NtStatus::SUCCESS;
        };
        let _cleanup =
            self.manager
                .send_sync_for(top, IoManager::file_irp(major::CLEANUP), Some(self.file));
        let outstanding: Vec<IrpId> = self
            .issued
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .copied()
            .filter(|irp| !self.manager.is_completed(*irp))
            .collect();
        if outstanding.is_empty() {
            return self.manager.send_close(self.opened, self.file);
        }
        self.manager
            .defer_close(self.opened, self.file, outstanding);
        NtStatus::SUCCESS
    }
}

impl Drop for FileHandle {
    fn drop(&mut self) {
        if !self.closed {
            self.close_inner();
        }
    }
}

impl IoOperation {
    /// The IRP carrying the request.
    #[must_use]
    pub const fn irp(&self) -> IrpId {
        self.irp
    }

    /// The simulation the request runs in.
    pub(in crate::host) const fn manager(&self) -> &IoManager {
        &self.manager
    }

    /// What the dispatch routine (`IoCallDriver`) returned.
    #[must_use]
    pub const fn returned(&self) -> NtStatus {
        self.returned
    }

    /// Whether the driver returned `STATUS_PENDING`.
    #[must_use]
    pub fn returned_pending(&self) -> bool {
        self.returned == NtStatus::PENDING
    }

    /// Whether the IRP has completed.
    #[must_use]
    pub fn is_complete(&self) -> bool {
        self.manager.irp_result(self.irp).is_some()
    }

    /// The result, without waiting: `None` while the IRP is still pending. A request whose
    /// dispatch routine returned something other than `STATUS_PENDING` without completing it
    /// reports that status.
    #[must_use]
    pub fn result(&self) -> Option<IoResult> {
        let result = match self.manager.irp_result(self.irp) {
            Some(result) => Some(result),
            None if self.returned != NtStatus::PENDING => {
                Some(self.manager.unfinished_result(self.irp, self.returned))
            }
            None => None,
        };
        self.manager.check_strict();
        result
    }

    /// Waits at most `timeout` for the result.
    #[must_use]
    pub fn wait(&self, timeout: Duration) -> Option<IoResult> {
        let result = if self.returned == NtStatus::PENDING {
            self.manager.wait_for(self.irp, timeout)
        } else {
            Some(self.manager.settle(self.irp, self.returned, false))
        };
        self.manager.check_strict();
        result
    }

    /// `CancelIo`: `IoCancelIrp` on the request's IRP. Returns whether a cancel routine was
    /// called (the driver decides what happens next; usually it completes the IRP with
    /// `STATUS_CANCELLED`).
    pub fn cancel(&self) -> bool {
        let called = self.manager.cancel_irp(self.irp);
        self.manager.check_strict();
        called
    }
}

/// The IRP of an IOCTL (internal when `internal`) with `input` and room for `output`, its
/// buffers laid out by the code's transfer method, from `mode`.
fn ioctl_spec(
    hint: usize,
    internal: bool,
    code: u32,
    input: &[u8],
    output: Vec<u8>,
    mode: Mode,
) -> IrpSpec {
    let params = Params::DeviceControl {
        output_length: u32::try_from(output.len()).unwrap_or(u32::MAX),
        input_length: u32::try_from(input.len()).unwrap_or(u32::MAX),
        code,
    };
    let (system, mdl, transfer, addresses) = match code & 3 {
        0 => {
            let mut system = input.to_vec();
            system.resize(input.len().max(output.len()), 0);
            (system, Vec::new(), Transfer::Buffered, (0, 0))
        }
        1 | 2 => (input.to_vec(), output.clone(), Transfer::Direct, (0, 0)),
        // An internal METHOD_NEITHER IOCTL from kernel mode: `Type3InputBuffer` is the
        // sender's own memory, which the drivers below read and may write (kbdclass's
        // `CONNECT_DATA`, which a keyboard filter rewrites on its way down). The simulation
        // keeps those bytes where it keeps a system buffer.
        3 if internal && mode == Mode::Kernel => (
            input.to_vec(),
            Vec::new(),
            Transfer::None,
            (0, fake_address(hint, output.len(), true)),
        ),
        _ => (
            Vec::new(),
            Vec::new(),
            Transfer::None,
            (
                fake_address(hint, input.len(), false),
                fake_address(hint, output.len(), true),
            ),
        ),
    };
    IrpSpec {
        major: if internal {
            major::INTERNAL_DEVICE_CONTROL
        } else {
            major::DEVICE_CONTROL
        },
        minor: 0,
        params,
        mode,
        system,
        mdl,
        transfer,
        user_output: output,
        user_addresses: addresses,
        initial_status: NtStatus::SUCCESS,
    }
}

impl IoManager {
    /// `IoAllocateIrp` for `device`'s stack, its first location filled as
    /// `IoBuildDeviceIoControlRequest` fills it (kernel mode, `input` and room for
    /// `output_length` bytes), not sent: the originator sets its completion routine, calls the
    /// driver, and frees the IRP with [`free_irp`](Self::free_irp).
    pub(in crate::host) fn allocate_kernel_ioctl(
        &self,
        device: DeviceId,
        internal: bool,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> IrpId {
        let spec = ioctl_spec(
            self.next_irp_hint(),
            internal,
            code,
            input,
            vec![0; output_length],
            Mode::Kernel,
        );
        self.allocate_irp(self.stack_size_of(device), spec)
    }

    /// `IoBuildDeviceIoControlRequest` + `IoCallDriver` + the wait: an IOCTL (internal when
    /// `internal`) a driver sends from kernel mode to `device` (the device below it), with
    /// `input` and room for `output_length` bytes; what comes back.
    pub(in crate::host) fn kernel_ioctl(
        &self,
        device: DeviceId,
        internal: bool,
        code: u32,
        input: &[u8],
        output_length: usize,
    ) -> IoResult {
        let spec = ioctl_spec(
            self.next_irp_hint(),
            internal,
            code,
            input,
            vec![0; output_length],
            Mode::Kernel,
        );
        self.send_sync(device, spec)
    }
}
