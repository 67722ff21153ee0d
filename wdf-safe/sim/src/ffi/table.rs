//! The function table the framework serves: `WdfFunctions_01033`, one entry per KMDF 1.33 DDI
//! the simulation implements, each at its `_WDFFUNCENUM` index and cast to `WDFFUNC` as the
//! real table's entries are. Every function the bindings declare has its entry here; the
//! others are NULL.

use super::bindings::{_WDFFUNCENUM as Index, *};
use super::entries;

const COUNT: usize = Index::WdfFunctionTableNumEntries as usize;

/// The table.
pub(crate) static TABLE: [WDFFUNC; COUNT] = table();

#[allow(
    clippy::indexing_slicing,
    reason = "constant evaluation: an index out of range fails the build"
)]
const fn table() -> [WDFFUNC; COUNT] {
    let mut table: [WDFFUNC; COUNT] = [None; COUNT];
    macro_rules! entries {
        ($($index:ident: $pfn:ident = $entry:ident;)*) => {$(
            let entry: $pfn = Some(entries::$entry);
            // SAFETY: a function pointer cast to the table's entry type, as KMDF's table
            // holds them; `call_unsafe_wdf_function_binding!` casts it back to `$pfn` (the
            // same list declares both) before calling it.
            table[Index::$index as usize] = unsafe { core::mem::transmute::<$pfn, WDFFUNC>(entry) };
        )*};
    }
    entries! {
        WdfControlDeviceInitAllocateTableIndex: PFN_WDFCONTROLDEVICEINITALLOCATE = WdfControlDeviceInitAllocate;
        WdfControlFinishInitializingTableIndex: PFN_WDFCONTROLFINISHINITIALIZING = WdfControlFinishInitializing;
        WdfWdmDeviceGetWdfDeviceHandleTableIndex: PFN_WDFWDMDEVICEGETWDFDEVICEHANDLE = WdfWdmDeviceGetWdfDeviceHandle;
        WdfDeviceWdmGetDeviceObjectTableIndex: PFN_WDFDEVICEWDMGETDEVICEOBJECT = WdfDeviceWdmGetDeviceObject;
        WdfDeviceGetIoTargetTableIndex: PFN_WDFDEVICEGETIOTARGET = WdfDeviceGetIoTarget;
        WdfDeviceGetDefaultQueueTableIndex: PFN_WDFDEVICEGETDEFAULTQUEUE = WdfDeviceGetDefaultQueue;
        WdfDeviceInitFreeTableIndex: PFN_WDFDEVICEINITFREE = WdfDeviceInitFree;
        WdfDeviceInitSetPnpPowerEventCallbacksTableIndex: PFN_WDFDEVICEINITSETPNPPOWEREVENTCALLBACKS = WdfDeviceInitSetPnpPowerEventCallbacks;
        WdfDeviceInitSetIoTypeTableIndex: PFN_WDFDEVICEINITSETIOTYPE = WdfDeviceInitSetIoType;
        WdfDeviceInitSetExclusiveTableIndex: PFN_WDFDEVICEINITSETEXCLUSIVE = WdfDeviceInitSetExclusive;
        WdfDeviceInitSetDeviceTypeTableIndex: PFN_WDFDEVICEINITSETDEVICETYPE = WdfDeviceInitSetDeviceType;
        WdfDeviceInitAssignNameTableIndex: PFN_WDFDEVICEINITASSIGNNAME = WdfDeviceInitAssignName;
        WdfDeviceInitSetCharacteristicsTableIndex: PFN_WDFDEVICEINITSETCHARACTERISTICS = WdfDeviceInitSetCharacteristics;
        WdfDeviceInitSetFileObjectConfigTableIndex: PFN_WDFDEVICEINITSETFILEOBJECTCONFIG = WdfDeviceInitSetFileObjectConfig;
        WdfDeviceInitSetRequestAttributesTableIndex: PFN_WDFDEVICEINITSETREQUESTATTRIBUTES = WdfDeviceInitSetRequestAttributes;
        WdfDeviceCreateTableIndex: PFN_WDFDEVICECREATE = WdfDeviceCreate;
        WdfDeviceCreateDeviceInterfaceTableIndex: PFN_WDFDEVICECREATEDEVICEINTERFACE = WdfDeviceCreateDeviceInterface;
        WdfDeviceCreateSymbolicLinkTableIndex: PFN_WDFDEVICECREATESYMBOLICLINK = WdfDeviceCreateSymbolicLink;
        WdfDeviceConfigureRequestDispatchingTableIndex: PFN_WDFDEVICECONFIGUREREQUESTDISPATCHING = WdfDeviceConfigureRequestDispatching;
        WdfDriverCreateTableIndex: PFN_WDFDRIVERCREATE = WdfDriverCreate;
        WdfFileObjectGetDeviceTableIndex: PFN_WDFFILEOBJECTGETDEVICE = WdfFileObjectGetDevice;
        WdfFdoInitSetFilterTableIndex: PFN_WDFFDOINITSETFILTER = WdfFdoInitSetFilter;
        WdfIoQueueCreateTableIndex: PFN_WDFIOQUEUECREATE = WdfIoQueueCreate;
        WdfIoQueueGetStateTableIndex: PFN_WDFIOQUEUEGETSTATE = WdfIoQueueGetState;
        WdfIoQueueStartTableIndex: PFN_WDFIOQUEUESTART = WdfIoQueueStart;
        WdfIoQueueStopTableIndex: PFN_WDFIOQUEUESTOP = WdfIoQueueStop;
        WdfIoQueueStopSynchronouslyTableIndex: PFN_WDFIOQUEUESTOPSYNCHRONOUSLY = WdfIoQueueStopSynchronously;
        WdfIoQueueGetDeviceTableIndex: PFN_WDFIOQUEUEGETDEVICE = WdfIoQueueGetDevice;
        WdfIoQueueRetrieveNextRequestTableIndex: PFN_WDFIOQUEUERETRIEVENEXTREQUEST = WdfIoQueueRetrieveNextRequest;
        WdfIoQueueRetrieveRequestByFileObjectTableIndex: PFN_WDFIOQUEUERETRIEVEREQUESTBYFILEOBJECT = WdfIoQueueRetrieveRequestByFileObject;
        WdfIoQueuePurgeSynchronouslyTableIndex: PFN_WDFIOQUEUEPURGESYNCHRONOUSLY = WdfIoQueuePurgeSynchronously;
        WdfIoTargetFormatRequestForIoctlTableIndex: PFN_WDFIOTARGETFORMATREQUESTFORIOCTL = WdfIoTargetFormatRequestForIoctl;
        WdfIoTargetFormatRequestForInternalIoctlTableIndex: PFN_WDFIOTARGETFORMATREQUESTFORINTERNALIOCTL = WdfIoTargetFormatRequestForInternalIoctl;
        WdfMemoryCreateTableIndex: PFN_WDFMEMORYCREATE = WdfMemoryCreate;
        WdfRequestCreateTableIndex: PFN_WDFREQUESTCREATE = WdfRequestCreate;
        WdfIoTargetSendIoctlSynchronouslyTableIndex: PFN_WDFIOTARGETSENDIOCTLSYNCHRONOUSLY = WdfIoTargetSendIoctlSynchronously;
        WdfIoTargetSendInternalIoctlSynchronouslyTableIndex: PFN_WDFIOTARGETSENDINTERNALIOCTLSYNCHRONOUSLY = WdfIoTargetSendInternalIoctlSynchronously;
        WdfObjectGetTypedContextWorkerTableIndex: PFN_WDFOBJECTGETTYPEDCONTEXTWORKER = WdfObjectGetTypedContextWorker;
        WdfObjectAllocateContextTableIndex: PFN_WDFOBJECTALLOCATECONTEXT = WdfObjectAllocateContext;
        WdfObjectReferenceActualTableIndex: PFN_WDFOBJECTREFERENCEACTUAL = WdfObjectReferenceActual;
        WdfObjectDereferenceActualTableIndex: PFN_WDFOBJECTDEREFERENCEACTUAL = WdfObjectDereferenceActual;
        WdfMemoryGetBufferTableIndex: PFN_WDFMEMORYGETBUFFER = WdfMemoryGetBuffer;
        WdfLookasideListCreateTableIndex: PFN_WDFLOOKASIDELISTCREATE = WdfLookasideListCreate;
        WdfMemoryCreateFromLookasideTableIndex: PFN_WDFMEMORYCREATEFROMLOOKASIDE = WdfMemoryCreateFromLookaside;
        WdfObjectDeleteTableIndex: PFN_WDFOBJECTDELETE = WdfObjectDelete;
        WdfRequestFormatRequestUsingCurrentTypeTableIndex: PFN_WDFREQUESTFORMATREQUESTUSINGCURRENTTYPE = WdfRequestFormatRequestUsingCurrentType;
        WdfRequestSendTableIndex: PFN_WDFREQUESTSEND = WdfRequestSend;
        WdfRequestGetStatusTableIndex: PFN_WDFREQUESTGETSTATUS = WdfRequestGetStatus;
        WdfRequestUnmarkCancelableTableIndex: PFN_WDFREQUESTUNMARKCANCELABLE = WdfRequestUnmarkCancelable;
        WdfRequestIsCanceledTableIndex: PFN_WDFREQUESTISCANCELED = WdfRequestIsCanceled;
        WdfRequestSetCompletionRoutineTableIndex: PFN_WDFREQUESTSETCOMPLETIONROUTINE = WdfRequestSetCompletionRoutine;
        WdfRequestCompleteWithInformationTableIndex: PFN_WDFREQUESTCOMPLETEWITHINFORMATION = WdfRequestCompleteWithInformation;
        WdfRequestGetParametersTableIndex: PFN_WDFREQUESTGETPARAMETERS = WdfRequestGetParameters;
        WdfRequestRetrieveInputBufferTableIndex: PFN_WDFREQUESTRETRIEVEINPUTBUFFER = WdfRequestRetrieveInputBuffer;
        WdfRequestRetrieveOutputBufferTableIndex: PFN_WDFREQUESTRETRIEVEOUTPUTBUFFER = WdfRequestRetrieveOutputBuffer;
        WdfRequestSetInformationTableIndex: PFN_WDFREQUESTSETINFORMATION = WdfRequestSetInformation;
        WdfRequestGetInformationTableIndex: PFN_WDFREQUESTGETINFORMATION = WdfRequestGetInformation;
        WdfRequestForwardToIoQueueTableIndex: PFN_WDFREQUESTFORWARDTOIOQUEUE = WdfRequestForwardToIoQueue;
        WdfRequestGetIoQueueTableIndex: PFN_WDFREQUESTGETIOQUEUE = WdfRequestGetIoQueue;
        WdfRequestGetFileObjectTableIndex: PFN_WDFREQUESTGETFILEOBJECT = WdfRequestGetFileObject;
        WdfRequestStopAcknowledgeTableIndex: PFN_WDFREQUESTSTOPACKNOWLEDGE = WdfRequestStopAcknowledge;
        WdfWaitLockCreateTableIndex: PFN_WDFWAITLOCKCREATE = WdfWaitLockCreate;
        WdfWaitLockAcquireTableIndex: PFN_WDFWAITLOCKACQUIRE = WdfWaitLockAcquire;
        WdfWaitLockReleaseTableIndex: PFN_WDFWAITLOCKRELEASE = WdfWaitLockRelease;
        WdfTimerCreateTableIndex: PFN_WDFTIMERCREATE = WdfTimerCreate;
        WdfTimerStartTableIndex: PFN_WDFTIMERSTART = WdfTimerStart;
        WdfTimerStopTableIndex: PFN_WDFTIMERSTOP = WdfTimerStop;
        WdfDriverOpenParametersRegistryKeyTableIndex: PFN_WDFDRIVEROPENPARAMETERSREGISTRYKEY = WdfDriverOpenParametersRegistryKey;
        WdfRegistryCloseTableIndex: PFN_WDFREGISTRYCLOSE = WdfRegistryClose;
        WdfRegistryQueryULongTableIndex: PFN_WDFREGISTRYQUERYULONG = WdfRegistryQueryULong;
        WdfWorkItemCreateTableIndex: PFN_WDFWORKITEMCREATE = WdfWorkItemCreate;
        WdfWorkItemEnqueueTableIndex: PFN_WDFWORKITEMENQUEUE = WdfWorkItemEnqueue;
        WdfWorkItemFlushTableIndex: PFN_WDFWORKITEMFLUSH = WdfWorkItemFlush;
        WdfVerifierDbgBreakPointTableIndex: PFN_WDFVERIFIERDBGBREAKPOINT = WdfVerifierDbgBreakPoint;
        WdfRequestMarkCancelableExTableIndex: PFN_WDFREQUESTMARKCANCELABLEEX = WdfRequestMarkCancelableEx;
    }
    table
}
