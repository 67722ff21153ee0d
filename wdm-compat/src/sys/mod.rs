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
//! | `nt` | a Windows target without `host` | `ntoskrnl.exe` routines, imported with `raw-dylib` (a real driver built without the WDK; it runs under Wine) or, with feature `wdk`, from wdk-sys's `ntddk` module; and the x64 layouts of the few structures it reads, checked against the WDK's |
//! | `none` | anything else | nothing: the handle types are uninhabited, so the vocabulary and the IRP model still build for a bare `no_std` target |
//!
//! Every backend provides, as inherent methods on the handle types:
//!
//! * [`DriverRef`]: `set_dispatch`, `set_unload`, `set_add_device`, `set_context`, `context`, `create_device`.
//! * [`DeviceRef`]: `delete`, `set_context`, `context`, `set_device_type`, `flags`, `set_flags`, `clear_flags`, `driver`, `device_type`,
//!   `attach_to`, `detach`, `create_symbolic_link`, `delete_symbolic_link`.
//! * [`IrpRef`]: `stack`, `requestor_mode`, `system_buffer`, `mdl_buffer`, `split_direct`, `user_addresses`,
//!   `information`, `set_information`, `status`, `complete`, `mark_pending`, `pending_returned`,
//!   `skip_current_location`, `copy_current_location_to_next`, `set_completion_routine`,
//!   `call_driver`, `set_cancel_routine`, `cancel_requested`, `release_cancel_lock`,
//!   `driver_context`, `set_driver_context`, `leaked`.
//! * free functions `dbg_print`, and (host only) `IrpRef::tracked_complete`;
//! * the spin lock: `acquire_spin_lock` / `release_spin_lock` (the kernel's, `nt`) or
//!   `raise_irql` / `lower_irql` around the portable spin loop in [`spin_lock`] (`host`, `none`).

use core::ffi::c_void;
use core::ptr::NonNull;

use crate::status::NtStatus;

#[cfg(feature = "host")]
pub(crate) mod host;
#[cfg(feature = "host")]
pub(crate) use host as backend;
#[cfg(feature = "host")]
pub(crate) use host::{
    allocate_pool, current_irql, dbg_print, free_pool, lower_irql, raise_irql, wait_a_moment,
};

#[cfg(all(not(feature = "host"), target_os = "windows"))]
pub(crate) mod nt;
#[cfg(all(not(feature = "host"), target_os = "windows"))]
pub(crate) use nt as backend;
#[cfg(all(not(feature = "host"), target_os = "windows"))]
pub(crate) use nt::{
    acquire_spin_lock, allocate_pool, dbg_print, free_pool, irql as current_irql,
    release_spin_lock, wait_a_moment,
};

#[cfg(not(any(feature = "host", target_os = "windows")))]
pub(crate) mod none;
#[cfg(not(any(feature = "host", target_os = "windows")))]
pub(crate) use none as backend;
#[cfg(not(any(feature = "host", target_os = "windows")))]
pub(crate) use none::{
    allocate_pool, current_irql, dbg_print, free_pool, lower_irql, raise_irql, wait_a_moment,
};

mod callbacks;
pub(crate) mod csq;
mod escape;
pub(crate) mod fallible;
pub(crate) mod pool;
mod rundown;
pub(crate) mod spin_lock;
pub(crate) mod tagged;
pub(crate) mod thunk;

pub(crate) use callbacks::DriverCallbacks;
pub use callbacks::IrpOutcome;
pub(crate) use rundown::PublishedDevice;

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

/// The longest line `dbg_print` is given, in bytes (the formatting buffer of `kd_print!`).
pub(crate) const DBG_PRINT_CAPACITY: usize = 256;

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

// SAFETY: an IRP is not tied to a thread: Windows lets its owner complete it, or pass it on, in
// any thread context (that is what pending an IRP is for), and the host simulation guards its
// IRP state with locks. The handle is not `Sync`: only its one owner uses it.
unsafe impl Send for IrpRef {}

// SAFETY: a device object is a kernel object whose I/O manager routines may be called from any
// thread (the host simulation guards its device state with locks); the handle is its address.
unsafe impl Send for DeviceRef {}
// SAFETY: as above; every method takes the handle by value and is thread-safe in each backend.
unsafe impl Sync for DeviceRef {}
// SAFETY: as for `DeviceRef`, for the driver object.
unsafe impl Send for DriverRef {}
// SAFETY: as for `DeviceRef`, for the driver object.
unsafe impl Sync for DriverRef {}

impl DriverRef {
    /// # Safety
    ///
    /// `raw` must be the driver object passed to this driver's entry point (or a callback of
    /// it), and the driver must still be loaded whenever the handle is used.
    pub(crate) unsafe fn from_raw(raw: *mut RawDriver) -> Option<Self> {
        NonNull::new(raw).map(Self)
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
}

impl IrpRef {
    /// # Safety
    ///
    /// `raw` must point to a live IRP whose current stack location belongs to the caller, and no
    /// other handle to it may exist while this one is alive.
    pub(crate) unsafe fn from_raw(raw: *mut RawIrp) -> Option<Self> {
        let raw = NonNull::new(raw)?;
        // On the host the handle holds a count on the simulation's IRP object, so the memory
        // outlives the handle even if the simulation retires the IRP meanwhile.
        #[cfg(feature = "host")]
        // SAFETY: the caller guarantees `raw` is a live IRP the system handed to this driver.
        unsafe {
            host::retain_irp(raw);
        }
        Some(Self(raw))
    }
}

impl IrpRef {
    /// The IRP's address, to recognise it (a cancel routine is handed only the raw pointer).
    pub(crate) const fn as_ptr(&self) -> *mut RawIrp {
        self.0.as_ptr()
    }
}

impl DeviceRef {
    /// The device object's address.
    pub(crate) const fn as_ptr(self) -> *mut RawDevice {
        self.0.as_ptr()
    }
}

#[cfg(feature = "host")]
impl Drop for IrpRef {
    fn drop(&mut self) {
        // SAFETY: `from_raw` took exactly one count for this handle, and this is its end.
        unsafe { host::release_irp(self.0) };
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
    DeviceControl {
        output_length: u32,
        input_length: u32,
        code: u32,
    },
    /// `Parameters.QueryFile` (`IRP_MJ_QUERY_INFORMATION`).
    QueryInformation { length: u32, class: u32 },
    /// `Parameters.SetFile` (`IRP_MJ_SET_INFORMATION`).
    SetInformation { length: u32, class: u32 },
    /// `Parameters.Power` (`IRP_MJ_POWER`): `Type` and `State`.
    Power { kind: u32, state: u32 },
    /// Any other major function: nothing decoded.
    Other,
}

/// `NTSTATUS` carried through the seam as the crate's own type.
pub(crate) type Status = NtStatus;

/// A heap value whose address is published to the system (as a driver's or device's context
/// pointer) while this owner keeps it alive.
///
/// # Invariants
///
/// `0` comes from `Box::leak` and is freed only by `Drop` or `into_inner`; only shared
/// references to the value are ever made, so callbacks reading it through the published pointer
/// never alias a unique reference.
pub(crate) struct SharedBox<T>(NonNull<T>);

// SAFETY: `SharedBox<T>` owns a `T` and hands out only `&T`, like `Box<T>` would.
unsafe impl<T: Send> Send for SharedBox<T> {}
// SAFETY: as above: shared access to `T` from several threads needs `T: Sync`.
unsafe impl<T: Sync> Sync for SharedBox<T> {}

impl<T> SharedBox<T> {
    /// `value` on the heap, or `value` back when memory is short.
    pub(crate) fn try_new(value: T) -> Result<Self, T> {
        fallible::try_box(value).map(|boxed| Self(NonNull::from(alloc::boxed::Box::leak(boxed))))
    }

    /// Gives up ownership to whoever holds the published pointer; take it back with
    /// [`SharedBox::from_published`].
    pub(crate) fn publish(self) -> *const c_void {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        ptr.cast_const().cast()
    }

    /// Takes back ownership of a value given up with [`SharedBox::publish`].
    ///
    /// # Safety
    ///
    /// `context` must be null or come from `SharedBox<T>::publish` (with this `T`), not be
    /// taken back twice, and no reference made from it may be used afterwards.
    pub(crate) unsafe fn from_published(context: *const c_void) -> Option<Self> {
        NonNull::new(context.cast_mut().cast::<T>()).map(Self)
    }

    pub(crate) fn into_inner(self) -> T {
        let ptr = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: `ptr` came from `Box::leak` (invariant) and `self` was forgotten, so this is
        // the only owner; the caller has unpublished the pointer before giving up the value.
        let boxed = unsafe { alloc::boxed::Box::from_raw(ptr) };
        *boxed
    }
}

impl<T> Drop for SharedBox<T> {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `Box::leak` and this is its only owner; no reference made
        // by `get` outlives `self`.
        drop(unsafe { alloc::boxed::Box::from_raw(self.0.as_ptr()) });
    }
}

/// Reads back a value published with [`SharedBox::publish`].
///
/// # Safety
///
/// `context` must be null or a pointer from `SharedBox<T>::publish` (with this `T`) whose value
/// stays alive for `'a`.
pub(crate) unsafe fn from_context<'a, T>(context: *const c_void) -> Option<&'a T> {
    // SAFETY: the caller guarantees `context` is null or points to a live `T` for `'a`.
    unsafe { context.cast::<T>().as_ref() }
}

/// The driver instance as the seam publishes it (the driver object's context): its type's
/// `TypeId` first, so a routine whose driver type was chosen by the caller (the completion
/// routine of an observed forward) can check it before reading the value as that type.
#[repr(C)]
pub(crate) struct Typed<T> {
    type_id: core::any::TypeId,
    pub(crate) value: T,
}

impl<T: 'static> Typed<T> {
    pub(crate) fn new(value: T) -> Self {
        Self {
            type_id: core::any::TypeId::of::<T>(),
            value,
        }
    }
}

/// The instance behind a driver context published as `SharedBox<Typed<U>>`, when `U` is `T`.
///
/// # Safety
///
/// `context` must be null or a pointer published by a live `SharedBox<Typed<U>>` (for any `U`)
/// that outlives the returned reference.
pub(crate) unsafe fn typed_context<'a, T: 'static>(context: *const c_void) -> Option<&'a T> {
    // SAFETY: null, or a `Typed<U>`, whose first field (`repr(C)`) is its `TypeId`.
    let type_id = unsafe { context.cast::<core::any::TypeId>().as_ref() }?;
    if *type_id != core::any::TypeId::of::<T>() {
        return None;
    }
    // SAFETY: the `TypeId` says `U` is `T`, so the context is a live `Typed<T>` (caller).
    unsafe { context.cast::<Typed<T>>().as_ref() }.map(|typed| &typed.value)
}
