//! A stand-in for wdk-sys 0.5.2, written for this test: the names, shapes and values the
//! Windows seams of `wdm-compat` and `wdf-safe` use, taken from the WDK's x64 layouts and the
//! KMDF 1.33 headers (`wdffuncenum.h` for the function-table indices). It has no bindings of its
//! own: WDF functions go through [`WdfFunctions`] like the real ones, and the kernel routines in
//! [`ntddk`] are provided by the test program.
//!
//! The real crate generates these items with bindgen on Windows; the seams are also checked
//! against that (see `wine-e2e/README.md`). What this crate proves is only that the seams'
//! logic works once compiled; that the names match the real bindings is checked elsewhere.
#![no_std]
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs
)]

use core::ffi::c_void;

pub type PVOID = *mut c_void;
pub type NTSTATUS = i32;
pub type ULONG = u32;
pub type USHORT = u16;
pub type UCHAR = u8;
pub type CHAR = i8;
pub type BOOLEAN = u8;
pub type KIRQL = u8;
pub type ULONG_PTR = u64;
pub type LONGLONG = i64;
pub type PULONG = *mut ULONG;
pub type PKSPIN_LOCK = *mut ULONG_PTR;
pub type PCSTR = *const CHAR;

// ---- the kernel's structures (x64) ------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy)]
pub struct UNICODE_STRING {
    pub Length: USHORT,
    pub MaximumLength: USHORT,
    pub Buffer: *mut u16,
}
pub type PUNICODE_STRING = *mut UNICODE_STRING;
pub type PCUNICODE_STRING = *const UNICODE_STRING;

#[repr(C)]
pub struct _DRIVER_EXTENSION {
    pub DriverObject: *mut _DRIVER_OBJECT,
    pub AddDevice: PVOID,
    pub Count: ULONG,
    pub ServiceKeyName: UNICODE_STRING,
}
pub type DRIVER_EXTENSION = _DRIVER_EXTENSION;

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

#[repr(C)]
pub struct _DEVICE_OBJECT {
    pub Type: i16,
    pub Size: USHORT,
    pub ReferenceCount: i32,
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
    pub StackSize: CHAR,
    pub Rest: [u8; 0x150 - 0x4d],
}
pub type DEVICE_OBJECT = _DEVICE_OBJECT;
pub type PDEVICE_OBJECT = *mut _DEVICE_OBJECT;

#[repr(C)]
pub struct _MDL {
    pub Next: *mut _MDL,
    pub Size: i16,
    pub MdlFlags: i16,
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
    pub MdlAddress: *mut _MDL,
    pub Flags: ULONG,
    /// A union (`SystemBuffer`, …) in the WDK.
    pub AssociatedIrp: PVOID,
    pub ThreadListEntry: [PVOID; 2],
    pub IoStatus: [usize; 2],
    pub RequestorMode: CHAR,
    pub PendingReturned: BOOLEAN,
    pub StackCount: CHAR,
    pub CurrentLocation: CHAR,
    pub Cancel: BOOLEAN,
    pub CancelIrql: KIRQL,
    pub ApcEnvironment: CHAR,
    pub AllocationFlags: UCHAR,
    pub UserIosb: PVOID,
    pub UserEvent: PVOID,
    pub Overlay: [usize; 2],
    pub CancelRoutine: PVOID,
    pub UserBuffer: PVOID,
    /// A union (`Overlay.DriverContext`, …) in the WDK.
    pub Tail: [usize; 11],
}
pub type IRP = _IRP;
pub type PIRP = *mut _IRP;

#[repr(C)]
pub struct _IO_STACK_LOCATION {
    pub MajorFunction: UCHAR,
    pub MinorFunction: UCHAR,
    pub Flags: UCHAR,
    pub Control: UCHAR,
    /// A union in the WDK.
    pub Parameters: [u64; 4],
    pub DeviceObject: PDEVICE_OBJECT,
    pub FileObject: PVOID,
    pub CompletionRoutine: PVOID,
    pub Context: PVOID,
}
pub type IO_STACK_LOCATION = _IO_STACK_LOCATION;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct GUID {
    pub Data1: u32,
    pub Data2: u16,
    pub Data3: u16,
    pub Data4: [u8; 8],
}

/// Kernel routines (provided by the test program).
pub mod ntddk {
    use super::*;

    unsafe extern "C" {
        pub fn IoCreateDevice(
            DriverObject: PDRIVER_OBJECT,
            DeviceExtensionSize: ULONG,
            DeviceName: PUNICODE_STRING,
            DeviceType: ULONG,
            DeviceCharacteristics: ULONG,
            Exclusive: BOOLEAN,
            DeviceObject: *mut PDEVICE_OBJECT,
        ) -> NTSTATUS;
        pub fn IoDeleteDevice(DeviceObject: PDEVICE_OBJECT);
        pub fn IoCreateSymbolicLink(
            SymbolicLinkName: PUNICODE_STRING,
            DeviceName: PUNICODE_STRING,
        ) -> NTSTATUS;
        pub fn IoDeleteSymbolicLink(SymbolicLinkName: PUNICODE_STRING) -> NTSTATUS;
        pub fn IofCompleteRequest(Irp: PIRP, PriorityBoost: CHAR);
        pub fn IofCallDriver(DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS;
        pub fn IoAttachDeviceToDeviceStack(
            SourceDevice: PDEVICE_OBJECT,
            TargetDevice: PDEVICE_OBJECT,
        ) -> PDEVICE_OBJECT;
        pub fn IoDetachDevice(TargetDevice: PDEVICE_OBJECT);
        pub fn IoReleaseCancelSpinLock(Irql: KIRQL);
        pub fn MmMapLockedPagesSpecifyCache(
            MemoryDescriptorList: PMDL,
            AccessMode: CHAR,
            CacheType: i32,
            BaseAddress: PVOID,
            BugCheckOnFailure: ULONG,
            Priority: ULONG,
        ) -> PVOID;
        pub fn KeAcquireSpinLockRaiseToDpc(SpinLock: PKSPIN_LOCK) -> KIRQL;
        pub fn KeReleaseSpinLock(SpinLock: PKSPIN_LOCK, NewIrql: KIRQL);
        pub fn KeBugCheckEx(
            BugCheckCode: ULONG,
            BugCheckParameter1: ULONG_PTR,
            BugCheckParameter2: ULONG_PTR,
            BugCheckParameter3: ULONG_PTR,
            BugCheckParameter4: ULONG_PTR,
        ) -> !;
        pub fn DbgPrint(Format: PCSTR, ...) -> ULONG;
    }
}

// ---- KMDF handles, enums and structures ---------------------------------------------------

macro_rules! handles {
    ($($name:ident / $opaque:ident),* $(,)?) => {$(
        #[repr(C)]
        pub struct $opaque {
            _unused: i32,
        }
        pub type $name = *mut $opaque;
    )*};
}

handles!(
    WDFDRIVER / WDFDRIVER__,
    WDFDEVICE / WDFDEVICE__,
    WDFQUEUE / WDFQUEUE__,
    WDFREQUEST / WDFREQUEST__,
    WDFIOTARGET / WDFIOTARGET__,
    WDFFILEOBJECT / WDFFILEOBJECT__,
);

pub type WDFOBJECT = PVOID;
pub type WDFCONTEXT = PVOID;

#[repr(C)]
pub struct WDFDEVICE_INIT {
    _unused: [u8; 0],
}
pub type PWDFDEVICE_INIT = *mut WDFDEVICE_INIT;

/// The driver globals KMDF passes to every function (opaque here).
#[repr(C)]
pub struct _WDF_DRIVER_GLOBALS {
    _unused: [u8; 0],
}
pub type PWDF_DRIVER_GLOBALS = *mut _WDF_DRIVER_GLOBALS;

/// A C enum as bindgen's `ModuleConsts` style renders it.
macro_rules! c_enum {
    ($module:ident as $alias:ident { $($name:ident = $value:expr),* $(,)? }) => {
        pub mod $module {
            pub type Type = i32;
            $(pub const $name: Type = $value;)*
        }
        pub type $alias = $module::Type;
    };
}

c_enum!(_WDF_EXECUTION_LEVEL as WDF_EXECUTION_LEVEL {
    WdfExecutionLevelInvalid = 0, WdfExecutionLevelInheritFromParent = 1,
    WdfExecutionLevelPassive = 2, WdfExecutionLevelDispatch = 3,
});
c_enum!(_WDF_SYNCHRONIZATION_SCOPE as WDF_SYNCHRONIZATION_SCOPE {
    WdfSynchronizationScopeInvalid = 0, WdfSynchronizationScopeInheritFromParent = 1,
    WdfSynchronizationScopeDevice = 2, WdfSynchronizationScopeQueue = 3,
    WdfSynchronizationScopeNone = 4,
});
c_enum!(_WDF_DEVICE_IO_TYPE as WDF_DEVICE_IO_TYPE {
    WdfDeviceIoUndefined = 0, WdfDeviceIoNeither = 1, WdfDeviceIoBuffered = 2,
    WdfDeviceIoDirect = 3,
});
c_enum!(_WDF_REQUEST_TYPE as WDF_REQUEST_TYPE {
    WdfRequestTypeCreate = 0, WdfRequestTypeClose = 2, WdfRequestTypeRead = 3,
    WdfRequestTypeWrite = 4, WdfRequestTypeDeviceControl = 14,
    WdfRequestTypeDeviceControlInternal = 15, WdfRequestTypeCleanup = 18,
    WdfRequestTypeOther = 28,
});
c_enum!(_WDF_IO_QUEUE_DISPATCH_TYPE as WDF_IO_QUEUE_DISPATCH_TYPE {
    WdfIoQueueDispatchInvalid = 0, WdfIoQueueDispatchSequential = 1,
    WdfIoQueueDispatchParallel = 2, WdfIoQueueDispatchManual = 3,
});
c_enum!(_WDF_TRI_STATE as WDF_TRI_STATE { WdfFalse = 0, WdfTrue = 1, WdfUseDefault = 2 });
c_enum!(_WDF_FILEOBJECT_CLASS as WDF_FILEOBJECT_CLASS {
    WdfFileObjectInvalid = 0, WdfFileObjectNotRequired = 1,
    WdfFileObjectWdfCanUseFsContext = 2, WdfFileObjectWdfCanUseFsContext2 = 3,
    WdfFileObjectWdfCannotUseFsContexts = 4,
});
c_enum!(_WDF_DRIVER_INIT_FLAGS as WDF_DRIVER_INIT_FLAGS {
    WdfDriverInitNonPnpDriver = 1, WdfDriverInitNoDispatchOverride = 2, WdfVerifyOn = 4,
    WdfVerifierOn = 8,
});
c_enum!(_WDF_REQUEST_SEND_OPTIONS_FLAGS as WDF_REQUEST_SEND_OPTIONS_FLAGS {
    WDF_REQUEST_SEND_OPTION_TIMEOUT = 1, WDF_REQUEST_SEND_OPTION_SYNCHRONOUS = 2,
    WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE = 4, WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET = 8,
});
pub type WDF_IO_QUEUE_STATE = i32;

pub type PFN_WDF_OBJECT_CONTEXT_CLEANUP = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_OBJECT_CONTEXT_DESTROY = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_DRIVER_DEVICE_ADD =
    Option<unsafe extern "C" fn(Driver: WDFDRIVER, DeviceInit: PWDFDEVICE_INIT) -> NTSTATUS>;
pub type PFN_WDF_DRIVER_UNLOAD = Option<unsafe extern "C" fn(Driver: WDFDRIVER)>;
pub type PFN_WDF_DEVICE_FILE_CREATE =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, Request: WDFREQUEST, FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_FILE_CLOSE = Option<unsafe extern "C" fn(FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_FILE_CLEANUP = Option<unsafe extern "C" fn(FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_IO_QUEUE_IO_DEFAULT =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_READ =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
pub type PFN_WDF_IO_QUEUE_IO_WRITE = PFN_WDF_IO_QUEUE_IO_READ;
pub type PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL = Option<
    unsafe extern "C" fn(
        Queue: WDFQUEUE,
        Request: WDFREQUEST,
        OutputBufferLength: usize,
        InputBufferLength: usize,
        IoControlCode: ULONG,
    ),
>;
pub type PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL = PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL;
pub type PFN_WDF_IO_QUEUE_STATE =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Context: WDFCONTEXT)>;
pub type PFN_WDF_REQUEST_CANCEL = Option<unsafe extern "C" fn(Request: WDFREQUEST)>;
pub type PFN_WDF_REQUEST_COMPLETION_ROUTINE = Option<
    unsafe extern "C" fn(
        Request: WDFREQUEST,
        Target: WDFIOTARGET,
        Params: PWDF_REQUEST_COMPLETION_PARAMS,
        Context: WDFCONTEXT,
    ),
>;

/// `memset(0)` for the structures bindgen gives a zeroing `Default`.
macro_rules! zeroed_default {
    ($($name:ident),*) => {$(
        impl Default for $name {
            fn default() -> Self {
                // SAFETY: every field is an integer, a raw pointer, an `Option` of a function
                // pointer or a union of those, for all of which zero is a valid value.
                unsafe { core::mem::zeroed() }
            }
        }
    )*};
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_OBJECT_CONTEXT_TYPE_INFO {
    pub Size: ULONG,
    pub ContextName: PCSTR,
    pub ContextSize: usize,
    pub UniqueType: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
    pub EvtDriverGetUniqueContextType:
        Option<unsafe extern "C" fn() -> PCWDF_OBJECT_CONTEXT_TYPE_INFO>,
}
pub type PCWDF_OBJECT_CONTEXT_TYPE_INFO = *const WDF_OBJECT_CONTEXT_TYPE_INFO;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_OBJECT_ATTRIBUTES {
    pub Size: ULONG,
    pub EvtCleanupCallback: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub EvtDestroyCallback: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub ExecutionLevel: WDF_EXECUTION_LEVEL,
    pub SynchronizationScope: WDF_SYNCHRONIZATION_SCOPE,
    pub ParentObject: WDFOBJECT,
    pub ContextSizeOverride: usize,
    pub ContextTypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
}
pub type PWDF_OBJECT_ATTRIBUTES = *mut WDF_OBJECT_ATTRIBUTES;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_DRIVER_CONFIG {
    pub Size: ULONG,
    pub EvtDriverDeviceAdd: PFN_WDF_DRIVER_DEVICE_ADD,
    pub EvtDriverUnload: PFN_WDF_DRIVER_UNLOAD,
    pub DriverInitFlags: ULONG,
    pub DriverPoolTag: ULONG,
}
pub type PWDF_DRIVER_CONFIG = *mut WDF_DRIVER_CONFIG;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_FILEOBJECT_CONFIG {
    pub Size: ULONG,
    pub EvtDeviceFileCreate: PFN_WDF_DEVICE_FILE_CREATE,
    pub EvtFileClose: PFN_WDF_FILE_CLOSE,
    pub EvtFileCleanup: PFN_WDF_FILE_CLEANUP,
    pub AutoForwardCleanupClose: WDF_TRI_STATE,
    pub FileObjectClass: WDF_FILEOBJECT_CLASS,
}
pub type PWDF_FILEOBJECT_CONFIG = *mut WDF_FILEOBJECT_CONFIG;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_IO_QUEUE_CONFIG_PARALLEL {
    pub NumberOfPresentedRequests: ULONG,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union WDF_IO_QUEUE_CONFIG_SETTINGS {
    pub Parallel: WDF_IO_QUEUE_CONFIG_PARALLEL,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_IO_QUEUE_CONFIG {
    pub Size: ULONG,
    pub DispatchType: WDF_IO_QUEUE_DISPATCH_TYPE,
    pub PowerManaged: WDF_TRI_STATE,
    pub AllowZeroLengthRequests: BOOLEAN,
    pub DefaultQueue: BOOLEAN,
    pub EvtIoDefault: PFN_WDF_IO_QUEUE_IO_DEFAULT,
    pub EvtIoRead: PFN_WDF_IO_QUEUE_IO_READ,
    pub EvtIoWrite: PFN_WDF_IO_QUEUE_IO_WRITE,
    pub EvtIoDeviceControl: PFN_WDF_IO_QUEUE_IO_DEVICE_CONTROL,
    pub EvtIoInternalDeviceControl: PFN_WDF_IO_QUEUE_IO_INTERNAL_DEVICE_CONTROL,
    pub EvtIoStop: PVOID,
    pub EvtIoResume: PVOID,
    pub EvtIoCanceledOnQueue: PVOID,
    pub Settings: WDF_IO_QUEUE_CONFIG_SETTINGS,
    pub Driver: WDFDRIVER,
}
pub type PWDF_IO_QUEUE_CONFIG = *mut WDF_IO_QUEUE_CONFIG;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_REQUEST_PARAMETERS_READ {
    pub Length: usize,
    pub Key: ULONG,
    pub DeviceOffset: LONGLONG,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_REQUEST_PARAMETERS_IOCTL {
    pub OutputBufferLength: usize,
    pub InputBufferLength: usize,
    pub IoControlCode: ULONG,
    pub Type3InputBuffer: PVOID,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub union WDF_REQUEST_PARAMETERS_UNION {
    pub Read: WDF_REQUEST_PARAMETERS_READ,
    pub Write: WDF_REQUEST_PARAMETERS_READ,
    pub DeviceIoControl: WDF_REQUEST_PARAMETERS_IOCTL,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_REQUEST_PARAMETERS {
    pub Size: USHORT,
    pub MinorFunction: UCHAR,
    pub Type: WDF_REQUEST_TYPE,
    pub Parameters: WDF_REQUEST_PARAMETERS_UNION,
}
pub type PWDF_REQUEST_PARAMETERS = *mut WDF_REQUEST_PARAMETERS;

#[repr(C)]
#[derive(Clone, Copy)]
pub struct WDF_REQUEST_SEND_OPTIONS {
    pub Size: ULONG,
    pub Flags: ULONG,
    pub Timeout: LONGLONG,
}
pub type PWDF_REQUEST_SEND_OPTIONS = *mut WDF_REQUEST_SEND_OPTIONS;

/// Opaque here: the seams read a sent request's outcome with `WdfRequestGetStatus`.
#[repr(C)]
pub struct WDF_REQUEST_COMPLETION_PARAMS {
    _unused: [u8; 0],
}
pub type PWDF_REQUEST_COMPLETION_PARAMS = *mut WDF_REQUEST_COMPLETION_PARAMS;

zeroed_default!(
    WDF_OBJECT_ATTRIBUTES,
    WDF_DRIVER_CONFIG,
    WDF_FILEOBJECT_CONFIG,
    WDF_IO_QUEUE_CONFIG,
    WDF_REQUEST_PARAMETERS,
    WDF_REQUEST_SEND_OPTIONS
);

pub const WDF_NO_OBJECT_ATTRIBUTES: PWDF_OBJECT_ATTRIBUTES = core::ptr::null_mut();
pub const WDF_NO_SEND_OPTIONS: PVOID = core::ptr::null_mut();

// ---- the function table ---------------------------------------------------------------

pub type WDFFUNC = Option<unsafe extern "C" fn()>;

unsafe extern "C" {
    /// `WdfFunctions_01033`: KMDF's function table (the test program's here).
    #[link_name = "WdfFunctions_01033"]
    pub static mut WdfFunctions: *const WDFFUNC;
    pub static mut WdfDriverGlobals: PWDF_DRIVER_GLOBALS;
}

/// Declares each WDF function: its `PFN_*` type (with the driver globals first), its table
/// index, and the typed call `call_unsafe_wdf_function_binding!` expands to.
macro_rules! wdf_functions {
    ($($name:ident / $index_name:ident / $pfn:ident = $index:literal ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;)*) => {
        /// `_WDFFUNCENUM`: the table indices of KMDF 1.33.
        pub mod _WDFFUNCENUM {
            pub type Type = i32;
            $(pub const $index_name: Type = $index;)*
        }
        $(
            pub type $pfn = Option<unsafe extern "C" fn(DriverGlobals: PWDF_DRIVER_GLOBALS, $($arg: $ty),*) $(-> $ret)?>;
        )*
        /// The typed calls behind [`call_unsafe_wdf_function_binding!`].
        pub mod wdf {
            use super::*;
            $(
                /// Calls the function through the table, as the real macro does.
                ///
                /// # Safety
                ///
                /// The function's own contract.
                pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: the table holds a function of this type at this index (the test
                    // program fills it so), and the caller upholds the function's contract.
                    unsafe {
                        let entry = *WdfFunctions.add($index);
                        let function: $pfn = core::mem::transmute(entry);
                        match function {
                            Some(function) => function(WdfDriverGlobals, $($arg),*),
                            None => panic!(concat!(stringify!($name), " is not in the table")),
                        }
                    }
                }
            )*
        }
    };
}

/// `call_unsafe_wdf_function_binding!(WdfXxx, args…)`: calls a WDF function by name, the driver
/// globals implied; must be used inside `unsafe`.
#[macro_export]
macro_rules! call_unsafe_wdf_function_binding {
    ($name:ident $(, $argument:expr)* $(,)?) => {
        $crate::wdf::$name($($argument),*)
    };
}

wdf_functions! {
    WdfDriverCreate / WdfDriverCreateTableIndex / PFN_WDFDRIVERCREATE = 116 (DriverObject: PDRIVER_OBJECT, RegistryPath: PCUNICODE_STRING, DriverAttributes: PWDF_OBJECT_ATTRIBUTES, DriverConfig: PWDF_DRIVER_CONFIG, Driver: *mut WDFDRIVER) -> NTSTATUS;
    WdfControlDeviceInitAllocate / WdfControlDeviceInitAllocateTableIndex / PFN_WDFCONTROLDEVICEINITALLOCATE = 25 (Driver: WDFDRIVER, SDDLString: *const UNICODE_STRING) -> PWDFDEVICE_INIT;
    WdfControlFinishInitializing / WdfControlFinishInitializingTableIndex / PFN_WDFCONTROLFINISHINITIALIZING = 27 (Device: WDFDEVICE);
    WdfDeviceGetIoTarget / WdfDeviceGetIoTargetTableIndex / PFN_WDFDEVICEGETIOTARGET = 42 (Device: WDFDEVICE) -> WDFIOTARGET;
    WdfDeviceInitFree / WdfDeviceInitFreeTableIndex / PFN_WDFDEVICEINITFREE = 54 (DeviceInit: PWDFDEVICE_INIT);
    WdfDeviceInitSetIoType / WdfDeviceInitSetIoTypeTableIndex / PFN_WDFDEVICEINITSETIOTYPE = 61 (DeviceInit: PWDFDEVICE_INIT, IoType: WDF_DEVICE_IO_TYPE);
    WdfDeviceInitSetExclusive / WdfDeviceInitSetExclusiveTableIndex / PFN_WDFDEVICEINITSETEXCLUSIVE = 62 (DeviceInit: PWDFDEVICE_INIT, IsExclusive: BOOLEAN);
    WdfDeviceInitSetDeviceType / WdfDeviceInitSetDeviceTypeTableIndex / PFN_WDFDEVICEINITSETDEVICETYPE = 66 (DeviceInit: PWDFDEVICE_INIT, DeviceType: ULONG);
    WdfDeviceInitAssignName / WdfDeviceInitAssignNameTableIndex / PFN_WDFDEVICEINITASSIGNNAME = 67 (DeviceInit: PWDFDEVICE_INIT, DeviceName: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceInitSetCharacteristics / WdfDeviceInitSetCharacteristicsTableIndex / PFN_WDFDEVICEINITSETCHARACTERISTICS = 70 (DeviceInit: PWDFDEVICE_INIT, DeviceCharacteristics: ULONG, OrInValues: BOOLEAN);
    WdfDeviceInitSetFileObjectConfig / WdfDeviceInitSetFileObjectConfigTableIndex / PFN_WDFDEVICEINITSETFILEOBJECTCONFIG = 71 (DeviceInit: PWDFDEVICE_INIT, FileObjectConfig: PWDF_FILEOBJECT_CONFIG, FileObjectAttributes: PWDF_OBJECT_ATTRIBUTES);
    WdfDeviceCreate / WdfDeviceCreateTableIndex / PFN_WDFDEVICECREATE = 75 (DeviceInit: *mut PWDFDEVICE_INIT, DeviceAttributes: PWDF_OBJECT_ATTRIBUTES, Device: *mut WDFDEVICE) -> NTSTATUS;
    WdfDeviceCreateDeviceInterface / WdfDeviceCreateDeviceInterfaceTableIndex / PFN_WDFDEVICECREATEDEVICEINTERFACE = 77 (Device: WDFDEVICE, InterfaceClassGUID: *const GUID, ReferenceString: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceCreateSymbolicLink / WdfDeviceCreateSymbolicLinkTableIndex / PFN_WDFDEVICECREATESYMBOLICLINK = 80 (Device: WDFDEVICE, SymbolicLinkName: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceConfigureRequestDispatching / WdfDeviceConfigureRequestDispatchingTableIndex / PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING = 93 (Device: WDFDEVICE, Queue: WDFQUEUE, RequestType: WDF_REQUEST_TYPE) -> NTSTATUS;
    WdfFdoInitSetFilter / WdfFdoInitSetFilterTableIndex / PFN_WDFFDOINITSETFILTER = 129 (DeviceInit: PWDFDEVICE_INIT);
    WdfIoQueueCreate / WdfIoQueueCreateTableIndex / PFN_WDFIOQUEUECREATE = 152 (Device: WDFDEVICE, Config: PWDF_IO_QUEUE_CONFIG, QueueAttributes: PWDF_OBJECT_ATTRIBUTES, Queue: *mut WDFQUEUE) -> NTSTATUS;
    WdfIoQueueGetState / WdfIoQueueGetStateTableIndex / PFN_WDFIOQUEUEGETSTATE = 153 (Queue: WDFQUEUE, QueueRequests: PULONG, DriverRequests: PULONG) -> WDF_IO_QUEUE_STATE;
    WdfIoQueueStart / WdfIoQueueStartTableIndex / PFN_WDFIOQUEUESTART = 154 (Queue: WDFQUEUE);
    WdfIoQueueStop / WdfIoQueueStopTableIndex / PFN_WDFIOQUEUESTOP = 155 (Queue: WDFQUEUE, StopComplete: PFN_WDF_IO_QUEUE_STATE, Context: WDFCONTEXT);
    WdfIoQueueGetDevice / WdfIoQueueGetDeviceTableIndex / PFN_WDFIOQUEUEGETDEVICE = 157 (Queue: WDFQUEUE) -> WDFDEVICE;
    WdfIoQueueRetrieveNextRequest / WdfIoQueueRetrieveNextRequestTableIndex / PFN_WDFIOQUEUERETRIEVENEXTREQUEST = 158 (Queue: WDFQUEUE, OutRequest: *mut WDFREQUEST) -> NTSTATUS;
    WdfIoQueuePurgeSynchronously / WdfIoQueuePurgeSynchronouslyTableIndex / PFN_WDFIOQUEUEPURGESYNCHRONOUSLY = 164 (Queue: WDFQUEUE);
    WdfObjectGetTypedContextWorker / WdfObjectGetTypedContextWorkerTableIndex / PFN_WDFOBJECTGETTYPEDCONTEXTWORKER = 202 (Handle: WDFOBJECT, TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO) -> PVOID;
    WdfObjectAllocateContext / WdfObjectAllocateContextTableIndex / PFN_WDFOBJECTALLOCATECONTEXT = 203 (Handle: WDFOBJECT, ContextAttributes: PWDF_OBJECT_ATTRIBUTES, Context: *mut PVOID) -> NTSTATUS;
    WdfRequestFormatRequestUsingCurrentType / WdfRequestFormatRequestUsingCurrentTypeTableIndex / PFN_WDFREQUESTFORMATREQUESTUSINGCURRENTTYPE = 251 (Request: WDFREQUEST);
    WdfRequestSend / WdfRequestSendTableIndex / PFN_WDFREQUESTSEND = 253 (Request: WDFREQUEST, Target: WDFIOTARGET, Options: PWDF_REQUEST_SEND_OPTIONS) -> BOOLEAN;
    WdfRequestGetStatus / WdfRequestGetStatusTableIndex / PFN_WDFREQUESTGETSTATUS = 254 (Request: WDFREQUEST) -> NTSTATUS;
    WdfRequestUnmarkCancelable / WdfRequestUnmarkCancelableTableIndex / PFN_WDFREQUESTUNMARKCANCELABLE = 256 (Request: WDFREQUEST) -> NTSTATUS;
    WdfRequestIsCanceled / WdfRequestIsCanceledTableIndex / PFN_WDFREQUESTISCANCELED = 257 (Request: WDFREQUEST) -> BOOLEAN;
    WdfRequestSetCompletionRoutine / WdfRequestSetCompletionRoutineTableIndex / PFN_WDFREQUESTSETCOMPLETIONROUTINE = 260 (Request: WDFREQUEST, CompletionRoutine: PFN_WDF_REQUEST_COMPLETION_ROUTINE, CompletionContext: WDFCONTEXT);
    WdfRequestCompleteWithInformation / WdfRequestCompleteWithInformationTableIndex / PFN_WDFREQUESTCOMPLETEWITHINFORMATION = 265 (Request: WDFREQUEST, Status: NTSTATUS, Information: ULONG_PTR);
    WdfRequestGetParameters / WdfRequestGetParametersTableIndex / PFN_WDFREQUESTGETPARAMETERS = 266 (Request: WDFREQUEST, Parameters: PWDF_REQUEST_PARAMETERS);
    WdfRequestRetrieveInputBuffer / WdfRequestRetrieveInputBufferTableIndex / PFN_WDFREQUESTRETRIEVEINPUTBUFFER = 269 (Request: WDFREQUEST, MinimumRequiredLength: usize, Buffer: *mut PVOID, Length: *mut usize) -> NTSTATUS;
    WdfRequestRetrieveOutputBuffer / WdfRequestRetrieveOutputBufferTableIndex / PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER = 270 (Request: WDFREQUEST, MinimumRequiredSize: usize, Buffer: *mut PVOID, Length: *mut usize) -> NTSTATUS;
    WdfRequestSetInformation / WdfRequestSetInformationTableIndex / PFN_WDFREQUESTSETINFORMATION = 275 (Request: WDFREQUEST, Information: ULONG_PTR);
    WdfRequestGetInformation / WdfRequestGetInformationTableIndex / PFN_WDFREQUESTGETINFORMATION = 276 (Request: WDFREQUEST) -> ULONG_PTR;
    WdfRequestForwardToIoQueue / WdfRequestForwardToIoQueueTableIndex / PFN_WDFREQUESTFORWARDTOIOQUEUE = 281 (Request: WDFREQUEST, DestinationQueue: WDFQUEUE) -> NTSTATUS;
    WdfRequestGetIoQueue / WdfRequestGetIoQueueTableIndex / PFN_WDFREQUESTGETIOQUEUE = 282 (Request: WDFREQUEST) -> WDFQUEUE;
    WdfRequestMarkCancelableEx / WdfRequestMarkCancelableExTableIndex / PFN_WDFREQUESTMARKCANCELABLEEX = 393 (Request: WDFREQUEST, EvtRequestCancel: PFN_WDF_REQUEST_CANCEL) -> NTSTATUS;
}

/// `WdfFunctionTableNumEntries` of KMDF 1.33.
pub const WDF_FUNCTION_COUNT: usize = 458;
