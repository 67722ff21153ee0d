//! The kernel routines wdm-compat's WDK seam calls (`wdm.h`, `ntddk.h`), as declarations.

#[allow(clippy::wildcard_imports, reason = "the kernel types, as wdk-sys has them at its root")]
use super::wdm::*;
use super::PLARGE_INTEGER;

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
    pub fn IofCompleteRequest(Irp: PIRP, PriorityBoost: CCHAR);
    pub fn IofCallDriver(DeviceObject: PDEVICE_OBJECT, Irp: PIRP) -> NTSTATUS;
    pub fn IoAttachDeviceToDeviceStack(
        SourceDevice: PDEVICE_OBJECT,
        TargetDevice: PDEVICE_OBJECT,
    ) -> PDEVICE_OBJECT;
    pub fn IoDetachDevice(TargetDevice: PDEVICE_OBJECT);
    pub fn IoReleaseCancelSpinLock(Irql: KIRQL);
    pub fn MmMapLockedPagesSpecifyCache(
        MemoryDescriptorList: PMDL,
        AccessMode: KPROCESSOR_MODE,
        CacheType: MEMORY_CACHING_TYPE,
        RequestedAddress: PVOID,
        BugCheckOnFailure: ULONG,
        Priority: ULONG,
    ) -> PVOID;
    pub fn KeAcquireSpinLockRaiseToDpc(SpinLock: PKSPIN_LOCK) -> KIRQL;
    pub fn KeReleaseSpinLock(SpinLock: PKSPIN_LOCK, NewIrql: KIRQL);
    pub fn KeGetCurrentIrql() -> KIRQL;
    pub fn KeDelayExecutionThread(
        WaitMode: KPROCESSOR_MODE,
        Alertable: BOOLEAN,
        Interval: PLARGE_INTEGER,
    ) -> NTSTATUS;
    pub fn KeBugCheckEx(
        BugCheckCode: ULONG,
        BugCheckParameter1: ULONG_PTR,
        BugCheckParameter2: ULONG_PTR,
        BugCheckParameter3: ULONG_PTR,
        BugCheckParameter4: ULONG_PTR,
    ) -> !;
    pub fn ExAllocatePool2(Flags: u64, NumberOfBytes: u64, Tag: ULONG) -> PVOID;
    pub fn ExFreePoolWithTag(P: PVOID, Tag: ULONG);
    pub fn DbgPrint(Format: PCSTR, ...) -> ULONG;
}
