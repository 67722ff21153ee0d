//! The portable NT backend: a real WDM driver without the WDK.
//!
//! Selected for Windows targets without the `host` feature. It declares the dozen `ntoskrnl.exe`
//! routines it calls with `raw-dylib` (no import library needed) and the few x64 structure
//! layouts it reads, each checked below against the WDK headers' offsets. With it, the WDM
//! samples build on Linux (`x86_64-pc-windows-msvc`, `rust-lld`) and run under Wine's
//! `ntoskrnl.exe`; see `wine/` at the repository root.
//!
//! Simplifications, all documented where they matter:
//!
//! * IRQL is not tracked: Wine runs drivers in user mode, where there is none. The IRQL calls
//!   report PASSIVE_LEVEL and do nothing.
//! * The driver instance pointer lives in a `static`: one driver image is one driver.
//! * A device's extension holds the crate's record pointer and a copy of the device's name (for
//!   `IoCreateSymbolicLink`), so names are limited to [`MAX_NAME`] UTF-16 units.

use core::ffi::c_void;
use core::mem::offset_of;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, AtomicU8, AtomicUsize, Ordering};

use super::{
    AddDeviceFn, CancelFn, CompletionFn, DeviceRef, DispatchFn, DriverRef, IrpRef, Mode, Params,
    StackParams, Status, UnloadFn,
};

/// The longest device or link name, in UTF-16 code units.
const MAX_NAME: usize = 96;

/// `UNICODE_STRING`.
#[repr(C)]
struct UnicodeString {
    length: u16,
    maximum_length: u16,
    buffer: *const u16,
}

/// `DRIVER_EXTENSION` (the start of it).
#[repr(C)]
struct DriverExtension {
    driver_object: *mut DriverObject,
    add_device: Option<AddDeviceFn>,
}

/// `DRIVER_OBJECT`.
#[repr(C)]
pub(crate) struct DriverObject {
    header: [u16; 4],
    device_object: *mut DeviceObject,
    flags: u32,
    driver_start: *mut c_void,
    driver_size: u32,
    driver_section: *mut c_void,
    driver_extension: *mut DriverExtension,
    driver_name: UnicodeString,
    hardware_database: *mut UnicodeString,
    fast_io_dispatch: *mut c_void,
    driver_init: *mut c_void,
    driver_start_io: *mut c_void,
    driver_unload: Option<UnloadFn>,
    major_function: [Option<DispatchFn>; super::MAJOR_FUNCTION_COUNT],
}

/// `DEVICE_OBJECT`, up to `StackSize`; the rest is opaque.
#[repr(C)]
pub(crate) struct DeviceObject {
    header: [u16; 2],
    reference_count: i32,
    driver_object: *mut DriverObject,
    next_device: *mut DeviceObject,
    attached_device: *mut DeviceObject,
    current_irp: *mut Irp,
    timer: *mut c_void,
    flags: u32,
    characteristics: u32,
    vpb: *mut c_void,
    device_extension: *mut DeviceExtension,
    device_type: u32,
    stack_size: i8,
    rest: [u8; 0x150 - 0x4d],
}

/// What this backend keeps in each device's extension.
#[repr(C)]
struct DeviceExtension {
    context: *const c_void,
    /// The count of routines running for the device, with the deletion bit (`rundown.rs`).
    io_count: AtomicUsize,
    name_length: usize,
    name: [u16; MAX_NAME],
}

/// `MDL`.
#[repr(C)]
struct Mdl {
    next: *mut Mdl,
    size: i16,
    mdl_flags: i16,
    process: *mut c_void,
    mapped_system_va: *mut c_void,
    start_va: *mut c_void,
    byte_count: u32,
    byte_offset: u32,
}

/// `IRP`.
#[repr(C)]
pub(crate) struct Irp {
    header: [u16; 4],
    mdl_address: *mut Mdl,
    flags: u32,
    system_buffer: *mut u8,
    thread_list_entry: [usize; 2],
    status: i32,
    information: usize,
    requestor_mode: i8,
    pending_returned: u8,
    stack_count: i8,
    current_location: i8,
    cancel: AtomicU8,
    cancel_irql: u8,
    apc_environment: i8,
    allocation_flags: u8,
    user_iosb: *mut c_void,
    user_event: *mut c_void,
    overlay: [usize; 2],
    cancel_routine: AtomicPtr<c_void>,
    user_buffer: *mut c_void,
    driver_context: [*mut c_void; 4],
    thread: *mut c_void,
    auxiliary_buffer: *mut c_void,
    list_entry: [usize; 2],
    current_stack_location: *mut IoStackLocation,
    original_file_object: *mut c_void,
    irp_extension: *mut c_void,
}

/// `IO_STACK_LOCATION`. `parameters` is the 32-byte union, read by offset.
#[repr(C)]
struct IoStackLocation {
    major_function: u8,
    minor_function: u8,
    flags: u8,
    control: u8,
    parameters: [u64; 4],
    device_object: *mut DeviceObject,
    file_object: *mut c_void,
    completion_routine: Option<CompletionFn>,
    context: *mut c_void,
}

// The x64 layouts of the WDK headers (wdm.h), which Wine's ntoskrnl follows too.
const _: () = {
    assert!(size_of::<UnicodeString>() == 0x10);
    assert!(size_of::<DriverObject>() == 0x150);
    assert!(offset_of!(DriverObject, driver_extension) == 0x30);
    assert!(offset_of!(DriverObject, driver_unload) == 0x68);
    assert!(offset_of!(DriverObject, major_function) == 0x70);
    assert!(offset_of!(DriverExtension, add_device) == 0x08);
    assert!(size_of::<DeviceObject>() == 0x150);
    assert!(offset_of!(DeviceObject, driver_object) == 0x08);
    assert!(offset_of!(DeviceObject, flags) == 0x30);
    assert!(offset_of!(DeviceObject, device_extension) == 0x40);
    assert!(offset_of!(DeviceObject, device_type) == 0x48);
    assert!(offset_of!(DeviceObject, stack_size) == 0x4c);
    assert!(offset_of!(Mdl, mdl_flags) == 0x0a);
    assert!(offset_of!(Mdl, mapped_system_va) == 0x18);
    assert!(offset_of!(Mdl, byte_count) == 0x28);
    assert!(size_of::<Irp>() == 0xd0);
    assert!(offset_of!(Irp, mdl_address) == 0x08);
    assert!(offset_of!(Irp, system_buffer) == 0x18);
    assert!(offset_of!(Irp, status) == 0x30);
    assert!(offset_of!(Irp, information) == 0x38);
    assert!(offset_of!(Irp, requestor_mode) == 0x40);
    assert!(offset_of!(Irp, pending_returned) == 0x41);
    assert!(offset_of!(Irp, cancel) == 0x44);
    assert!(offset_of!(Irp, cancel_irql) == 0x45);
    assert!(offset_of!(Irp, cancel_routine) == 0x68);
    assert!(offset_of!(Irp, user_buffer) == 0x70);
    assert!(offset_of!(Irp, driver_context) == 0x78);
    assert!(offset_of!(Irp, current_stack_location) == 0xb8);
    assert!(size_of::<IoStackLocation>() == 0x48);
    assert!(offset_of!(IoStackLocation, control) == 0x03);
    assert!(offset_of!(IoStackLocation, parameters) == 0x08);
    assert!(offset_of!(IoStackLocation, device_object) == 0x28);
    assert!(offset_of!(IoStackLocation, completion_routine) == 0x38);
    assert!(offset_of!(IoStackLocation, context) == 0x40);
};

/// `SL_PENDING_RETURNED`.
const SL_PENDING_RETURNED: u8 = 0x01;
/// `SL_INVOKE_ON_CANCEL | SL_INVOKE_ON_SUCCESS | SL_INVOKE_ON_ERROR`.
const SL_INVOKE_ALWAYS: u8 = 0x20 | 0x40 | 0x80;
/// `MDL_MAPPED_TO_SYSTEM_VA | MDL_SOURCE_IS_NONPAGED_POOL`.
const MDL_MAPPED: i16 = 0x0001 | 0x0004;
/// `NormalPagePriority | MdlMappingNoExecute`.
const MAP_PRIORITY: u32 = 16 | 0x4000_0000;
/// `IO_NO_INCREMENT`.
const IO_NO_INCREMENT: i8 = 0;

// The kernel routines this backend calls, declared with `raw-dylib` (no WDK needed), or taken
// from wdk-sys's `ntddk` module in a build with the WDK (feature `wdk`). Both provide the same
// signatures over this module's structure types.
#[cfg(not(feature = "wdk"))]
mod raw_dylib;
mod security;
#[cfg(not(feature = "wdk"))]
use raw_dylib as imports;
#[cfg(feature = "wdk")]
mod wdk;
#[cfg(feature = "wdk")]
use wdk as imports;

use imports::{
    DbgPrint, ExAllocatePoolWithTag, ExFreePoolWithTag, IoAttachDeviceToDeviceStack,
    IoCreateDevice, IoCreateSymbolicLink, IoDeleteDevice, IoDeleteSymbolicLink, IoDetachDevice,
    IoReleaseCancelSpinLock, IofCallDriver, IofCompleteRequest, KeAcquireSpinLockRaiseToDpc,
    KeBugCheckEx, KeDelayExecutionThread, KeReleaseSpinLock, MmMapLockedPagesSpecifyCache,
    current_irql,
};

/// The driver instance pointer (see the module docs).
static DRIVER_CONTEXT: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());

/// `name` as UTF-16 in a fixed buffer, with its length in bytes.
fn utf16(name: &str) -> Result<([u16; MAX_NAME], u16), Status> {
    let mut buffer = [0u16; MAX_NAME];
    let mut units = 0;
    for unit in name.encode_utf16() {
        *buffer.get_mut(units).ok_or(Status::NAME_TOO_LONG)? = unit;
        units += 1;
    }
    let bytes = u16::try_from(units * 2).map_err(|_| Status::NAME_TOO_LONG)?;
    Ok((buffer, bytes))
}

/// A `UNICODE_STRING` over `buffer`; valid while `buffer` is.
const fn unicode(buffer: &[u16; MAX_NAME], bytes: u16) -> UnicodeString {
    UnicodeString {
        length: bytes,
        maximum_length: bytes,
        buffer: buffer.as_ptr(),
    }
}

/// `DbgPrint("%s", text)`.
pub(crate) fn dbg_print(text: &str) {
    let mut line = [0u8; super::DBG_PRINT_CAPACITY + 2];
    let length = text.len().min(super::DBG_PRINT_CAPACITY);
    if let (Some(slot), Some(source)) = (line.get_mut(..length), text.as_bytes().get(..length)) {
        slot.copy_from_slice(source);
    }
    if let Some(newline) = line.get_mut(length) {
        *newline = b'\n';
    }
    // SAFETY: both arguments are NUL-terminated byte strings that outlive the call; "%s" makes
    // DbgPrint read exactly one `char*` argument.
    unsafe { DbgPrint(c"%s".as_ptr().cast(), line.as_ptr()) };
}

/// `KeGetCurrentIrql` with the WDK; PASSIVE_LEVEL under Wine (user mode, no IRQL).
pub(crate) fn irql() -> u8 {
    current_irql()
}

/// `NonPagedPoolNx` and `PagedPool`.
const NON_PAGED_POOL_NX: i32 = 512;
const PAGED_POOL: i32 = 1;

/// `ExAllocatePoolWithTag` (`ExAllocatePool2` with the WDK): a block of `size` bytes,
/// 16-byte aligned, from the paged or non-paged pool, charged to `tag`; `None` when the pool is
/// short, or refused at an IRQL the pool type does not allow (paged pool above APC_LEVEL, any
/// pool above DISPATCH_LEVEL), where the allocation would bug-check.
pub(crate) fn allocate_pool(paged: bool, size: usize, tag: u32) -> Option<NonNull<u8>> {
    // Paged pool above APC_LEVEL, or any pool above DISPATCH_LEVEL, would bug-check.
    if current_irql() > if paged { 1 } else { 2 } {
        return None;
    }
    let pool_type = if paged { PAGED_POOL } else { NON_PAGED_POOL_NX };
    // SAFETY: any size may be asked for; a failure returns null. The caller is at a level the
    // pool type allows (≤ DISPATCH_LEVEL, ≤ APC_LEVEL for paged pool).
    NonNull::new(unsafe { ExAllocatePoolWithTag(pool_type, size.max(1), tag) }.cast())
}

/// `ExFreePoolWithTag`.
///
/// # Safety
///
/// `block` came from [`allocate_pool`] with `tag` and is freed once.
pub(crate) unsafe fn free_pool(block: NonNull<u8>, _size: usize, tag: u32) {
    // SAFETY: the caller's contract.
    unsafe { ExFreePoolWithTag(block.as_ptr().cast(), tag) };
}

/// One pause of a routine waiting for the others of its device to finish
/// (`DeviceRef::wait_until_alone`): `KeDelayExecutionThread` for a millisecond, at
/// PASSIVE_LEVEL. Windows waits as long as it takes, as `IoReleaseRemoveLockAndWait` does.
pub(crate) fn wait_a_moment(_round: u32, _inside: usize) -> bool {
    // One millisecond, relative (negative), in 100 ns units.
    let mut interval: i64 = -10_000;
    // SAFETY: `interval` is a `LARGE_INTEGER` (8 bytes, 8-aligned) that outlives the call;
    // KernelMode (0), not alertable: the thread cannot be woken by an APC with a status to
    // handle. The caller is at PASSIVE_LEVEL (the PnP manager's removal).
    unsafe { KeDelayExecutionThread(0, 0, &raw mut interval) };
    true
}

/// `KeAcquireSpinLockRaiseToDpc`: the kernel's own spin lock, which raises the IRQL to
/// DISPATCH_LEVEL on Windows; returns the IRQL to restore.
pub(crate) fn acquire_spin_lock(lock: &AtomicUsize) -> u8 {
    // SAFETY: `lock` is a `KSPIN_LOCK` (a `ULONG_PTR`, zero when free) that outlives the call and
    // is changed only by the kernel's spin-lock routines.
    unsafe { KeAcquireSpinLockRaiseToDpc(lock.as_ptr()) }
}

/// `KeReleaseSpinLock`: releases a lock taken with [`acquire_spin_lock`] and restores `irql`.
pub(crate) fn release_spin_lock(lock: &AtomicUsize, irql: u8) {
    // SAFETY: the caller holds `lock`, acquired by `acquire_spin_lock`, which returned `irql`.
    unsafe { KeReleaseSpinLock(lock.as_ptr(), irql) };
}

impl DriverRef {
    fn raw(self) -> *mut DriverObject {
        self.0.as_ptr()
    }

    pub(crate) fn set_dispatch(self, major: u8, f: DispatchFn) {
        let index = usize::from(major);
        // SAFETY: the driver object is alive (type invariant) and only the driver writes its
        // dispatch table, during DriverEntry.
        let table = unsafe { &mut (*self.raw()).major_function };
        if let Some(entry) = table.get_mut(index) {
            *entry = Some(f);
        }
    }

    pub(crate) fn set_unload(self, f: UnloadFn) {
        // SAFETY: as in `set_dispatch`.
        unsafe { (*self.raw()).driver_unload = Some(f) };
    }

    pub(crate) fn set_add_device(self, f: AddDeviceFn) {
        // SAFETY: as in `set_dispatch`; the I/O manager allocates the driver extension with the
        // driver object.
        let extension = unsafe { (*self.raw()).driver_extension };
        if !extension.is_null() {
            // SAFETY: checked non-null just above; it lives as long as the driver object.
            unsafe { (*extension).add_device = Some(f) };
        }
    }

    pub(crate) fn set_context(self, context: *const c_void) {
        DRIVER_CONTEXT.store(context.cast_mut(), Ordering::Release);
    }

    pub(crate) fn context(self) -> *const c_void {
        DRIVER_CONTEXT.load(Ordering::Acquire)
    }

    pub(crate) fn create_device(
        self,
        name: Option<&str>,
        device_type: u32,
        characteristics: u32,
        exclusive: bool,
    ) -> Result<DeviceRef, Status> {
        let (buffer, bytes) = utf16(name.unwrap_or(""))?;
        let unicode_name = unicode(&buffer, bytes);
        let name_pointer = if name.is_some() {
            &raw const unicode_name
        } else {
            ptr::null()
        };
        let mut device = ptr::null_mut();
        let extension_size =
            u32::try_from(size_of::<DeviceExtension>()).map_err(|_| Status::INTERNAL_ERROR)?;
        // SAFETY: every pointer argument is valid for the call; the name buffer outlives it.
        let status = Status::from_raw(unsafe {
            IoCreateDevice(
                self.raw(),
                extension_size,
                name_pointer,
                device_type,
                characteristics,
                u8::from(exclusive),
                &raw mut device,
            )
        });
        status.ok()?;
        // SAFETY: IoCreateDevice succeeded, so `device` is a new device object of this driver.
        let device = unsafe { DeviceRef::from_raw(device) }.ok_or(Status::INTERNAL_ERROR)?;
        let extension = device.extension();
        // SAFETY: IoCreateDevice allocated the extension, zeroed, with the size asked for
        // above, and nobody else uses it yet.
        let extension = unsafe { &mut *extension };
        extension.name = buffer;
        extension.name_length = usize::from(bytes / 2);
        Ok(device)
    }
}

impl DeviceRef {
    fn raw(self) -> *mut DeviceObject {
        self.0.as_ptr()
    }

    fn extension(self) -> *mut DeviceExtension {
        // SAFETY: the device object is alive (type invariant).
        unsafe { (*self.raw()).device_extension }
    }

    /// The count of routines running for the device, with the deletion bit (see `rundown.rs`).
    pub(crate) fn io_count(&self) -> Option<&AtomicUsize> {
        let extension = self.extension();
        // SAFETY: devices of other drivers never reach this call; ours all have the extension
        // allocated (zeroed) in `create_device`, and it lives as long as the device object,
        // which outlives the borrow of its handle (type invariant). Only the atomic is shared.
        unsafe { extension.as_ref().map(|extension| &extension.io_count) }
    }

    /// `IoCreateDeviceSecure`'s part after `IoCreateDevice`, for `SDDL_DEVOBJ_SYS_ALL_ADM_ALL`
    /// (see `security.rs`).
    pub(crate) fn restrict_to_system_and_administrators(self) -> Result<(), Status> {
        security::restrict_to_system_and_administrators(self.raw())
    }

    pub(crate) fn delete(self) {
        // SAFETY: the device is this driver's and the safe layer deletes it once.
        unsafe { IoDeleteDevice(self.raw()) };
    }

    pub(crate) fn set_context(self, context: *const c_void) {
        let extension = self.extension();
        if !extension.is_null() {
            // SAFETY: devices of other drivers never reach this call; ours all have the
            // extension allocated in `create_device`.
            unsafe { (*extension).context = context };
        }
    }

    pub(crate) fn context(self) -> *const c_void {
        let extension = self.extension();
        if extension.is_null() {
            return ptr::null();
        }
        // SAFETY: as in `set_context`.
        unsafe { (*extension).context }
    }

    pub(crate) fn flags(self) -> u32 {
        // SAFETY: the device object is alive (type invariant).
        unsafe { (*self.raw()).flags }
    }

    pub(crate) fn set_flags(self, flags: u32) {
        // SAFETY: the device object is alive; drivers set their own devices' flags while setting
        // them up, before anything else looks at them.
        unsafe { (*self.raw()).flags |= flags };
    }

    pub(crate) fn clear_flags(self, flags: u32) {
        // SAFETY: as in `set_flags`.
        unsafe { (*self.raw()).flags &= !flags };
    }

    pub(crate) fn set_device_type(self, device_type: u32) {
        // SAFETY: as in `set_flags`.
        unsafe { (*self.raw()).device_type = device_type };
    }

    pub(crate) fn driver(self) -> DriverRef {
        // SAFETY: the device object is alive; its driver object outlives it.
        let driver = unsafe { (*self.raw()).driver_object };
        // SAFETY: the driver object of a live device is live.
        unsafe { DriverRef::from_raw(driver) }.unwrap_or(DriverRef(ptr::NonNull::dangling()))
    }

    pub(crate) fn device_type(self) -> u32 {
        // SAFETY: the device object is alive (type invariant).
        unsafe { (*self.raw()).device_type }
    }

    pub(crate) fn attach_to(self, target: DeviceRef) -> Option<DeviceRef> {
        // SAFETY: both devices are alive; `self` is this driver's new device.
        let lower = unsafe { IoAttachDeviceToDeviceStack(self.raw(), target.raw()) };
        // SAFETY: the returned device stays alive while we are attached to it.
        unsafe { DeviceRef::from_raw(lower) }
    }

    pub(crate) fn detach(self, lower: DeviceRef) {
        // SAFETY: `self` was attached over `lower`, once.
        unsafe { IoDetachDevice(lower.raw()) };
    }

    fn name(self) -> ([u16; MAX_NAME], u16) {
        let extension = self.extension();
        if extension.is_null() {
            return ([0; MAX_NAME], 0);
        }
        // SAFETY: as in `set_context`.
        let extension = unsafe { &*extension };
        let bytes = u16::try_from(extension.name_length * 2).unwrap_or(0);
        (extension.name, bytes)
    }

    pub(crate) fn create_symbolic_link(self, link: &str) -> Result<(), Status> {
        let (link_buffer, link_bytes) = utf16(link)?;
        let (name_buffer, name_bytes) = self.name();
        if name_bytes == 0 {
            return Err(Status::INVALID_DEVICE_STATE);
        }
        let link = unicode(&link_buffer, link_bytes);
        let target = unicode(&name_buffer, name_bytes);
        // SAFETY: both strings and their buffers outlive the call.
        Status::from_raw(unsafe { IoCreateSymbolicLink(&raw const link, &raw const target) }).ok()
    }

    pub(crate) fn delete_symbolic_link(self, link: &str) {
        if let Ok((buffer, bytes)) = utf16(link) {
            let link = unicode(&buffer, bytes);
            // SAFETY: the string and its buffer outlive the call.
            unsafe { IoDeleteSymbolicLink(&raw const link) };
        }
    }
}

impl IrpRef {
    fn raw(&self) -> *mut Irp {
        self.0.as_ptr()
    }

    fn location(&self) -> *mut IoStackLocation {
        // SAFETY: the IRP is alive and ours (type invariant).
        unsafe { (*self.raw()).current_stack_location }
    }

    fn next_location(&self) -> *mut IoStackLocation {
        self.location().wrapping_sub(1)
    }

    pub(crate) fn stack(&self) -> StackParams {
        // SAFETY: the current stack location of an IRP we own is valid.
        let location = unsafe { &*self.location() };
        let [p0, p1, p2, _] = location.parameters;
        let low = |value: u64| (value & 0xFFFF_FFFF) as u32;
        let params = match location.major_function {
            0x03 => Params::Read {
                length: low(p0),
                offset: p2.cast_signed(),
            },
            0x04 => Params::Write {
                length: low(p0),
                offset: p2.cast_signed(),
            },
            0x0e | 0x0f => Params::DeviceControl {
                output_length: low(p0),
                input_length: low(p1),
                code: low(p2),
            },
            // `Length`, then `FileInformationClass` at the next pointer-aligned slot.
            0x05 => Params::QueryInformation {
                length: low(p0),
                class: low(p1),
            },
            0x06 => Params::SetInformation {
                length: low(p0),
                class: low(p1),
            },
            // `SystemContext`, then `Type` and `State`, each pointer-aligned.
            0x16 => Params::Power {
                kind: low(p1),
                state: low(p2),
            },
            _ => Params::Other,
        };
        StackParams {
            major: location.major_function,
            minor: location.minor_function,
            params,
        }
    }

    /// The device of the current stack location (`IoGetCurrentIrpStackLocation(irp)->DeviceObject`).
    pub(crate) fn current_device(&self) -> Option<DeviceRef> {
        // SAFETY: as in `stack`.
        let device = unsafe { (*self.location()).device_object };
        // SAFETY: the stack location's device is the one the IRP was sent to; the caller keeps
        // it alive while it uses the handle (it is inside the device, or owns it).
        unsafe { DeviceRef::from_raw(device) }
    }

    fn device_flags(&self) -> u32 {
        // SAFETY: as in `stack`.
        let device = unsafe { (*self.location()).device_object };
        // SAFETY: the stack location's device is the one the IRP was sent to, alive meanwhile.
        unsafe { DeviceRef::from_raw(device) }.map_or(0, DeviceRef::flags)
    }

    pub(crate) fn requestor_mode(&self) -> Mode {
        // SAFETY: the IRP is alive and ours.
        if unsafe { (*self.raw()).requestor_mode } == 0 {
            Mode::Kernel
        } else {
            Mode::User
        }
    }

    fn system_buffer_length(&self) -> usize {
        let stack = self.stack();
        let length = |value: u32| usize::try_from(value).unwrap_or(0);
        match stack.params {
            Params::Read { length: l, .. } | Params::Write { length: l, .. }
                if self.device_flags() & super::DO_BUFFERED_IO != 0 =>
            {
                length(l)
            }
            Params::DeviceControl {
                output_length,
                input_length,
                code,
            } => match code & 3 {
                0 => length(input_length.max(output_length)),
                1 | 2 => length(input_length),
                _ => 0,
            },
            // The I/O manager always buffers file-information requests.
            Params::QueryInformation { length: l, .. }
            | Params::SetInformation { length: l, .. } => length(l),
            _ => 0,
        }
    }

    pub(crate) fn system_buffer(&mut self) -> Option<&mut [u8]> {
        let length = self.system_buffer_length();
        // SAFETY: the IRP is alive and ours.
        let buffer = unsafe { (*self.raw()).system_buffer };
        if buffer.is_null() || length == 0 {
            return None;
        }
        // SAFETY: the I/O manager allocated the system buffer with the length computed from the
        // stack location (SAFETY.md) and keeps it until completion; `&mut self` makes this the
        // only view.
        Some(unsafe { core::slice::from_raw_parts_mut(buffer, length) })
    }

    /// The system mapping of `MdlAddress` (MmGetSystemAddressForMdlSafe) and its byte count.
    fn mdl_mapping(&self) -> Result<Option<(*mut u8, usize)>, Status> {
        // SAFETY: the IRP is alive and ours.
        let mdl = unsafe { (*self.raw()).mdl_address };
        if mdl.is_null() {
            return Ok(None);
        }
        // SAFETY: a non-null `MdlAddress` of an IRP we own describes locked pages.
        let mdl_ref = unsafe { &*mdl };
        let (flags, mapped, count) = (
            mdl_ref.mdl_flags,
            mdl_ref.mapped_system_va,
            mdl_ref.byte_count,
        );
        let address = if flags & MDL_MAPPED != 0 {
            mapped
        } else {
            // SAFETY: `mdl` describes locked pages; mapping them for the kernel is what
            // MmGetSystemAddressForMdlSafe does.
            unsafe { MmMapLockedPagesSpecifyCache(mdl, 0, 1, ptr::null_mut(), 0, MAP_PRIORITY) }
        };
        if address.is_null() {
            return Err(Status::INSUFFICIENT_RESOURCES);
        }
        Ok(Some((address.cast(), usize::try_from(count).unwrap_or(0))))
    }

    pub(crate) fn mdl_buffer(&mut self) -> Result<Option<&mut [u8]>, Status> {
        let Some((address, length)) = self.mdl_mapping()? else {
            return Ok(None);
        };
        // SAFETY: the mapping covers `ByteCount` bytes and stays valid until completion; the
        // `&mut self` borrow makes this the only view.
        Ok(Some(unsafe {
            core::slice::from_raw_parts_mut(address, length)
        }))
    }

    pub(crate) fn split_direct(&mut self) -> Result<(&[u8], &mut [u8]), Status> {
        let input_length = self.system_buffer_length();
        // SAFETY: the IRP is alive and ours.
        let input = unsafe { (*self.raw()).system_buffer };
        let output: &mut [u8] = match self.mdl_buffer()? {
            Some(output) => output,
            None => &mut [],
        };
        let input: &[u8] = if input.is_null() || input_length == 0 {
            &[]
        } else {
            // SAFETY: the system buffer holds `InputBufferLength` bytes until completion and is
            // not the memory behind the MDL, so it does not overlap `output`; nothing writes it
            // while `&mut self` is borrowed.
            unsafe { core::slice::from_raw_parts(input, input_length) }
        };
        Ok((input, output))
    }

    pub(crate) fn user_addresses(&self) -> (usize, usize) {
        // SAFETY: as in `stack`.
        let type3 = unsafe { (*self.location()).parameters[3] };
        // SAFETY: the IRP is alive and ours.
        let user = unsafe { (*self.raw()).user_buffer };
        (usize::try_from(type3).unwrap_or(0), user.addr())
    }

    pub(crate) fn information(&self) -> usize {
        // SAFETY: the IRP is alive and ours.
        unsafe { (*self.raw()).information }
    }

    pub(crate) fn set_information(&mut self, information: usize) {
        // SAFETY: the IRP is alive and ours.
        unsafe { (*self.raw()).information = information };
    }

    pub(crate) fn status(&self) -> Status {
        // SAFETY: the IRP is alive and ours.
        Status::from_raw(unsafe { (*self.raw()).status })
    }

    pub(crate) fn complete(self, status: Status, information: usize) {
        let irp = self.raw();
        // SAFETY: the IRP is ours until IofCompleteRequest, after which it is not touched.
        unsafe { (*irp).status = status.to_raw() };
        // SAFETY: as above.
        unsafe { (*irp).information = information };
        // SAFETY: we own the IRP and complete it once (`self` is consumed).
        unsafe { IofCompleteRequest(irp, IO_NO_INCREMENT) };
    }

    pub(crate) fn mark_pending(&mut self) {
        // SAFETY: the current stack location of an IRP we own is ours to write.
        unsafe { (*self.location()).control |= SL_PENDING_RETURNED };
    }

    pub(crate) fn pending_returned(&self) -> bool {
        // SAFETY: the IRP is alive and ours.
        unsafe { (*self.raw()).pending_returned != 0 }
    }

    pub(crate) fn skip_current_location(&mut self) {
        let irp = self.raw();
        // SAFETY: IoSkipCurrentIrpStackLocation: move back up one location, so the next
        // IoCallDriver reuses ours for the lower driver.
        unsafe { (*irp).current_location += 1 };
        // SAFETY: as above.
        let location = unsafe { (*irp).current_stack_location };
        // SAFETY: as above.
        unsafe { (*irp).current_stack_location = location.wrapping_add(1) };
    }

    pub(crate) fn copy_current_location_to_next(&mut self) {
        let (current, next) = (self.location(), self.next_location());
        // SAFETY: IoCopyCurrentIrpStackLocationToNext: the IRP has a location below ours (we
        // are not the lowest driver); copy everything before `CompletionRoutine`.
        unsafe {
            ptr::copy_nonoverlapping(
                current.cast::<u8>(),
                next.cast::<u8>(),
                offset_of!(IoStackLocation, completion_routine),
            );
        }
        // SAFETY: as above.
        unsafe { (*next).control = 0 };
    }

    pub(crate) fn set_completion_routine(&mut self, f: CompletionFn, context: *mut c_void) {
        let next = self.next_location();
        // SAFETY: IoSetCompletionRoutine writes the next location, which exists (as above).
        unsafe { (*next).completion_routine = Some(f) };
        // SAFETY: as above.
        unsafe { (*next).context = context };
        // SAFETY: as above.
        unsafe { (*next).control = SL_INVOKE_ALWAYS };
    }

    pub(crate) fn call_driver(self, target: DeviceRef) -> Status {
        // SAFETY: the IRP is ours and passes to the target's driver; `self` is consumed.
        Status::from_raw(unsafe { IofCallDriver(target.raw(), self.raw()) })
    }

    pub(crate) fn set_cancel_routine(&mut self, f: Option<CancelFn>) -> bool {
        let routine = f.map_or(ptr::null_mut(), |f| f as *mut c_void);
        // SAFETY: the IRP is alive; IoSetCancelRoutine is an interlocked exchange.
        let previous = unsafe { (*self.raw()).cancel_routine.swap(routine, Ordering::AcqRel) };
        !previous.is_null()
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        // SAFETY: the IRP is alive; `Cancel` is written by IoCancelIrp on other threads.
        unsafe { (*self.raw()).cancel.load(Ordering::Acquire) != 0 }
    }

    pub(crate) fn driver_context(&self) -> *mut c_void {
        // SAFETY: the IRP is alive and ours.
        unsafe { (*self.raw()).driver_context[0] }
    }

    pub(crate) fn set_driver_context(&mut self, context: *mut c_void) {
        // SAFETY: `DriverContext` belongs to the IRP's current owner.
        unsafe { (*self.raw()).driver_context[0] = context };
    }

    pub(crate) fn file_object(&self) -> usize {
        // SAFETY: the current stack location of an IRP we own is valid.
        unsafe { (*self.location()).file_object }.addr()
    }

    pub(crate) fn release_cancel_lock(&self) {
        // SAFETY: the IRP is alive and ours.
        let irql = unsafe { (*self.raw()).cancel_irql };
        // SAFETY: called from a cancel routine, which the I/O manager enters holding the cancel
        // spin lock acquired at `CancelIrql`.
        unsafe { IoReleaseCancelSpinLock(irql) };
    }

    pub(crate) fn leaked(self) {
        if cfg!(debug_assertions) {
            // SAFETY: bug-checking is always allowed; an IRP neither completed nor passed on
            // would hang its sender (Driver Verifier 0xC9/0x226 describes the same mistake).
            unsafe { KeBugCheckEx(0xC9, 0x226, self.raw().addr(), 0, 0) };
        }
        // Release builds finish the IRP instead of hanging its sender.
        self.complete(Status::CANCELLED, 0);
    }
}

/// Bug-checks with `code` (the panic handler of a driver built on this backend).
pub fn bug_check(code: u32) -> ! {
    // SAFETY: bug-checking is always allowed.
    unsafe { KeBugCheckEx(code, 0, 0, 0, 0) }
}

/// What [`wdm_driver_entry!`](crate::wdm_driver_entry) expands to call.
pub(crate) mod entry {
    pub use super::bug_check;
    pub use super::imports::Pool;

    /// The global allocator of a WDM driver image: the kernel pool, for every alignment.
    pub type Allocator = crate::sys::pool::PoolAligned<super::imports::Pool>;

    /// The allocator's value.
    pub const ALLOCATOR: Allocator = crate::sys::pool::PoolAligned(super::imports::Pool);
}
