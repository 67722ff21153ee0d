//! The kernel's types (`ntdef.h`, `wdm.h`): what wdk-sys puts at its root beside the WDF items.
//! The KMDF seam only passes a driver object through; the structures wdm-compat's WDK seam
//! reads (driver and device objects, IRPs, stack locations, MDLs) are here with the WDK's x64
//! layout too, so the Windows-target compile check builds both seams against one set of
//! bindings (`host-tests/windows-check`). Unions and the fields no seam names are byte arrays
//! of the right size.
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs,
    reason = "the WDK's names, documented in the KMDF headers"
)]

use core::ffi::c_void;

pub type PVOID = *mut c_void;
pub type NTSTATUS = i32;
pub type ULONG = u32;
pub type USHORT = u16;
pub type UCHAR = u8;
pub type CHAR = i8;
pub type BOOLEAN = u8;
pub type ULONG_PTR = u64;
pub type LONGLONG = i64;
pub type PLONGLONG = *mut LONGLONG;
pub type PULONG = *mut ULONG;
pub type ACCESS_MASK = ULONG;
pub type LONG = i32;
pub type PCCH = *const CHAR;
pub type PCSTR = *const CHAR;
pub type PCHAR = *mut CHAR;
pub type CCHAR = i8;
pub type KIRQL = UCHAR;
pub type KPROCESSOR_MODE = CCHAR;
pub type KSPIN_LOCK = ULONG_PTR;
pub type PKSPIN_LOCK = *mut KSPIN_LOCK;
/// `MEMORY_CACHING_TYPE`, a C enum (bindgen's "module consts" style).
pub type MEMORY_CACHING_TYPE = i32;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct UNICODE_STRING {
    pub Length: USHORT,
    pub MaximumLength: USHORT,
    pub Buffer: *mut u16,
}
pub type PUNICODE_STRING = *mut UNICODE_STRING;
pub type PCUNICODE_STRING = *const UNICODE_STRING;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GUID {
    pub Data1: u32,
    pub Data2: u16,
    pub Data3: u16,
    pub Data4: [u8; 8],
}

#[repr(C)]
pub struct _DRIVER_OBJECT {
    pub Type: i16,
    pub Size: i16,
    pub DeviceObject: *mut _DEVICE_OBJECT,
    pub Flags: ULONG,
    pub DriverStart: PVOID,
    pub DriverSize: ULONG,
    pub DriverSection: PVOID,
    pub DriverExtension: *mut _DRIVER_EXTENSION,
    pub DriverName: UNICODE_STRING,
    pub HardwareDatabase: PUNICODE_STRING,
    pub FastIoDispatch: PVOID,
    pub DriverInit: PVOID,
    pub DriverStartIo: PVOID,
    pub DriverUnload: PVOID,
    pub MajorFunction: [PVOID; 28],
}
pub type DRIVER_OBJECT = _DRIVER_OBJECT;
pub type PDRIVER_OBJECT = *mut _DRIVER_OBJECT;

/// `DRIVER_EXTENSION`: its first fields (the structure goes on with callbacks no seam uses).
#[repr(C)]
pub struct _DRIVER_EXTENSION {
    pub DriverObject: *mut _DRIVER_OBJECT,
    pub AddDevice: PVOID,
    pub Count: ULONG,
    pub ServiceKeyName: UNICODE_STRING,
}
pub type DRIVER_EXTENSION = _DRIVER_EXTENSION;

#[repr(C)]
pub struct _DEVICE_OBJECT {
    pub Type: i16,
    pub Size: USHORT,
    pub ReferenceCount: LONG,
    pub DriverObject: *mut _DRIVER_OBJECT,
    pub NextDevice: *mut _DEVICE_OBJECT,
    pub AttachedDevice: *mut _DEVICE_OBJECT,
    pub CurrentIrp: *mut _IRP,
    pub Timer: PVOID,
    pub Flags: ULONG,
    pub Characteristics: ULONG,
    pub Vpb: PVOID,
    pub DeviceExtension: PVOID,
    pub DeviceType: ULONG,
    pub StackSize: CCHAR,
    /// `Queue`, `AlignmentRequirement`, `DeviceQueue`, `Dpc`, … to the end.
    pub Rest: [u8; 0x150 - 0x4d],
}
pub type DEVICE_OBJECT = _DEVICE_OBJECT;
pub type PDEVICE_OBJECT = *mut _DEVICE_OBJECT;

#[repr(C)]
pub struct _MDL {
    pub Next: *mut _MDL,
    pub Size: i16,
    pub MdlFlags: i16,
    pub AllocationProcessorNumber: USHORT,
    pub Reserved: USHORT,
    pub Process: PVOID,
    pub MappedSystemVa: PVOID,
    pub StartVa: PVOID,
    pub ByteCount: ULONG,
    pub ByteOffset: ULONG,
}
pub type MDL = _MDL;
pub type PMDL = *mut _MDL;

#[repr(C)]
pub struct _IRP {
    pub Type: i16,
    pub Size: USHORT,
    pub AllocationProcessorNumber: USHORT,
    pub Reserved: USHORT,
    pub MdlAddress: *mut _MDL,
    pub Flags: ULONG,
    /// A union (`MasterIrp`, `IrpCount`, `SystemBuffer`).
    pub AssociatedIrp: PVOID,
    pub ThreadListEntry: [PVOID; 2],
    pub IoStatus: IO_STATUS_BLOCK,
    pub RequestorMode: KPROCESSOR_MODE,
    pub PendingReturned: BOOLEAN,
    pub StackCount: CHAR,
    pub CurrentLocation: CHAR,
    pub Cancel: BOOLEAN,
    pub CancelIrql: KIRQL,
    pub ApcEnvironment: CCHAR,
    pub AllocationFlags: UCHAR,
    pub UserIosb: PVOID,
    pub UserEvent: PVOID,
    /// A union (`AsynchronousParameters`, `AllocationSize`).
    pub Overlay: [u64; 2],
    pub CancelRoutine: PVOID,
    pub UserBuffer: PVOID,
    /// A union (`Overlay`, whose first field is `DriverContext[4]`; `Apc`; `CompletionKey`).
    pub Tail: [u64; 11],
}
pub type IRP = _IRP;
pub type PIRP = *mut _IRP;

#[repr(C)]
pub struct _IO_STACK_LOCATION {
    pub MajorFunction: UCHAR,
    pub MinorFunction: UCHAR,
    pub Flags: UCHAR,
    pub Control: UCHAR,
    /// A union, one member per major function.
    pub Parameters: [u64; 4],
    pub DeviceObject: PDEVICE_OBJECT,
    pub FileObject: PVOID,
    pub CompletionRoutine: PVOID,
    pub Context: PVOID,
}
pub type IO_STACK_LOCATION = _IO_STACK_LOCATION;

/// `IO_STATUS_BLOCK`: the union of `Status` and `Pointer`, then `Information`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union _IO_STATUS_BLOCK__bindgen_ty_1 {
    pub Status: NTSTATUS,
    pub Pointer: PVOID,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct _IO_STATUS_BLOCK {
    pub __bindgen_anon_1: _IO_STATUS_BLOCK__bindgen_ty_1,
    pub Information: ULONG_PTR,
}
pub type IO_STATUS_BLOCK = _IO_STATUS_BLOCK;

// ---- layouts: offsets and sizes of the WDK's x64 headers -------------------------------------

macro_rules! layout {
    ($ty:ty, size $size:literal $(, $field:ident @ $offset:literal)*) => {
        const _: () = assert!(size_of::<$ty>() == $size);
        $(const _: () = assert!(core::mem::offset_of!($ty, $field) == $offset);)*
    };
}

layout!(UNICODE_STRING, size 16, Buffer @ 8);
layout!(GUID, size 16, Data4 @ 8);
layout!(IO_STATUS_BLOCK, size 16, Information @ 8);
layout!(DRIVER_OBJECT, size 0x150, DeviceObject @ 0x08, DriverExtension @ 0x30, DriverName @ 0x38, DriverUnload @ 0x68, MajorFunction @ 0x70);
const _: () = assert!(core::mem::offset_of!(DRIVER_EXTENSION, AddDevice) == 0x08);
layout!(DEVICE_OBJECT, size 0x150, DriverObject @ 0x08, AttachedDevice @ 0x18, Flags @ 0x30, DeviceExtension @ 0x40, DeviceType @ 0x48, StackSize @ 0x4c);
layout!(MDL, size 0x30, MdlFlags @ 0x0a, MappedSystemVa @ 0x18, ByteCount @ 0x28);
layout!(IRP, size 0xd0, MdlAddress @ 0x08, AssociatedIrp @ 0x18, IoStatus @ 0x30, RequestorMode @ 0x40, PendingReturned @ 0x41, Cancel @ 0x44, CancelIrql @ 0x45, CancelRoutine @ 0x68, UserBuffer @ 0x70, Tail @ 0x78);
layout!(IO_STACK_LOCATION, size 0x48, Control @ 0x03, Parameters @ 0x08, DeviceObject @ 0x28, CompletionRoutine @ 0x38, Context @ 0x40);
