//! The seam: the only module of this crate allowed to contain `unsafe`.
//!
//! Everything the safe layer needs from the operating system goes through the handle types
//! below. Their methods are safe to call because each handle carries an invariant established
//! where the handle is made (the `unsafe fn from_raw` constructors, called only from the
//! trampolines in [`thunk`]). One backend module implements the methods:
//!
//! | backend | selected by | implements the calls with |
//! |---|---|---|
//! | `host` | feature `host` | the simulated I/O manager in [`crate::host`] |
//! | `none` | anything else | nothing: the handle types are uninhabited, so the vocabulary and the IRP model still build for a bare `no_std` target |
//!
//! The portable `ntoskrnl` backend (Wine) and the wdk-sys backend (Windows) plug in here the same
//! way.
//!
//! Every backend provides, as inherent methods on the handle types:
//!
//! * [`DriverRef`]: `set_dispatch`, `set_unload`, `set_add_device`, `set_context`, `context`, `create_device`.
//! * [`DeviceRef`]: `delete`, `flags`, `set_flags`, `clear_flags`, `driver`, `device_type`,
//!   `attach_to`, `detach`, `create_symbolic_link`, `delete_symbolic_link`.
//! * [`IrpRef`]: `stack`, `requestor_mode`, `system_buffer`, `mdl_buffer`, `user_addresses`,
//!   `information`, `set_information`, `status`, `complete`, `mark_pending`, `pending_returned`,
//!   `skip_current_location`, `copy_current_location_to_next`, `set_completion_routine`,
//!   `call_driver`, `set_cancel_routine`, `cancel_requested`, `release_cancel_lock`,
//!   `driver_context`, `set_driver_context`, `leaked`.
//! * free functions `dbg_print`, `current_irql`, `raise_irql`, `lower_irql`, and (host only)
//!   `IrpRef::tracked_complete`.

use core::ffi::c_void;
use core::ptr::NonNull;

use crate::status::NtStatus;

#[cfg(feature = "host")]
pub(crate) mod host;
#[cfg(feature = "host")]
pub(crate) use host as backend;
#[cfg(feature = "host")]
pub(crate) use host::{current_irql, dbg_print, lower_irql, raise_irql};

#[cfg(not(feature = "host"))]
pub(crate) mod none;
#[cfg(not(feature = "host"))]
pub(crate) use none as backend;
#[cfg(not(feature = "host"))]
pub(crate) use none::{current_irql, dbg_print, lower_irql, raise_irql};

pub(crate) mod thunk;

/// The backend's driver object (`DRIVER_OBJECT` on Windows).
pub(crate) type RawDriver = backend::DriverObject;
/// The backend's device object (`DEVICE_OBJECT` on Windows).
pub(crate) type RawDevice = backend::DeviceObject;
/// The backend's IRP (`IRP` on Windows).
pub(crate) type RawIrp = backend::Irp;

/// `DRIVER_DISPATCH`: a major-function entry.
pub(crate) type DispatchFn = unsafe extern "system" fn(*mut RawDevice, *mut RawIrp) -> i32;
/// `DRIVER_UNLOAD`.
pub(crate) type UnloadFn = unsafe extern "system" fn(*mut RawDriver);
/// `IO_COMPLETION_ROUTINE`: returns `STATUS_MORE_PROCESSING_REQUIRED` to stop completion.
pub(crate) type CompletionFn =
    unsafe extern "system" fn(*mut RawDevice, *mut RawIrp, *mut c_void) -> i32;
/// `DRIVER_CANCEL`: called with the cancel spin lock held; the routine releases it.
pub(crate) type CancelFn = unsafe extern "system" fn(*mut RawDevice, *mut RawIrp);
/// `DRIVER_ADD_DEVICE`: `AddDevice(driver, physical device object)`.
pub(crate) type AddDeviceFn = unsafe extern "system" fn(*mut RawDriver, *mut RawDevice) -> i32;
/// `DRIVER_INITIALIZE`: the driver's entry point (`DriverEntry`).
pub(crate) type DriverEntryFn = unsafe extern "system" fn(*mut RawDriver, *const c_void) -> i32;

/// `IRP_MJ_MAXIMUM_FUNCTION + 1`: the size of the major-function table.
pub(crate) const MAJOR_FUNCTION_COUNT: usize = 0x1c;

/// `DO_BUFFERED_IO`.
pub(crate) const DO_BUFFERED_IO: u32 = 0x0000_0004;
/// `DO_DIRECT_IO`.
pub(crate) const DO_DIRECT_IO: u32 = 0x0000_0010;
/// `DO_DEVICE_INITIALIZING`.
pub(crate) const DO_DEVICE_INITIALIZING: u32 = 0x0000_0080;
/// `DO_POWER_PAGABLE`.
pub(crate) const DO_POWER_PAGABLE: u32 = 0x0000_2000;

/// A driver object, valid for as long as the driver is loaded.
///
/// # Invariants
///
/// Points to the driver object the system handed to this driver's entry point; the system keeps
/// it alive until the unload routine returns.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DriverRef(NonNull<RawDriver>);

/// A device object created by, or attached below, this driver.
///
/// # Invariants
///
/// Points to a device object that stays alive while the handle is in use: either one this driver
/// created and has not deleted, or one the system passed to a callback that is still running.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceRef(NonNull<RawDevice>);

/// An IRP this driver currently owns.
///
/// # Invariants
///
/// Points to a live IRP whose current stack location belongs to this driver. Ownership ends when
/// the handle is consumed by `complete`, `call_driver` or `tracked_complete`, or handed back to
/// the system by returning from a completion routine.
#[derive(PartialEq, Eq)]
pub(crate) struct IrpRef(NonNull<RawIrp>);

impl DriverRef {
    /// # Safety
    ///
    /// `raw` must be the driver object passed to this driver's entry point (or a callback of
    /// it), and the driver must still be loaded whenever the handle is used.
    pub(crate) unsafe fn from_raw(raw: *mut RawDriver) -> Option<Self> {
        NonNull::new(raw).map(Self)
    }

    pub(crate) fn as_ptr(self) -> *mut RawDriver {
        self.0.as_ptr()
    }
}

impl DeviceRef {
    /// # Safety
    ///
    /// `raw` must point to a device object that stays alive while the handle is used (see the
    /// type's invariants).
    pub(crate) unsafe fn from_raw(raw: *mut RawDevice) -> Option<Self> {
        NonNull::new(raw).map(Self)
    }

    pub(crate) fn as_ptr(self) -> *mut RawDevice {
        self.0.as_ptr()
    }
}

impl IrpRef {
    /// # Safety
    ///
    /// `raw` must point to a live IRP whose current stack location belongs to the caller, and no
    /// other handle to it may exist while this one is alive.
    pub(crate) unsafe fn from_raw(raw: *mut RawIrp) -> Option<Self> {
        NonNull::new(raw).map(Self)
    }

    pub(crate) fn as_ptr(&self) -> *mut RawIrp {
        self.0.as_ptr()
    }
}

/// Who sent an IRP (`KPROCESSOR_MODE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Kernel,
    User,
}

/// The parameters of the current stack location, copied out as plain data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StackParams {
    pub(crate) major: u8,
    pub(crate) minor: u8,
    pub(crate) params: Params,
}

/// The `Parameters` union of `IO_STACK_LOCATION`, for the majors the safe layer decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Params {
    /// `Parameters.Read`.
    Read { length: u32, offset: i64 },
    /// `Parameters.Write`.
    Write { length: u32, offset: i64 },
    /// `Parameters.DeviceIoControl` (both `IRP_MJ_DEVICE_CONTROL` and the internal form).
    DeviceControl { output_length: u32, input_length: u32, code: u32 },
    /// Any other major function: nothing decoded.
    Other,
}

/// `NTSTATUS` carried through the seam as the crate's own type.
pub(crate) type Status = NtStatus;
