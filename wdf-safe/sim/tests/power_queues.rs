//! Power-managed queues as C drivers meet them, through raw calls: an `EvtIoStop` that
//! neither acknowledges nor completes, a power-managed queue without one, an acknowledgement
//! outside `EvtIoStop`, and a requeueing acknowledgement (the request is presented again in
//! D0), and a synchronous stop of a queue being deleted (WDF_QUEUE_FATAL_ERROR). The safe API
//! makes the first three compile errors (`wdf_safe::io_stop`); here the
//! simulated verifier reports them by SDV rule.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use core::ptr::null_mut;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

use kmdf_sim::bindings::{
    _WDF_IO_QUEUE_DISPATCH_TYPE as Dispatch, _WDF_TRI_STATE as Tri, NTSTATUS, PCUNICODE_STRING,
    PDRIVER_OBJECT, PFN_WDF_IO_QUEUE_IO_STOP, PWDFDEVICE_INIT, WDF_DRIVER_CONFIG,
    WDF_IO_QUEUE_CONFIG, WDF_NO_OBJECT_ATTRIBUTES, WDFDEVICE, WDFDRIVER, WDFQUEUE, WDFREQUEST,
    call_unsafe_wdf_function_binding,
};
use wdm_compat::NtStatus;
use wdm_compat::host::{DeviceNodeConfig, IoManager, ScriptedDriver, flags, major};

/// What each test's driver does in `EvtIoStop` (the tests run one at a time: see `LOCK`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnStop {
    /// No `EvtIoStop` registered.
    None,
    /// Registered, and returns without acknowledging.
    Ignore,
    /// Acknowledges with `Requeue = TRUE`.
    Requeue,
}

static LOCK: Mutex<()> = Mutex::new(());
static ON_STOP: Mutex<OnStop> = Mutex::new(OnStop::None);
/// The read the driver holds.
static HELD: AtomicPtr<kmdf_sim::bindings::WDFREQUEST__> = AtomicPtr::new(null_mut());
static READS: AtomicU32 = AtomicU32::new(0);
/// Whether `EvtIoRead` acknowledges its request (which only `EvtIoStop` may do).
static ACK_IN_READ: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn evt_io_read(_queue: WDFQUEUE, request: WDFREQUEST, _length: usize) {
    READS.fetch_add(1, Ordering::SeqCst);
    if ACK_IN_READ.load(Ordering::SeqCst) != 0 {
        // SAFETY: the request presented to this callback.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestStopAcknowledge, request, 0) };
        // SAFETY: as above; the driver owns it.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, request, 0, 0);
        }
        return;
    }
    // The next read finishes the one kept before, as the hardware's answer would; otherwise
    // it is kept, as a driver waiting for its hardware keeps it.
    let held = HELD.swap(null_mut(), Ordering::SeqCst);
    if held.is_null() {
        HELD.store(request, Ordering::SeqCst);
        return;
    }
    for finished in [held, request] {
        // SAFETY: requests the driver owns: the one it kept and the one presented now.
        unsafe {
            call_unsafe_wdf_function_binding!(WdfRequestCompleteWithInformation, finished, 0, 0);
        }
    }
}

unsafe extern "C" fn evt_io_stop(_queue: WDFQUEUE, request: WDFREQUEST, _flags: u32) {
    if *ON_STOP.lock().unwrap() == OnStop::Requeue {
        HELD.store(null_mut(), Ordering::SeqCst);
        // SAFETY: the request lent to this EvtIoStop, which the driver owns and did not mark
        // cancelable.
        unsafe { call_unsafe_wdf_function_binding!(WdfRequestStopAcknowledge, request, 1) };
    }
}

unsafe extern "C" fn device_add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
    let mut init = init;
    let mut device: WDFDEVICE = null_mut();
    // SAFETY: the FDO init lent to this callback.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDeviceCreate,
            &mut init,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut device
        )
    };
    if status != 0 {
        return status;
    }
    let stop: PFN_WDF_IO_QUEUE_IO_STOP = match *ON_STOP.lock().unwrap() {
        OnStop::None => None,
        _ => Some(evt_io_stop),
    };
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        DispatchType: Dispatch::WdfIoQueueDispatchParallel,
        PowerManaged: Tri::WdfUseDefault,
        DefaultQueue: 1,
        EvtIoRead: Some(evt_io_read),
        EvtIoStop: stop,
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    config.Settings.Parallel.NumberOfPresentedRequests = u32::MAX;
    let mut queue: WDFQUEUE = null_mut();
    // SAFETY: a live device; the configuration is read during the call.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueCreate,
            device,
            &mut config,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut queue
        )
    }
}

unsafe extern "C" fn driver_entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
    let mut config = WDF_DRIVER_CONFIG {
        Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
        EvtDriverDeviceAdd: Some(device_add),
        ..WDF_DRIVER_CONFIG::default()
    };
    let mut driver: WDFDRIVER = null_mut();
    // SAFETY: DriverEntry's own arguments; the configuration is read during the call.
    unsafe {
        call_unsafe_wdf_function_binding!(
            WdfDriverCreate,
            object,
            path,
            WDF_NO_OBJECT_ATTRIBUTES,
            &mut config,
            &mut driver
        )
    }
}

/// A started node with the driver over a bus that answers PnP and power IRPs, in recording
/// mode, with a handle; the driver holds one read.
fn started(
    on_stop: OnStop,
) -> (
    IoManager,
    wdm_compat::host::DeviceNode,
    wdm_compat::host::FileHandle,
    wdm_compat::host::IoOperation,
) {
    *ON_STOP.lock().unwrap() = on_stop;
    READS.store(0, Ordering::SeqCst);
    HELD.store(null_mut(), Ordering::SeqCst);
    let io = IoManager::new();
    io.set_strict(false);
    let bus = ScriptedDriver::new().succeeding(&[
        major::CREATE,
        major::CLEANUP,
        major::CLOSE,
        major::PNP,
        major::POWER,
    ]);
    let bus = io.load_driver("bus", bus).unwrap();
    let driver = io
        .load_driver("rawpower", kmdf_sim::entry_point(driver_entry))
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\RawPowerPdo",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[driver],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let handle = node.open().unwrap();
    let read = handle.read_async(4).unwrap();
    assert_eq!(READS.load(Ordering::SeqCst), 1);
    (io, node, handle, read)
}

/// Back in D0, a second read makes the driver finish the held one.
fn finish_held(node: &wdm_compat::host::DeviceNode, handle: &wdm_compat::host::FileHandle) {
    assert_eq!(node.set_system_power(0), NtStatus::SUCCESS);
    assert_eq!(handle.read(4).status, NtStatus::SUCCESS);
}

#[test]
fn evt_io_stop_that_neither_acknowledges_nor_completes_is_reported() {
    let _serial = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, node, handle, read) = started(OnStop::Ignore);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(rules, ["EvtIoStopCompleteOrStopAck"]);
    finish_held(&node, &handle);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
}

#[test]
fn a_power_managed_queue_without_evt_io_stop_waits_for_completion_and_is_reported() {
    let _serial = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, node, handle, read) = started(OnStop::None);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(rules, ["DrvAckIoStop"]);
    finish_held(&node, &handle);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
}

#[test]
fn a_requeued_request_is_presented_again_once_the_device_is_back_in_d0() {
    let _serial = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (io, node, handle, read) = started(OnStop::Requeue);
    assert_eq!(node.set_system_power(3), NtStatus::SUCCESS);
    assert!(io.take_violations().is_empty());
    assert_eq!(READS.load(Ordering::SeqCst), 1, "not presented again in D3");
    assert!(!read.is_complete());
    finish_held(&node, &handle);
    // Presented again when the queue powered up, then finished by the next read.
    assert_eq!(READS.load(Ordering::SeqCst), 3);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    assert!(io.take_violations().is_empty());
}

#[test]
fn a_stop_acknowledgement_outside_evt_io_stop_is_reported_and_ignored() {
    let _serial = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    ACK_IN_READ.store(1, Ordering::SeqCst);
    HELD.store(null_mut(), Ordering::SeqCst);
    let (io, _node, _handle, read) = started(OnStop::Ignore);
    ACK_IN_READ.store(0, Ordering::SeqCst);
    assert_eq!(read.result().unwrap().status, NtStatus::SUCCESS);
    let rules: Vec<_> = io.take_violations().iter().filter_map(|v| v.rule).collect();
    assert_eq!(rules, ["StopAckWithinEvtIoStop"]);
}

/// A queue whose cleanup callback stops it synchronously: the queue is being deleted, so KMDF's
/// `QueueIdle` fails and `QueueIdleSynchronously` bug-checks (WDF_QUEUE_FATAL_ERROR).
#[test]
fn a_synchronous_stop_of_a_queue_being_deleted_is_wdf_queue_fatal_error() {
    unsafe extern "C" fn queue_cleanup(queue: kmdf_sim::bindings::WDFOBJECT) {
        // SAFETY: the queue whose cleanup this is, at PASSIVE_LEVEL.
        unsafe { call_unsafe_wdf_function_binding!(WdfIoQueueStopSynchronously, queue.cast()) };
    }
    unsafe extern "C" fn add(_driver: WDFDRIVER, init: PWDFDEVICE_INIT) -> NTSTATUS {
        let mut init = init;
        let mut device: WDFDEVICE = null_mut();
        // SAFETY: the FDO init lent to this callback.
        let status = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDeviceCreate,
                &mut init,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut device
            )
        };
        if status != 0 {
            return status;
        }
        let mut config = WDF_IO_QUEUE_CONFIG {
            Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
            DispatchType: Dispatch::WdfIoQueueDispatchManual,
            PowerManaged: Tri::WdfFalse,
            ..WDF_IO_QUEUE_CONFIG::default()
        };
        let mut attributes = kmdf_sim::bindings::WDF_OBJECT_ATTRIBUTES {
            Size: size_of::<kmdf_sim::bindings::WDF_OBJECT_ATTRIBUTES>() as u32,
            EvtCleanupCallback: Some(queue_cleanup),
            EvtDestroyCallback: None,
            ExecutionLevel:
                kmdf_sim::bindings::_WDF_EXECUTION_LEVEL::WdfExecutionLevelInheritFromParent,
            SynchronizationScope:
                kmdf_sim::bindings::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeInheritFromParent,
            ParentObject: null_mut(),
            ContextSizeOverride: 0,
            ContextTypeInfo: core::ptr::null(),
        };
        let mut queue: WDFQUEUE = null_mut();
        // SAFETY: a live device; the configuration and attributes are read during the call.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueCreate,
                device,
                &mut config,
                &mut attributes,
                &mut queue
            )
        }
    }
    unsafe extern "C" fn entry(object: PDRIVER_OBJECT, path: PCUNICODE_STRING) -> NTSTATUS {
        let mut config = WDF_DRIVER_CONFIG {
            Size: size_of::<WDF_DRIVER_CONFIG>() as u32,
            EvtDriverDeviceAdd: Some(add),
            ..WDF_DRIVER_CONFIG::default()
        };
        let mut driver: WDFDRIVER = null_mut();
        // SAFETY: DriverEntry's own arguments; the configuration is read during the call.
        unsafe {
            call_unsafe_wdf_function_binding!(
                WdfDriverCreate,
                object,
                path,
                WDF_NO_OBJECT_ATTRIBUTES,
                &mut config,
                &mut driver
            )
        }
    }
    let io = IoManager::new();
    io.set_strict(false);
    let bus = io
        .load_driver("bus", ScriptedDriver::new().succeeding(&[major::PNP]))
        .unwrap();
    let driver = io
        .load_driver("rawstop", kmdf_sim::entry_point(entry))
        .unwrap();
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\RawStopPdo",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[driver],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    let _ = node.remove();
    let reports = io.take_violations();
    let fatal: Vec<_> = reports
        .iter()
        .filter_map(|v| v.bug_check)
        .map(|b| (b.code, b.subcode()))
        .collect();
    assert_eq!(fatal, [(0x10D, 0xA)], "{reports:#?}");
}
