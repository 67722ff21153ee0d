//! The WDF items of the bindings (`wdfdriver.h`, `wdfdevice.h`, `wdfio.h`, `wdfrequest.h`,
//! `wdfobject.h`, `wdffuncenum.h`, `wdfglobals.h`): handles, enums, structures, the function
//! table and `call_unsafe_wdf_function_binding!`. It names its neighbours only through
//! `super::` — the kernel's base types (`super::wdm`), the table it points at (`super::table`)
//! and the current image's globals (`super::current_globals`) — so the same file also builds
//! the Windows-target compile check of the seam (`host-tests/windows-check`), where those come
//! from that check's stand-in of wdk-sys.
#![allow(
    non_camel_case_types,
    non_snake_case,
    non_upper_case_globals,
    missing_docs,
    reason = "the WDK's names, documented in the KMDF headers"
)]

#[allow(
    clippy::wildcard_imports,
    reason = "the kernel types, as wdk-sys has them at its root"
)]
use super::wdm::*;

// ---- handles ------------------------------------------------------------------------------

macro_rules! handles {
    ($($name:ident / $opaque:ident),* $(,)?) => {$(
        /// The framework object a handle names (`DECLARE_HANDLE`); never dereferenced.
        #[repr(C)]
        #[derive(Debug)]
        pub struct $opaque {
            pub unused: i32,
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
    WDFMEMORY / WDFMEMORY__,
    WDFLOOKASIDE / WDFLOOKASIDE__,
    WDFWAITLOCK / WDFWAITLOCK__,
    WDFTIMER / WDFTIMER__,
    WDFWORKITEM / WDFWORKITEM__,
    WDFKEY / WDFKEY__,
    WDFCMRESLIST / WDFCMRESLIST__,
);

pub type WDFOBJECT = PVOID;
pub type WDFCONTEXT = PVOID;

/// `WDFDEVICE_INIT`: an opaque structure the framework allocates.
#[repr(C)]
pub struct WDFDEVICE_INIT {
    _unused: [u8; 0],
}
pub type PWDFDEVICE_INIT = *mut WDFDEVICE_INIT;

/// `WDF_DRIVER_GLOBALS_NAME_LEN`.
pub const WDF_DRIVER_GLOBALS_NAME_LEN: usize = 32;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_DRIVER_GLOBALS {
    pub Driver: WDFDRIVER,
    pub DriverFlags: ULONG,
    pub DriverTag: ULONG,
    pub DriverName: [CHAR; WDF_DRIVER_GLOBALS_NAME_LEN],
    pub DisplaceDriverUnload: BOOLEAN,
}
pub type WDF_DRIVER_GLOBALS = _WDF_DRIVER_GLOBALS;
pub type PWDF_DRIVER_GLOBALS = *mut _WDF_DRIVER_GLOBALS;

// ---- enums ---------------------------------------------------------------------------------

/// A C enum in bindgen's module-consts style: `_NAME::Type` and its constants.
macro_rules! c_enum {
    ($module:ident as $alias:ident { $($name:ident = $value:expr),* $(,)? }) => {
        pub mod $module {
            pub type Type = i32;
            $(pub const $name: Type = $value;)*
        }
        pub type $alias = $module::Type;
    };
}

// `POOL_TYPE` (wdm.h; in wdk-sys's kernel part, kept here with the one DDI that takes it).
c_enum!(_POOL_TYPE as POOL_TYPE {
    NonPagedPool = 0,
    PagedPool = 1,
    NonPagedPoolNx = 512,
});
c_enum!(_WDF_EXECUTION_LEVEL as WDF_EXECUTION_LEVEL {
    WdfExecutionLevelInvalid = 0,
    WdfExecutionLevelInheritFromParent = 1,
    WdfExecutionLevelPassive = 2,
    WdfExecutionLevelDispatch = 3,
});
c_enum!(_WDF_SYNCHRONIZATION_SCOPE as WDF_SYNCHRONIZATION_SCOPE {
    WdfSynchronizationScopeInvalid = 0,
    WdfSynchronizationScopeInheritFromParent = 1,
    WdfSynchronizationScopeDevice = 2,
    WdfSynchronizationScopeQueue = 3,
    WdfSynchronizationScopeNone = 4,
});
c_enum!(_WDF_DEVICE_IO_TYPE as WDF_DEVICE_IO_TYPE {
    WdfDeviceIoUndefined = 0,
    WdfDeviceIoNeither = 1,
    WdfDeviceIoBuffered = 2,
    WdfDeviceIoDirect = 3,
    WdfDeviceIoBufferedOrDirect = 4,
    WdfDeviceIoMaximum = 5,
});
c_enum!(_WDF_REQUEST_TYPE as WDF_REQUEST_TYPE {
    WdfRequestTypeCreate = 0x0,
    WdfRequestTypeCreateNamedPipe = 0x1,
    WdfRequestTypeClose = 0x2,
    WdfRequestTypeRead = 0x3,
    WdfRequestTypeWrite = 0x4,
    WdfRequestTypeQueryInformation = 0x5,
    WdfRequestTypeSetInformation = 0x6,
    WdfRequestTypeFlushBuffers = 0x9,
    WdfRequestTypeDeviceControl = 0xe,
    WdfRequestTypeDeviceControlInternal = 0xf,
    WdfRequestTypeShutdown = 0x10,
    WdfRequestTypeCleanup = 0x12,
    WdfRequestTypePower = 0x16,
    WdfRequestTypeSystemControl = 0x17,
    WdfRequestTypePnp = 0x1b,
    WdfRequestTypeOther = 0x1c,
    WdfRequestTypeNoFormat = 0xff,
});
c_enum!(_WDF_IO_QUEUE_DISPATCH_TYPE as WDF_IO_QUEUE_DISPATCH_TYPE {
    WdfIoQueueDispatchInvalid = 0,
    WdfIoQueueDispatchSequential = 1,
    WdfIoQueueDispatchParallel = 2,
    WdfIoQueueDispatchManual = 3,
    WdfIoQueueDispatchMax = 4,
});
c_enum!(_WDF_IO_QUEUE_STATE as WDF_IO_QUEUE_STATE {
    WdfIoQueueAcceptRequests = 0x01,
    WdfIoQueueDispatchRequests = 0x02,
    WdfIoQueueNoRequests = 0x04,
    WdfIoQueueDriverNoRequests = 0x08,
    WdfIoQueuePnpHeld = 0x10,
});
c_enum!(_WDF_TRI_STATE as WDF_TRI_STATE {
    WdfFalse = 0,
    WdfTrue = 1,
    WdfUseDefault = 2,
});
c_enum!(_WDF_FILEOBJECT_CLASS as WDF_FILEOBJECT_CLASS {
    WdfFileObjectInvalid = 0,
    WdfFileObjectNotRequired = 1,
    WdfFileObjectWdfCanUseFsContext = 2,
    WdfFileObjectWdfCanUseFsContext2 = 3,
    WdfFileObjectWdfCannotUseFsContexts = 4,
});
c_enum!(_WDF_POWER_DEVICE_STATE as WDF_POWER_DEVICE_STATE {
    WdfPowerDeviceInvalid = 0,
    WdfPowerDeviceD0 = 1,
    WdfPowerDeviceD1 = 2,
    WdfPowerDeviceD2 = 3,
    WdfPowerDeviceD3 = 4,
    WdfPowerDeviceD3Final = 5,
    WdfPowerDevicePrepareForHibernation = 6,
    WdfPowerDeviceMaximum = 7,
});
c_enum!(_WDF_MEMORY_DESCRIPTOR_TYPE as WDF_MEMORY_DESCRIPTOR_TYPE {
    WdfMemoryDescriptorTypeInvalid = 0,
    WdfMemoryDescriptorTypeBuffer = 1,
    WdfMemoryDescriptorTypeMdl = 2,
    WdfMemoryDescriptorTypeHandle = 3,
});
c_enum!(_WDF_DRIVER_INIT_FLAGS as WDF_DRIVER_INIT_FLAGS {
    WdfDriverInitNonPnpDriver = 0x1,
    WdfDriverInitNoDispatchOverride = 0x2,
    WdfVerifyOn = 0x4,
    WdfVerifierOn = 0x8,
    WdfDriverInitCompanion = 0x10,
});
c_enum!(_WDF_REQUEST_SEND_OPTIONS_FLAGS as WDF_REQUEST_SEND_OPTIONS_FLAGS {
    WDF_REQUEST_SEND_OPTION_TIMEOUT = 0x1,
    WDF_REQUEST_SEND_OPTION_SYNCHRONOUS = 0x2,
    WDF_REQUEST_SEND_OPTION_IGNORE_TARGET_STATE = 0x4,
    WDF_REQUEST_SEND_OPTION_SEND_AND_FORGET = 0x8,
    WDF_REQUEST_SEND_OPTION_IMPERSONATE_CLIENT = 0x10000,
    WDF_REQUEST_SEND_OPTION_IMPERSONATION_IGNORE_FAILURE = 0x20000,
});

// ---- callback types --------------------------------------------------------------------------

pub type PFN_WDF_OBJECT_CONTEXT_CLEANUP = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_OBJECT_CONTEXT_DESTROY = Option<unsafe extern "C" fn(Object: WDFOBJECT)>;
pub type PFN_WDF_DRIVER_DEVICE_ADD =
    Option<unsafe extern "C" fn(Driver: WDFDRIVER, DeviceInit: PWDFDEVICE_INIT) -> NTSTATUS>;
pub type PFN_WDF_DRIVER_UNLOAD = Option<unsafe extern "C" fn(Driver: WDFDRIVER)>;
pub type PFN_WDF_DEVICE_FILE_CREATE =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, Request: WDFREQUEST, FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_FILE_CLOSE = Option<unsafe extern "C" fn(FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_DEVICE_D0_ENTRY = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, PreviousState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, PreviousState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_D0_EXIT = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, TargetState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, TargetState: WDF_POWER_DEVICE_STATE) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_PREPARE_HARDWARE = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        ResourcesRaw: WDFCMRESLIST,
        ResourcesTranslated: WDFCMRESLIST,
    ) -> NTSTATUS,
>;
pub type PFN_WDF_DEVICE_RELEASE_HARDWARE =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, ResourcesTranslated: WDFCMRESLIST) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART =
    Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_SURPRISE_REMOVAL = Option<unsafe extern "C" fn(Device: WDFDEVICE)>;
/// Registered by no driver of this project; any function pointer of the slot's size.
pub type PFN_WDF_DEVICE_QUERY_REMOVE = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_QUERY_STOP = Option<unsafe extern "C" fn(Device: WDFDEVICE) -> NTSTATUS>;
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION = Option<
    unsafe extern "C" fn(Device: WDFDEVICE, NotificationType: i32, IsInNotificationPath: BOOLEAN),
>;
pub type PFN_WDF_DEVICE_RELATIONS_QUERY =
    Option<unsafe extern "C" fn(Device: WDFDEVICE, RelationType: i32)>;
pub type PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX = Option<
    unsafe extern "C" fn(
        Device: WDFDEVICE,
        NotificationType: i32,
        IsInNotificationPath: BOOLEAN,
    ) -> NTSTATUS,
>;
pub type PFN_WDF_TIMER = Option<unsafe extern "C" fn(Timer: WDFTIMER)>;
pub type PFN_WDF_WORKITEM = Option<unsafe extern "C" fn(WorkItem: WDFWORKITEM)>;
pub type PFN_WDF_FILE_CLEANUP = Option<unsafe extern "C" fn(FileObject: WDFFILEOBJECT)>;
pub type PFN_WDF_IO_QUEUE_IO_DEFAULT =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_READ =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
pub type PFN_WDF_IO_QUEUE_IO_WRITE =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, Length: usize)>;
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
pub type PFN_WDF_IO_QUEUE_IO_STOP =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST, ActionFlags: ULONG)>;
pub type PFN_WDF_IO_QUEUE_IO_RESUME =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
pub type PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE =
    Option<unsafe extern "C" fn(Queue: WDFQUEUE, Request: WDFREQUEST)>;
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

// ---- structures ------------------------------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_OBJECT_CONTEXT_TYPE_INFO {
    pub Size: ULONG,
    pub ContextName: PCSTR,
    pub ContextSize: usize,
    pub UniqueType: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
    pub EvtDriverGetUniqueContextType:
        Option<unsafe extern "C" fn() -> PCWDF_OBJECT_CONTEXT_TYPE_INFO>,
}
pub type WDF_OBJECT_CONTEXT_TYPE_INFO = _WDF_OBJECT_CONTEXT_TYPE_INFO;
pub type PCWDF_OBJECT_CONTEXT_TYPE_INFO = *const _WDF_OBJECT_CONTEXT_TYPE_INFO;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_OBJECT_ATTRIBUTES {
    pub Size: ULONG,
    pub EvtCleanupCallback: PFN_WDF_OBJECT_CONTEXT_CLEANUP,
    pub EvtDestroyCallback: PFN_WDF_OBJECT_CONTEXT_DESTROY,
    pub ExecutionLevel: WDF_EXECUTION_LEVEL,
    pub SynchronizationScope: WDF_SYNCHRONIZATION_SCOPE,
    pub ParentObject: WDFOBJECT,
    pub ContextSizeOverride: usize,
    pub ContextTypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO,
}
pub type WDF_OBJECT_ATTRIBUTES = _WDF_OBJECT_ATTRIBUTES;
pub type PWDF_OBJECT_ATTRIBUTES = *mut _WDF_OBJECT_ATTRIBUTES;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_DRIVER_CONFIG {
    pub Size: ULONG,
    pub EvtDriverDeviceAdd: PFN_WDF_DRIVER_DEVICE_ADD,
    pub EvtDriverUnload: PFN_WDF_DRIVER_UNLOAD,
    pub DriverInitFlags: ULONG,
    pub DriverPoolTag: ULONG,
}
pub type WDF_DRIVER_CONFIG = _WDF_DRIVER_CONFIG;
pub type PWDF_DRIVER_CONFIG = *mut _WDF_DRIVER_CONFIG;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_TIMER_CONFIG {
    pub Size: ULONG,
    pub EvtTimerFunc: PFN_WDF_TIMER,
    pub Period: ULONG,
    pub AutomaticSerialization: BOOLEAN,
    pub TolerableDelay: ULONG,
    /// `UseHighResolutionTimer` is `DECLSPEC_ALIGN(8)`.
    pub __bindgen_padding_0: u32,
    pub UseHighResolutionTimer: BOOLEAN,
}
pub type WDF_TIMER_CONFIG = _WDF_TIMER_CONFIG;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_WORKITEM_CONFIG {
    pub Size: ULONG,
    pub EvtWorkItemFunc: PFN_WDF_WORKITEM,
    pub AutomaticSerialization: BOOLEAN,
}
pub type WDF_WORKITEM_CONFIG = _WDF_WORKITEM_CONFIG;
pub type PWDF_WORKITEM_CONFIG = *mut _WDF_WORKITEM_CONFIG;
pub type PWDF_TIMER_CONFIG = *mut _WDF_TIMER_CONFIG;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_PNPPOWER_EVENT_CALLBACKS {
    pub Size: ULONG,
    pub EvtDeviceD0Entry: PFN_WDF_DEVICE_D0_ENTRY,
    pub EvtDeviceD0EntryPostInterruptsEnabled: PFN_WDF_DEVICE_D0_ENTRY_POST_INTERRUPTS_ENABLED,
    pub EvtDeviceD0Exit: PFN_WDF_DEVICE_D0_EXIT,
    pub EvtDeviceD0ExitPreInterruptsDisabled: PFN_WDF_DEVICE_D0_EXIT_PRE_INTERRUPTS_DISABLED,
    pub EvtDevicePrepareHardware: PFN_WDF_DEVICE_PREPARE_HARDWARE,
    pub EvtDeviceReleaseHardware: PFN_WDF_DEVICE_RELEASE_HARDWARE,
    pub EvtDeviceSelfManagedIoCleanup: PFN_WDF_DEVICE_SELF_MANAGED_IO_CLEANUP,
    pub EvtDeviceSelfManagedIoFlush: PFN_WDF_DEVICE_SELF_MANAGED_IO_FLUSH,
    pub EvtDeviceSelfManagedIoInit: PFN_WDF_DEVICE_SELF_MANAGED_IO_INIT,
    pub EvtDeviceSelfManagedIoSuspend: PFN_WDF_DEVICE_SELF_MANAGED_IO_SUSPEND,
    pub EvtDeviceSelfManagedIoRestart: PFN_WDF_DEVICE_SELF_MANAGED_IO_RESTART,
    pub EvtDeviceSurpriseRemoval: PFN_WDF_DEVICE_SURPRISE_REMOVAL,
    pub EvtDeviceQueryRemove: PFN_WDF_DEVICE_QUERY_REMOVE,
    pub EvtDeviceQueryStop: PFN_WDF_DEVICE_QUERY_STOP,
    pub EvtDeviceUsageNotification: PFN_WDF_DEVICE_USAGE_NOTIFICATION,
    pub EvtDeviceRelationsQuery: PFN_WDF_DEVICE_RELATIONS_QUERY,
    pub EvtDeviceUsageNotificationEx: PFN_WDF_DEVICE_USAGE_NOTIFICATION_EX,
}
pub type WDF_PNPPOWER_EVENT_CALLBACKS = _WDF_PNPPOWER_EVENT_CALLBACKS;
pub type PWDF_PNPPOWER_EVENT_CALLBACKS = *mut _WDF_PNPPOWER_EVENT_CALLBACKS;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_FILEOBJECT_CONFIG {
    pub Size: ULONG,
    pub EvtDeviceFileCreate: PFN_WDF_DEVICE_FILE_CREATE,
    pub EvtFileClose: PFN_WDF_FILE_CLOSE,
    pub EvtFileCleanup: PFN_WDF_FILE_CLEANUP,
    pub AutoForwardCleanupClose: WDF_TRI_STATE,
    pub FileObjectClass: WDF_FILEOBJECT_CLASS,
}
pub type WDF_FILEOBJECT_CONFIG = _WDF_FILEOBJECT_CONFIG;
pub type PWDF_FILEOBJECT_CONFIG = *mut _WDF_FILEOBJECT_CONFIG;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1 {
    pub NumberOfPresentedRequests: ULONG,
}

/// `Settings` of `WDF_IO_QUEUE_CONFIG`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
    pub Parallel: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct _WDF_IO_QUEUE_CONFIG {
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
    pub EvtIoStop: PFN_WDF_IO_QUEUE_IO_STOP,
    pub EvtIoResume: PFN_WDF_IO_QUEUE_IO_RESUME,
    pub EvtIoCanceledOnQueue: PFN_WDF_IO_QUEUE_IO_CANCELED_ON_QUEUE,
    pub Settings: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1,
    pub Driver: WDFDRIVER,
}
pub type WDF_IO_QUEUE_CONFIG = _WDF_IO_QUEUE_CONFIG;
pub type PWDF_IO_QUEUE_CONFIG = *mut _WDF_IO_QUEUE_CONFIG;

/// `Parameters.Create` of `WDF_REQUEST_PARAMETERS` (`POINTER_ALIGNMENT` fields padded).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_1 {
    pub SecurityContext: PVOID,
    pub Options: ULONG,
    pub __bindgen_padding_0: u32,
    pub FileAttributes: USHORT,
    pub ShareAccess: USHORT,
    pub __bindgen_padding_1: u32,
    pub EaLength: ULONG,
    pub __bindgen_padding_2: u32,
}

/// `Parameters.Read` and `Parameters.Write`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2 {
    pub Length: usize,
    pub Key: ULONG,
    pub DeviceOffset: LONGLONG,
}

/// `Parameters.DeviceIoControl`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4 {
    pub OutputBufferLength: usize,
    pub InputBufferLength: usize,
    pub IoControlCode: ULONG,
    pub Type3InputBuffer: PVOID,
}

/// The `Parameters` union of `WDF_REQUEST_PARAMETERS`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union _WDF_REQUEST_PARAMETERS__bindgen_ty_1 {
    pub Create: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_1,
    pub Read: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2,
    pub Write: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2,
    pub DeviceIoControl: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct _WDF_REQUEST_PARAMETERS {
    pub Size: USHORT,
    pub MinorFunction: UCHAR,
    pub Type: WDF_REQUEST_TYPE,
    pub Parameters: _WDF_REQUEST_PARAMETERS__bindgen_ty_1,
}
pub type WDF_REQUEST_PARAMETERS = _WDF_REQUEST_PARAMETERS;
pub type PWDF_REQUEST_PARAMETERS = *mut _WDF_REQUEST_PARAMETERS;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDF_REQUEST_SEND_OPTIONS {
    pub Size: ULONG,
    pub Flags: ULONG,
    pub Timeout: LONGLONG,
}
pub type WDF_REQUEST_SEND_OPTIONS = _WDF_REQUEST_SEND_OPTIONS;

/// `u.BufferType` of `WDF_MEMORY_DESCRIPTOR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1 {
    pub Buffer: PVOID,
    pub Length: ULONG,
}

/// `u.MdlType` of `WDF_MEMORY_DESCRIPTOR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_2 {
    pub Mdl: PMDL,
    pub BufferLength: ULONG,
}

/// `u.HandleType` of `WDF_MEMORY_DESCRIPTOR`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3 {
    pub Memory: WDFMEMORY,
    pub Offsets: PWDFMEMORY_OFFSET,
}

/// `u` of `WDF_MEMORY_DESCRIPTOR`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1 {
    pub BufferType: _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_1,
    pub MdlType: _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_2,
    pub HandleType: _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1__bindgen_ty_3,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct _WDF_MEMORY_DESCRIPTOR {
    pub Type: WDF_MEMORY_DESCRIPTOR_TYPE,
    pub u: _WDF_MEMORY_DESCRIPTOR__bindgen_ty_1,
}
pub type WDF_MEMORY_DESCRIPTOR = _WDF_MEMORY_DESCRIPTOR;
pub type PWDF_MEMORY_DESCRIPTOR = *mut _WDF_MEMORY_DESCRIPTOR;
pub type PULONG_PTR = *mut ULONG_PTR;

/// `WDFMEMORY_OFFSET`: a part of a memory object's buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct _WDFMEMORY_OFFSET {
    pub BufferOffset: usize,
    pub BufferLength: usize,
}
pub type WDFMEMORY_OFFSET = _WDFMEMORY_OFFSET;
pub type PWDFMEMORY_OFFSET = *mut _WDFMEMORY_OFFSET;
pub type PWDF_REQUEST_SEND_OPTIONS = *mut _WDF_REQUEST_SEND_OPTIONS;

/// `Parameters.Ioctl` of `WDF_REQUEST_COMPLETION_PARAMS` (input and output memory).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_3 {
    pub IoControlCode: ULONG,
    pub InputBuffer: WDFMEMORY,
    pub InputOffset: usize,
    pub OutputBuffer: WDFMEMORY,
    pub OutputOffset: usize,
    pub OutputLength: usize,
}

/// `Parameters.Read` / `Parameters.Write` of `WDF_REQUEST_COMPLETION_PARAMS`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_1 {
    pub Buffer: WDFMEMORY,
    pub Length: usize,
    pub Offset: usize,
}

/// The `Parameters` union of `WDF_REQUEST_COMPLETION_PARAMS`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1 {
    pub Write: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_1,
    pub Read: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_1,
    pub Ioctl: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1__bindgen_ty_3,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct _WDF_REQUEST_COMPLETION_PARAMS {
    pub Size: ULONG,
    pub Type: WDF_REQUEST_TYPE,
    pub IoStatus: IO_STATUS_BLOCK,
    pub Parameters: _WDF_REQUEST_COMPLETION_PARAMS__bindgen_ty_1,
}
pub type WDF_REQUEST_COMPLETION_PARAMS = _WDF_REQUEST_COMPLETION_PARAMS;
pub type PWDF_REQUEST_COMPLETION_PARAMS = *mut _WDF_REQUEST_COMPLETION_PARAMS;

/// bindgen's `Default` for these structures is all-zero (`memset(0)`, as the `_INIT` macros
/// start); written out field by field so no `unsafe` is needed.
impl Default for _WDF_OBJECT_ATTRIBUTES {
    fn default() -> Self {
        Self {
            Size: 0,
            EvtCleanupCallback: None,
            EvtDestroyCallback: None,
            ExecutionLevel: 0,
            SynchronizationScope: 0,
            ParentObject: core::ptr::null_mut(),
            ContextSizeOverride: 0,
            ContextTypeInfo: core::ptr::null(),
        }
    }
}

impl Default for _WDF_IO_QUEUE_CONFIG {
    fn default() -> Self {
        Self {
            Size: 0,
            DispatchType: 0,
            PowerManaged: 0,
            AllowZeroLengthRequests: 0,
            DefaultQueue: 0,
            EvtIoDefault: None,
            EvtIoRead: None,
            EvtIoWrite: None,
            EvtIoDeviceControl: None,
            EvtIoInternalDeviceControl: None,
            EvtIoStop: None,
            EvtIoResume: None,
            EvtIoCanceledOnQueue: None,
            Settings: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1 {
                Parallel: _WDF_IO_QUEUE_CONFIG__bindgen_ty_1__bindgen_ty_1 {
                    NumberOfPresentedRequests: 0,
                },
            },
            Driver: core::ptr::null_mut(),
        }
    }
}

impl Default for _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4 {
    fn default() -> Self {
        Self {
            OutputBufferLength: 0,
            InputBufferLength: 0,
            IoControlCode: 0,
            Type3InputBuffer: core::ptr::null_mut(),
        }
    }
}

impl Default for _WDF_REQUEST_PARAMETERS {
    fn default() -> Self {
        Self {
            Size: 0,
            MinorFunction: 0,
            Type: 0,
            Parameters: _WDF_REQUEST_PARAMETERS__bindgen_ty_1 {
                DeviceIoControl: _WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4::default(),
            },
        }
    }
}

pub const WDF_NO_OBJECT_ATTRIBUTES: PWDF_OBJECT_ATTRIBUTES = core::ptr::null_mut();
pub const WDF_NO_SEND_OPTIONS: PVOID = core::ptr::null_mut();
pub const WDF_NO_HANDLE: PVOID = core::ptr::null_mut();
pub const WDF_NO_CONTEXT: PVOID = core::ptr::null_mut();

// ---- the function table ----------------------------------------------------------------------

/// `WDFFUNC`: an entry of the function table, cast to its `PFN_*` type before the call.
pub type WDFFUNC = Option<unsafe extern "C" fn()>;

/// `WdfFunctions_01033`: the framework's function table of KMDF 1.33, as the loader binds it
/// into an image. Never written: every image on the host shares the simulated framework's.
#[unsafe(no_mangle)]
pub static mut WdfFunctions_01033: *const WDFFUNC = super::table::TABLE.as_ptr();

/// `WdfDriverGlobals` of the image whose code this thread is running (null outside any call
/// the simulated framework made into a driver: the framework reports a call made then).
///
/// Out of line: on Windows this is a load of the image's global, on the host a per-thread
/// lookup, which `.ci/ioctl-cost` leaves out of a driver's instruction count by its name.
#[must_use]
#[inline(never)]
pub fn WdfDriverGlobals() -> PWDF_DRIVER_GLOBALS {
    super::current_globals()
}

/// Declares each WDF function: its `PFN_*` type (the driver globals first), its table index,
/// and the typed call [`call_unsafe_wdf_function_binding!`] expands to.
macro_rules! wdf_functions {
    ($(
        $name:ident / $index_name:ident / $pfn:ident = $index:literal
            ($($arg:ident: $ty:ty),*) $(-> $ret:ty)?;
    )*) => {
        /// `_WDFFUNCENUM`: the table indices of KMDF 1.33 (`wdffuncenum.h`).
        pub mod _WDFFUNCENUM {
            pub type Type = i32;
            $(pub const $index_name: Type = $index;)*
            pub const WdfFunctionTableNumEntries: Type = 458;
        }

        $(
            pub type $pfn = Option<
                unsafe extern "C" fn(DriverGlobals: PWDF_DRIVER_GLOBALS, $($arg: $ty),*) $(-> $ret)?
            >;
        )*

        /// The calls behind [`call_unsafe_wdf_function_binding!`], one per function.
        #[doc(hidden)]
        pub mod calls {
            use super::*;

            $(
                /// Looks the function up in [`WdfFunctions_01033`] and calls it with the
                /// image's driver globals first, as wdk-sys's expansion does.
                ///
                /// # Safety
                ///
                /// The function's own contract (its KMDF documentation).
                #[inline(always)]
                #[allow(clippy::too_many_arguments, reason = "the DDI's own parameters")]
                pub unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: a plain read of the static, which is never written.
                    let table = unsafe { WdfFunctions_01033 };
                    // SAFETY: the table has `WdfFunctionTableNumEntries` entries (it is the
                    // simulated framework's static table) and the index is a KMDF 1.33 table
                    // index below that count.
                    let entry = unsafe { *table.add(_WDFFUNCENUM::$index_name as usize) };
                    // SAFETY: the entry at this index has this function's type: the table is
                    // built from the same list (`crate::table`), casting each function to
                    // `WDFFUNC` and nothing else.
                    let function: $pfn = unsafe { core::mem::transmute::<WDFFUNC, $pfn>(entry) };
                    match function {
                        // SAFETY: the caller upholds the function's contract.
                        Some(function) => unsafe { function(WdfDriverGlobals(), $($arg),*) },
                        None => unreachable!(concat!(
                            stringify!($name),
                            " is declared but has no entry in the simulated framework's table"
                        )),
                    }
                }
            )*
        }
    };
}

/// `call_unsafe_wdf_function_binding!(WdfXxx, args…)`: calls the framework function `WdfXxx`
/// through the function table with the image's driver globals first. Use it inside `unsafe`,
/// with the arguments the function's documentation requires.
#[macro_export]
macro_rules! call_unsafe_wdf_function_binding {
    ($name:ident $(, $argument:expr)* $(,)?) => {
        $crate::bindings::calls::$name($($argument),*)
    };
}

pub use crate::call_unsafe_wdf_function_binding;

wdf_functions! {
    WdfControlDeviceInitAllocate / WdfControlDeviceInitAllocateTableIndex / PFN_WDFCONTROLDEVICEINITALLOCATE = 25
        (Driver: WDFDRIVER, SDDLString: PCUNICODE_STRING) -> PWDFDEVICE_INIT;
    WdfControlFinishInitializing / WdfControlFinishInitializingTableIndex / PFN_WDFCONTROLFINISHINITIALIZING = 27
        (Device: WDFDEVICE);
    WdfWdmDeviceGetWdfDeviceHandle / WdfWdmDeviceGetWdfDeviceHandleTableIndex / PFN_WDFWDMDEVICEGETWDFDEVICEHANDLE = 30
        (DeviceObject: PDEVICE_OBJECT) -> WDFDEVICE;
    WdfDeviceWdmGetDeviceObject / WdfDeviceWdmGetDeviceObjectTableIndex / PFN_WDFDEVICEWDMGETDEVICEOBJECT = 31
        (Device: WDFDEVICE) -> PDEVICE_OBJECT;
    WdfDeviceGetDefaultQueue / WdfDeviceGetDefaultQueueTableIndex / PFN_WDFDEVICEGETDEFAULTQUEUE = 92
        (Device: WDFDEVICE) -> WDFQUEUE;
    WdfDeviceGetIoTarget / WdfDeviceGetIoTargetTableIndex / PFN_WDFDEVICEGETIOTARGET = 42
        (Device: WDFDEVICE) -> WDFIOTARGET;
    WdfDeviceInitFree / WdfDeviceInitFreeTableIndex / PFN_WDFDEVICEINITFREE = 54
        (DeviceInit: PWDFDEVICE_INIT);
    WdfDeviceInitSetPnpPowerEventCallbacks / WdfDeviceInitSetPnpPowerEventCallbacksTableIndex / PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS = 55
        (DeviceInit: PWDFDEVICE_INIT, PnpPowerEventCallbacks: PWDF_PNPPOWER_EVENT_CALLBACKS);
    WdfDeviceInitSetIoType / WdfDeviceInitSetIoTypeTableIndex / PFN_WDFDEVICEINITSETIOTYPE = 61
        (DeviceInit: PWDFDEVICE_INIT, IoType: WDF_DEVICE_IO_TYPE);
    WdfDeviceInitSetExclusive / WdfDeviceInitSetExclusiveTableIndex / PFN_WDFDEVICEINITSETEXCLUSIVE = 62
        (DeviceInit: PWDFDEVICE_INIT, IsExclusive: BOOLEAN);
    WdfDeviceInitSetDeviceType / WdfDeviceInitSetDeviceTypeTableIndex / PFN_WDFDEVICEINITSETDEVICETYPE = 66
        (DeviceInit: PWDFDEVICE_INIT, DeviceType: ULONG);
    WdfDeviceInitAssignName / WdfDeviceInitAssignNameTableIndex / PFN_WDFDEVICEINITASSIGNNAME = 67
        (DeviceInit: PWDFDEVICE_INIT, DeviceName: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceInitSetCharacteristics / WdfDeviceInitSetCharacteristicsTableIndex / PFN_WDFDEVICEINITSETCHARACTERISTICS = 70
        (DeviceInit: PWDFDEVICE_INIT, DeviceCharacteristics: ULONG, OrInValues: BOOLEAN);
    WdfDeviceInitSetFileObjectConfig / WdfDeviceInitSetFileObjectConfigTableIndex / PFN_WDFDEVICEINITSETFILEOBJECTCONFIG = 71
        (DeviceInit: PWDFDEVICE_INIT, FileObjectConfig: PWDF_FILEOBJECT_CONFIG, FileObjectAttributes: PWDF_OBJECT_ATTRIBUTES);
    WdfDeviceInitSetRequestAttributes / WdfDeviceInitSetRequestAttributesTableIndex / PFN_WDFDEVICEINITSETREQUESTATTRIBUTES = 72
        (DeviceInit: PWDFDEVICE_INIT, RequestAttributes: PWDF_OBJECT_ATTRIBUTES);
    WdfDeviceCreate / WdfDeviceCreateTableIndex / PFN_WDFDEVICECREATE = 75
        (DeviceInit: *mut PWDFDEVICE_INIT, DeviceAttributes: PWDF_OBJECT_ATTRIBUTES, Device: *mut WDFDEVICE) -> NTSTATUS;
    WdfDeviceCreateDeviceInterface / WdfDeviceCreateDeviceInterfaceTableIndex / PFN_WDFDEVICECREATEDEVICEINTERFACE = 77
        (Device: WDFDEVICE, InterfaceClassGUID: *const GUID, ReferenceString: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceCreateSymbolicLink / WdfDeviceCreateSymbolicLinkTableIndex / PFN_WDFDEVICECREATESYMBOLICLINK = 80
        (Device: WDFDEVICE, SymbolicLinkName: PCUNICODE_STRING) -> NTSTATUS;
    WdfDeviceConfigureRequestDispatching / WdfDeviceConfigureRequestDispatchingTableIndex / PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING = 93
        (Device: WDFDEVICE, Queue: WDFQUEUE, RequestType: WDF_REQUEST_TYPE) -> NTSTATUS;
    WdfDriverCreate / WdfDriverCreateTableIndex / PFN_WDFDRIVERCREATE = 116
        (DriverObject: PDRIVER_OBJECT, RegistryPath: PCUNICODE_STRING, DriverAttributes: PWDF_OBJECT_ATTRIBUTES, DriverConfig: PWDF_DRIVER_CONFIG, Driver: *mut WDFDRIVER) -> NTSTATUS;
    WdfDriverOpenParametersRegistryKey / WdfDriverOpenParametersRegistryKeyTableIndex / PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY = 119
        (Driver: WDFDRIVER, DesiredAccess: ACCESS_MASK, KeyAttributes: PWDF_OBJECT_ATTRIBUTES, Key: *mut WDFKEY) -> NTSTATUS;
    WdfFileObjectGetDevice / WdfFileObjectGetDeviceTableIndex / PFN_WDFFILEOBJECTGETDEVICE = 139
        (FileObject: WDFFILEOBJECT) -> WDFDEVICE;
    WdfFdoInitSetFilter / WdfFdoInitSetFilterTableIndex / PFN_WDFFDOINITSETFILTER = 129
        (DeviceInit: PWDFDEVICE_INIT);
    WdfIoQueueCreate / WdfIoQueueCreateTableIndex / PFN_WDFIOQUEUECREATE = 152
        (Device: WDFDEVICE, Config: PWDF_IO_QUEUE_CONFIG, QueueAttributes: PWDF_OBJECT_ATTRIBUTES, Queue: *mut WDFQUEUE) -> NTSTATUS;
    WdfIoQueueGetState / WdfIoQueueGetStateTableIndex / PFN_WDFIOQUEUEGETSTATE = 153
        (Queue: WDFQUEUE, QueueRequests: PULONG, DriverRequests: PULONG) -> WDF_IO_QUEUE_STATE;
    WdfIoQueueStart / WdfIoQueueStartTableIndex / PFN_WDFIOQUEUESTART = 154
        (Queue: WDFQUEUE);
    WdfIoQueueStop / WdfIoQueueStopTableIndex / PFN_WDFIOQUEUESTOP = 155
        (Queue: WDFQUEUE, StopComplete: PFN_WDF_IO_QUEUE_STATE, Context: WDFCONTEXT);
    WdfIoQueueStopSynchronously / WdfIoQueueStopSynchronouslyTableIndex / PFN_WDFIOQUEUESTOPSYNCHRONOUSLY = 156
        (Queue: WDFQUEUE);
    WdfIoQueueGetDevice / WdfIoQueueGetDeviceTableIndex / PFN_WDFIOQUEUEGETDEVICE = 157
        (Queue: WDFQUEUE) -> WDFDEVICE;
    WdfIoQueueRetrieveNextRequest / WdfIoQueueRetrieveNextRequestTableIndex / PFN_WDFIOQUEUERETRIEVENEXTREQUEST = 158
        (Queue: WDFQUEUE, OutRequest: *mut WDFREQUEST) -> NTSTATUS;
    WdfIoQueueRetrieveRequestByFileObject / WdfIoQueueRetrieveRequestByFileObjectTableIndex / PFN_WDFIOQUEUERETRIEVEREQUESTBYFILEOBJECT = 159
        (Queue: WDFQUEUE, FileObject: WDFFILEOBJECT, OutRequest: *mut WDFREQUEST) -> NTSTATUS;
    WdfIoQueuePurgeSynchronously / WdfIoQueuePurgeSynchronouslyTableIndex / PFN_WDFIOQUEUEPURGESYNCHRONOUSLY = 164
        (Queue: WDFQUEUE);
    WdfIoTargetSendIoctlSynchronously / WdfIoTargetSendIoctlSynchronouslyTableIndex / PFN_WDFIOTARGETSENDIOCTLSYNCHRONOUSLY = 186
        (IoTarget: WDFIOTARGET, Request: WDFREQUEST, IoctlCode: ULONG, InputBuffer: PWDF_MEMORY_DESCRIPTOR, OutputBuffer: PWDF_MEMORY_DESCRIPTOR, RequestOptions: PWDF_REQUEST_SEND_OPTIONS, BytesReturned: PULONG_PTR) -> NTSTATUS;
    WdfIoTargetSendInternalIoctlSynchronously / WdfIoTargetSendInternalIoctlSynchronouslyTableIndex / PFN_WDFIOTARGETSENDINTERNALIOCTLSYNCHRONOUSLY = 188
        (IoTarget: WDFIOTARGET, Request: WDFREQUEST, IoctlCode: ULONG, InputBuffer: PWDF_MEMORY_DESCRIPTOR, OutputBuffer: PWDF_MEMORY_DESCRIPTOR, RequestOptions: PWDF_REQUEST_SEND_OPTIONS, BytesReturned: PULONG_PTR) -> NTSTATUS;
    WdfObjectGetTypedContextWorker / WdfObjectGetTypedContextWorkerTableIndex / PFN_WDFOBJECTGETTYPEDCONTEXTWORKER = 202
        (Handle: WDFOBJECT, TypeInfo: PCWDF_OBJECT_CONTEXT_TYPE_INFO) -> PVOID;
    WdfObjectAllocateContext / WdfObjectAllocateContextTableIndex / PFN_WDFOBJECTALLOCATECONTEXT = 203
        (Handle: WDFOBJECT, ContextAttributes: PWDF_OBJECT_ATTRIBUTES, Context: *mut PVOID) -> NTSTATUS;
    WdfObjectReferenceActual / WdfObjectReferenceActualTableIndex / PFN_WDFOBJECTREFERENCEACTUAL = 205
        (Handle: WDFOBJECT, Tag: PVOID, Line: LONG, File: PCCH);
    WdfObjectDereferenceActual / WdfObjectDereferenceActualTableIndex / PFN_WDFOBJECTDEREFERENCEACTUAL = 206
        (Handle: WDFOBJECT, Tag: PVOID, Line: LONG, File: PCCH);
    WdfIoTargetFormatRequestForIoctl / WdfIoTargetFormatRequestForIoctlTableIndex / PFN_WDFIOTARGETFORMATREQUESTFORIOCTL = 187
        (IoTarget: WDFIOTARGET, Request: WDFREQUEST, IoctlCode: ULONG, InputBuffer: WDFMEMORY, InputBufferOffset: PWDFMEMORY_OFFSET, OutputBuffer: WDFMEMORY, OutputBufferOffset: PWDFMEMORY_OFFSET) -> NTSTATUS;
    WdfIoTargetFormatRequestForInternalIoctl / WdfIoTargetFormatRequestForInternalIoctlTableIndex / PFN_WDFIOTARGETFORMATREQUESTFORINTERNALIOCTL = 189
        (IoTarget: WDFIOTARGET, Request: WDFREQUEST, IoctlCode: ULONG, InputBuffer: WDFMEMORY, InputBufferOffset: PWDFMEMORY_OFFSET, OutputBuffer: WDFMEMORY, OutputBufferOffset: PWDFMEMORY_OFFSET) -> NTSTATUS;
    WdfMemoryCreate / WdfMemoryCreateTableIndex / PFN_WDFMEMORYCREATE = 192
        (Attributes: PWDF_OBJECT_ATTRIBUTES, PoolType: POOL_TYPE, PoolTag: ULONG, BufferSize: usize, Memory: *mut WDFMEMORY, Buffer: *mut PVOID) -> NTSTATUS;
    WdfMemoryGetBuffer / WdfMemoryGetBufferTableIndex / PFN_WDFMEMORYGETBUFFER = 194
        (Memory: WDFMEMORY, BufferSize: *mut usize) -> PVOID;
    WdfLookasideListCreate / WdfLookasideListCreateTableIndex / PFN_WDFLOOKASIDELISTCREATE = 198
        (LookasideAttributes: PWDF_OBJECT_ATTRIBUTES, BufferSize: usize, PoolType: POOL_TYPE, MemoryAttributes: PWDF_OBJECT_ATTRIBUTES, PoolTag: ULONG, Lookaside: *mut WDFLOOKASIDE) -> NTSTATUS;
    WdfMemoryCreateFromLookaside / WdfMemoryCreateFromLookasideTableIndex / PFN_WDFMEMORYCREATEFROMLOOKASIDE = 199
        (Lookaside: WDFLOOKASIDE, Memory: *mut WDFMEMORY) -> NTSTATUS;
    WdfObjectDelete / WdfObjectDeleteTableIndex / PFN_WDFOBJECTDELETE = 208
        (Object: WDFOBJECT);
    WdfRegistryClose / WdfRegistryCloseTableIndex / PFN_WDFREGISTRYCLOSE = 231
        (Key: WDFKEY);
    WdfRegistryQueryULong / WdfRegistryQueryULongTableIndex / PFN_WDFREGISTRYQUERYULONG = 240
        (Key: WDFKEY, ValueName: PCUNICODE_STRING, Value: PULONG) -> NTSTATUS;
    WdfRequestCreate / WdfRequestCreateTableIndex / PFN_WDFREQUESTCREATE = 247
        (RequestAttributes: PWDF_OBJECT_ATTRIBUTES, IoTarget: WDFIOTARGET, Request: *mut WDFREQUEST) -> NTSTATUS;
    WdfRequestFormatRequestUsingCurrentType / WdfRequestFormatRequestUsingCurrentTypeTableIndex / PFN_WDFREQUESTFORMATREQUESTUSINGCURRENTTYPE = 251
        (Request: WDFREQUEST);
    WdfRequestSend / WdfRequestSendTableIndex / PFN_WDFREQUESTSEND = 253
        (Request: WDFREQUEST, Target: WDFIOTARGET, Options: PWDF_REQUEST_SEND_OPTIONS) -> BOOLEAN;
    WdfRequestGetStatus / WdfRequestGetStatusTableIndex / PFN_WDFREQUESTGETSTATUS = 254
        (Request: WDFREQUEST) -> NTSTATUS;
    WdfRequestUnmarkCancelable / WdfRequestUnmarkCancelableTableIndex / PFN_WDFREQUESTUNMARKCANCELABLE = 256
        (Request: WDFREQUEST) -> NTSTATUS;
    WdfRequestIsCanceled / WdfRequestIsCanceledTableIndex / PFN_WDFREQUESTISCANCELED = 257
        (Request: WDFREQUEST) -> BOOLEAN;
    WdfRequestSetCompletionRoutine / WdfRequestSetCompletionRoutineTableIndex / PFN_WDFREQUESTSETCOMPLETIONROUTINE = 260
        (Request: WDFREQUEST, CompletionRoutine: PFN_WDF_REQUEST_COMPLETION_ROUTINE, CompletionContext: WDFCONTEXT);
    WdfRequestCompleteWithInformation / WdfRequestCompleteWithInformationTableIndex / PFN_WDFREQUESTCOMPLETEWITHINFORMATION = 265
        (Request: WDFREQUEST, Status: NTSTATUS, Information: ULONG_PTR);
    WdfRequestGetParameters / WdfRequestGetParametersTableIndex / PFN_WDFREQUESTGETPARAMETERS = 266
        (Request: WDFREQUEST, Parameters: PWDF_REQUEST_PARAMETERS);
    WdfRequestRetrieveInputBuffer / WdfRequestRetrieveInputBufferTableIndex / PFN_WDFREQUESTRETRIEVEINPUTBUFFER = 269
        (Request: WDFREQUEST, MinimumRequiredLength: usize, Buffer: *mut PVOID, Length: *mut usize) -> NTSTATUS;
    WdfRequestRetrieveOutputBuffer / WdfRequestRetrieveOutputBufferTableIndex / PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER = 270
        (Request: WDFREQUEST, MinimumRequiredSize: usize, Buffer: *mut PVOID, Length: *mut usize) -> NTSTATUS;
    WdfRequestSetInformation / WdfRequestSetInformationTableIndex / PFN_WDFREQUESTSETINFORMATION = 275
        (Request: WDFREQUEST, Information: ULONG_PTR);
    WdfRequestGetInformation / WdfRequestGetInformationTableIndex / PFN_WDFREQUESTGETINFORMATION = 276
        (Request: WDFREQUEST) -> ULONG_PTR;
    WdfRequestForwardToIoQueue / WdfRequestForwardToIoQueueTableIndex / PFN_WDFREQUESTFORWARDTOIOQUEUE = 281
        (Request: WDFREQUEST, DestinationQueue: WDFQUEUE) -> NTSTATUS;
    WdfRequestGetIoQueue / WdfRequestGetIoQueueTableIndex / PFN_WDFREQUESTGETIOQUEUE = 282
        (Request: WDFREQUEST) -> WDFQUEUE;
    WdfRequestGetFileObject / WdfRequestGetFileObjectTableIndex / PFN_WDFREQUESTGETFILEOBJECT = 277
        (Request: WDFREQUEST) -> WDFFILEOBJECT;
    WdfRequestStopAcknowledge / WdfRequestStopAcknowledgeTableIndex / PFN_WDFREQUESTSTOPACKNOWLEDGE = 284
        (Request: WDFREQUEST, Requeue: BOOLEAN);
    WdfWaitLockCreate / WdfWaitLockCreateTableIndex / PFN_WDFWAITLOCKCREATE = 312
        (LockAttributes: PWDF_OBJECT_ATTRIBUTES, Lock: *mut WDFWAITLOCK) -> NTSTATUS;
    WdfWaitLockAcquire / WdfWaitLockAcquireTableIndex / PFN_WDFWAITLOCKACQUIRE = 313
        (Lock: WDFWAITLOCK, Timeout: PLONGLONG) -> NTSTATUS;
    WdfWaitLockRelease / WdfWaitLockReleaseTableIndex / PFN_WDFWAITLOCKRELEASE = 314
        (Lock: WDFWAITLOCK);
    WdfTimerCreate / WdfTimerCreateTableIndex / PFN_WDFTIMERCREATE = 318
        (Config: PWDF_TIMER_CONFIG, Attributes: PWDF_OBJECT_ATTRIBUTES, Timer: *mut WDFTIMER) -> NTSTATUS;
    WdfTimerStart / WdfTimerStartTableIndex / PFN_WDFTIMERSTART = 319
        (Timer: WDFTIMER, DueTime: LONGLONG) -> BOOLEAN;
    WdfTimerStop / WdfTimerStopTableIndex / PFN_WDFTIMERSTOP = 320
        (Timer: WDFTIMER, Wait: BOOLEAN) -> BOOLEAN;
    WdfVerifierDbgBreakPoint / WdfVerifierDbgBreakPointTableIndex / PFN_WDFVERIFIERDBGBREAKPOINT = 367
        ();
    WdfWorkItemCreate / WdfWorkItemCreateTableIndex / PFN_WDFWORKITEMCREATE = 379
        (Config: PWDF_WORKITEM_CONFIG, Attributes: PWDF_OBJECT_ATTRIBUTES, WorkItem: *mut WDFWORKITEM) -> NTSTATUS;
    WdfWorkItemEnqueue / WdfWorkItemEnqueueTableIndex / PFN_WDFWORKITEMENQUEUE = 380
        (WorkItem: WDFWORKITEM);
    WdfWorkItemFlush / WdfWorkItemFlushTableIndex / PFN_WDFWORKITEMFLUSH = 382
        (WorkItem: WDFWORKITEM);
    WdfRequestMarkCancelableEx / WdfRequestMarkCancelableExTableIndex / PFN_WDFREQUESTMARKCANCELABLEEX = 393
        (Request: WDFREQUEST, EvtRequestCancel: PFN_WDF_REQUEST_CANCEL) -> NTSTATUS;
}

// ---- layouts: offsets and sizes of the WDK's x64 headers -------------------------------------

macro_rules! layout {
    ($ty:ty, size $size:literal $(, $field:ident @ $offset:literal)*) => {
        const _: () = assert!(size_of::<$ty>() == $size);
        $(const _: () = assert!(core::mem::offset_of!($ty, $field) == $offset);)*
    };
}

layout!(WDF_DRIVER_GLOBALS, size 56, DriverFlags @ 8, DriverTag @ 12, DriverName @ 16, DisplaceDriverUnload @ 48);
layout!(WDF_OBJECT_CONTEXT_TYPE_INFO, size 40, ContextName @ 8, ContextSize @ 16, UniqueType @ 24, EvtDriverGetUniqueContextType @ 32);
layout!(WDF_OBJECT_ATTRIBUTES, size 56, EvtCleanupCallback @ 8, EvtDestroyCallback @ 16, ExecutionLevel @ 24, SynchronizationScope @ 28, ParentObject @ 32, ContextSizeOverride @ 40, ContextTypeInfo @ 48);
layout!(WDF_DRIVER_CONFIG, size 32, EvtDriverDeviceAdd @ 8, EvtDriverUnload @ 16, DriverInitFlags @ 24, DriverPoolTag @ 28);
layout!(WDF_WORKITEM_CONFIG, size 24, EvtWorkItemFunc @ 8, AutomaticSerialization @ 16);
layout!(WDF_TIMER_CONFIG, size 40, EvtTimerFunc @ 8, Period @ 16, AutomaticSerialization @ 20, TolerableDelay @ 24, UseHighResolutionTimer @ 32);
layout!(WDF_PNPPOWER_EVENT_CALLBACKS, size 144, EvtDeviceD0Entry @ 8, EvtDeviceD0Exit @ 24, EvtDevicePrepareHardware @ 40, EvtDeviceReleaseHardware @ 48, EvtDeviceSelfManagedIoCleanup @ 56, EvtDeviceSelfManagedIoFlush @ 64, EvtDeviceSelfManagedIoInit @ 72, EvtDeviceSelfManagedIoSuspend @ 80, EvtDeviceSelfManagedIoRestart @ 88, EvtDeviceSurpriseRemoval @ 96, EvtDeviceUsageNotificationEx @ 136);
layout!(WDF_FILEOBJECT_CONFIG, size 40, EvtDeviceFileCreate @ 8, EvtFileClose @ 16, EvtFileCleanup @ 24, AutoForwardCleanupClose @ 32, FileObjectClass @ 36);
layout!(WDF_IO_QUEUE_CONFIG, size 96, DispatchType @ 4, PowerManaged @ 8, AllowZeroLengthRequests @ 12, DefaultQueue @ 13, EvtIoDefault @ 16, EvtIoRead @ 24, EvtIoWrite @ 32, EvtIoDeviceControl @ 40, EvtIoInternalDeviceControl @ 48, EvtIoStop @ 56, EvtIoResume @ 64, EvtIoCanceledOnQueue @ 72, Settings @ 80, Driver @ 88);
layout!(_WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_1, size 32, Options @ 8, FileAttributes @ 16, ShareAccess @ 18, EaLength @ 24);
layout!(_WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_2, size 24, Key @ 8, DeviceOffset @ 16);
layout!(_WDF_REQUEST_PARAMETERS__bindgen_ty_1__bindgen_ty_4, size 32, InputBufferLength @ 8, IoControlCode @ 16, Type3InputBuffer @ 24);
layout!(WDF_REQUEST_PARAMETERS, size 40, MinorFunction @ 2, Type @ 4, Parameters @ 8);
layout!(WDF_MEMORY_DESCRIPTOR, size 24, u @ 8);
layout!(WDF_REQUEST_SEND_OPTIONS, size 16, Flags @ 4, Timeout @ 8);
layout!(WDF_REQUEST_COMPLETION_PARAMS, size 72, Type @ 4, IoStatus @ 8, Parameters @ 24);
