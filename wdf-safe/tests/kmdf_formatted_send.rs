//! IOCTLs a driver sends with a request and memory objects of its own (`WdfMemoryCreate`,
//! `WdfRequestCreate`, `WdfIoTargetFormatRequestForIoctl` / `…ForInternalIoctl`,
//! `WdfRequestSetCompletionRoutine`, `WdfRequestSend`), through the shipped seam and the
//! simulated KMDF.
//!
//! The driver under test is a function driver over a scripted bus. Each IOCTL its client sends
//! waits in a manual queue while the driver asks the bus with memory of its own; the
//! completion callback takes the client's request back and completes it with the bus's answer.
//! The bus answers at once, later (the test completes the IRP it kept), into an output MDL,
//! with a failure, or as an internal IOCTL.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::Mutex;

use wdf_safe::io_target::IoctlCompletion;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual};
use wdf_safe::memory::Memory;
use wdf_safe::pnp_power::PnpPowerCallbacks;
use wdf_safe::{
    AnyRequest, Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus, Queue, QueueConfig,
    Request, RequestDone, SpinLock,
};
use wdm_compat::IoControlCode;
use wdm_compat::host::{IoManager, IrpId, IrpParameters, KernelCalls, ScriptedDriver, major};
use wdm_compat::pool::PoolTag;

/// The bus's buffered IOCTL: returns its input's `u32` times two.
const IOCTL_BUS_DOUBLE: u32 = 0x0022_2000;
/// The bus's buffered IOCTL it answers later: the test completes it.
const IOCTL_BUS_LATER: u32 = 0x0022_2008;
/// The bus's METHOD_OUT_DIRECT IOCTL: writes "DIRECT!!" into the output pages.
const IOCTL_BUS_DIRECT: u32 = 0x0022_2006;
/// The bus's buffered IOCTL it keeps, cancelable, until it is cancelled.
const IOCTL_BUS_UNTIL_CANCELLED: u32 = 0x0022_2020;
/// The bus's IOCTL that fails with `STATUS_DEVICE_NOT_READY`.
const IOCTL_BUS_FAIL: u32 = 0x0022_200C;
/// The bus's internal IOCTL: returns its version, 7.
const IOCTL_INTERNAL_BUS_VERSION: u32 = 0x0022_2010;
/// A METHOD_NEITHER internal IOCTL, which the crate refuses to send.
const IOCTL_INTERNAL_NEITHER: u32 = 0x0022_2013;

/// The client's IOCTL: its input names the bus IOCTL to ask (a `u32`), then the bytes to send.
const IOCTL_ASK: u32 = 0x0022_2400;

const TAG: PoolTag = PoolTag::new(*b"Prob");

/// A completion callback's `(status, returned bytes, input memory's bytes)`.
type Answer = (NtStatus, Vec<u8>, Vec<u8>);
/// Each completion callback's answer (and each refused send's).
static ANSWERS: Mutex<Vec<Answer>> = Mutex::new(Vec::new());
/// What the first bytes of a fresh `Memory` were (zeroed by the crate, not the pool's fill).
static FRESH: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// The ready device and its waiting queue.
type ProberDevice = (Device<Prober, Ready>, Queue<Manual>);

struct Prober {
    /// The device, ready, and the queue the client's requests wait in.
    device: SpinLock<Option<ProberDevice>>,
}

fn prepare(prober: &Prober, device: Device<Prober, Ready>) -> NtResult {
    let waiting = device.create_queue(QueueConfig::manual())?;
    *prober.device.lock() = Some((device, waiting));
    Ok(())
}

/// The client's request: park it, then ask the bus with memory of the driver's own.
fn on_ioctl<'r>(prober: &Prober, mut request: Request<'r, DeviceControl>) -> RequestDone<'r> {
    let Some((device, waiting)) = *prober.device.lock() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    let (code, payload) = match request.input_buffer(4) {
        Ok(input) => (
            u32::from_le_bytes(input[..4].try_into().unwrap()),
            input[4..].to_vec(),
        ),
        Err(status) => return request.complete(status),
    };
    let output_length = request.output_length();
    let input = if payload.is_empty() {
        None
    } else {
        match Memory::from_bytes(&device, TAG, &payload) {
            Ok(memory) => Some(memory),
            Err(status) => return request.complete(status),
        }
    };
    let output = match Memory::create(&device, TAG, output_length.max(1)) {
        Ok(memory) => memory,
        Err(status) => return request.complete(status),
    };
    FRESH
        .lock()
        .unwrap()
        .extend_from_slice(&output[..output.len().min(4)]);
    // Parked first: the bus may answer before `send_ioctl` returns.
    let done = match request.forward_to_queue(&waiting) {
        Ok(done) => done,
        Err((request, status)) => return request.complete(status),
    };
    let code = IoControlCode::from_raw(code);
    let sent = if code.to_raw() & 0x10 != 0 {
        device.send_internal_ioctl(code, input, Some(output), answered)
    } else {
        device.send_ioctl(code, input, Some(output), answered)
    };
    if let Err(not_sent) = sent {
        // Refused before anything was sent: the memory is back, unchanged.
        ANSWERS.lock().unwrap().push((
            not_sent.status,
            not_sent.output.map(|m| m.to_vec()).unwrap_or_default(),
            not_sent.input.map(|m| m.to_vec()).unwrap_or_default(),
        ));
        finish(device, waiting, not_sent.status, &[]);
    }
    done
}

/// The completion callback: the client's request gets the bus's answer.
fn answered(prober: &Prober, device: Device<Prober, Ready>, done: IoctlCompletion) {
    ANSWERS.lock().unwrap().push((
        done.status,
        done.returned().to_vec(),
        done.input
            .as_deref()
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    ));
    let Some((_, waiting)) = *prober.device.lock() else {
        return;
    };
    finish(device, waiting, done.status, done.returned());
}

/// Completes the request that waited longest with `status` and `bytes`.
fn finish(device: Device<Prober, Ready>, waiting: Queue<Manual>, status: NtStatus, bytes: &[u8]) {
    let Ok(AnyRequest::DeviceControl(request)) = device.retrieve_next_request(&waiting) else {
        return;
    };
    if status.is_error() {
        let _done = request.complete(status);
        return;
    }
    let _done = request.complete_with(|request| {
        let out = request.output_buffer(bytes.len())?;
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(bytes.len())
    });
}

impl KmdfDriver for Prober {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self {
            device: SpinLock::new(None),
        })
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(PnpPowerCallbacks::new().on_prepare_hardware(prepare));
        let device = init.create().map_err(|(_, status)| status)?;
        device.create_default_queue(QueueConfig::parallel().on_device_control(on_ioctl))?;
        Ok(())
    }
}

/// The IRP the bus keeps for `IOCTL_BUS_LATER`, and its kernel calls.
static KEPT: Mutex<Option<(KernelCalls, IrpId)>> = Mutex::new(None);
/// An IOCTL the bus saw: (major, code, input bytes, output length, from user mode).
type Seen = (u8, u32, Vec<u8>, u32, bool);
/// The IOCTLs the bus saw.
static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

fn bus() -> ScriptedDriver {
    common::pnp_bus()
        .on(major::DEVICE_CONTROL, |k, _device, irp| {
            let IrpParameters::DeviceControl {
                code,
                output_length,
                input_length,
            } = k.parameters(irp)
            else {
                panic!("a device control");
            };
            let input = k.system_buffer(irp)[..input_length as usize].to_vec();
            SEEN.lock().unwrap().push((
                major::DEVICE_CONTROL,
                code,
                input.clone(),
                output_length,
                k.from_user_mode(irp),
            ));
            match code {
                IOCTL_BUS_DOUBLE => {
                    let value = u32::from_le_bytes(input[..4].try_into().unwrap());
                    k.write_system_buffer(irp, 0, &(value * 2).to_le_bytes())
                        .unwrap();
                    k.complete(irp, NtStatus::SUCCESS, 4);
                    NtStatus::SUCCESS
                }
                IOCTL_BUS_LATER => {
                    k.mark_pending(irp);
                    *KEPT.lock().unwrap() = Some((k.clone(), irp));
                    NtStatus::PENDING.status()
                }
                IOCTL_BUS_UNTIL_CANCELLED => {
                    k.mark_pending(irp);
                    k.set_cancel_routine(irp, |k, _device, irp| {
                        k.release_cancel_lock(irp);
                        k.complete(irp, NtStatus::CANCELLED, 0);
                    });
                    NtStatus::PENDING.status()
                }
                IOCTL_BUS_DIRECT => {
                    k.write_mdl_buffer(irp, 0, b"DIRECT!!").unwrap();
                    k.complete(irp, NtStatus::SUCCESS, 8);
                    NtStatus::SUCCESS
                }
                _ => {
                    k.complete(irp, NtStatus::DEVICE_NOT_READY, 0);
                    NtStatus::DEVICE_NOT_READY
                }
            }
        })
        .on(major::INTERNAL_DEVICE_CONTROL, |k, _device, irp| {
            let IrpParameters::DeviceControl {
                code,
                output_length,
                ..
            } = k.parameters(irp)
            else {
                panic!("an internal device control");
            };
            SEEN.lock().unwrap().push((
                major::INTERNAL_DEVICE_CONTROL,
                code,
                Vec::new(),
                output_length,
                k.from_user_mode(irp),
            ));
            k.write_system_buffer(irp, 0, &7u32.to_le_bytes()).unwrap();
            k.complete(irp, NtStatus::SUCCESS, 4);
            NtStatus::SUCCESS
        })
}

fn ask(code: u32, payload: &[u8]) -> Vec<u8> {
    let mut input = code.to_le_bytes().to_vec();
    input.extend_from_slice(payload);
    input
}

/// One test: the statics are shared.
#[test]
fn a_driver_asks_its_bus_with_memory_of_its_own_and_gets_the_memory_back_with_the_answer() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let driver = io
        .load_driver("prober", wdf_safe::entry_point::<Prober>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\ProberPdo");
    let handle = node.open().unwrap();

    // Answered at once: the input memory's bytes reached the bus, the output memory came back
    // with the answer, and the client got it.
    let result =
        handle.device_io_control(IOCTL_ASK, &ask(IOCTL_BUS_DOUBLE, &21u32.to_le_bytes()), 4);
    assert_eq!(result.status, NtStatus::SUCCESS);
    assert_eq!(result.data, 42u32.to_le_bytes());
    assert_eq!(
        SEEN.lock().unwrap().pop(),
        Some((
            major::DEVICE_CONTROL,
            IOCTL_BUS_DOUBLE,
            21u32.to_le_bytes().to_vec(),
            4,
            false
        ))
    );
    assert_eq!(
        ANSWERS.lock().unwrap().pop(),
        Some((
            NtStatus::SUCCESS,
            42u32.to_le_bytes().to_vec(),
            21u32.to_le_bytes().to_vec()
        ))
    );
    // A fresh buffer is zeroed (the simulated pool fills new memory with 0xCD).
    assert_eq!(*FRESH.lock().unwrap(), [0, 0, 0, 0]);

    // Answered later: the client's request waits; the two memory objects are out, charged to
    // the driver's tag, until the bus completes the IRP and the callback drops them.
    let later = handle
        .device_io_control_async(IOCTL_ASK, &ask(IOCTL_BUS_LATER, b"hi"), 4)
        .unwrap();
    let (k, irp) = KEPT.lock().unwrap().take().expect("the bus kept the IRP");
    assert!(
        later.result().is_none(),
        "the client's request waits for the bus"
    );
    assert!(ANSWERS.lock().unwrap().is_empty());
    assert_eq!(kmdf_sim::pool_in_use(&io, TAG.to_raw()), (2, 2 + 4));
    k.write_system_buffer(irp, 0, b"late").unwrap();
    k.complete(irp, NtStatus::SUCCESS, 4);
    let answer = later.wait(core::time::Duration::from_secs(10)).unwrap();
    drop(later);
    assert_eq!(answer.status, NtStatus::SUCCESS);
    assert_eq!(answer.data, b"late");
    assert_eq!(
        ANSWERS.lock().unwrap().pop(),
        Some((NtStatus::SUCCESS, b"late".to_vec(), b"hi".to_vec()))
    );
    assert_eq!(kmdf_sim::pool_in_use(&io, TAG.to_raw()), (0, 0));

    // Direct I/O: the bus wrote the output memory's pages.
    let direct = handle.device_io_control(IOCTL_ASK, &ask(IOCTL_BUS_DIRECT, &[]), 8);
    assert_eq!(direct.status, NtStatus::SUCCESS);
    assert_eq!(direct.data, b"DIRECT!!");

    // A failure below reaches the callback with no bytes returned.
    let failed = handle.device_io_control(IOCTL_ASK, &ask(IOCTL_BUS_FAIL, b"x"), 4);
    assert_eq!(failed.status, NtStatus::DEVICE_NOT_READY);
    assert_eq!(
        ANSWERS.lock().unwrap().pop(),
        Some((NtStatus::DEVICE_NOT_READY, Vec::new(), b"x".to_vec()))
    );

    // An internal IOCTL, from kernel mode.
    let version = handle.device_io_control(IOCTL_ASK, &ask(IOCTL_INTERNAL_BUS_VERSION, &[]), 4);
    assert_eq!(version.data, 7u32.to_le_bytes());
    assert_eq!(
        SEEN.lock().unwrap().pop(),
        Some((
            major::INTERNAL_DEVICE_CONTROL,
            IOCTL_INTERNAL_BUS_VERSION,
            Vec::new(),
            4,
            false
        ))
    );

    // An internal METHOD_NEITHER IOCTL is refused before anything is sent: no callback, the
    // memory back unchanged, nothing reaches the bus.
    let seen = SEEN.lock().unwrap().len();
    let refused = handle.device_io_control(IOCTL_ASK, &ask(IOCTL_INTERNAL_NEITHER, b"ptrs"), 4);
    assert_eq!(refused.status, NtStatus::INVALID_PARAMETER);
    assert_eq!(
        ANSWERS.lock().unwrap().pop(),
        Some((NtStatus::INVALID_PARAMETER, vec![0; 4], b"ptrs".to_vec()))
    );
    assert_eq!(SEEN.lock().unwrap().len(), seen);
    assert_eq!(kmdf_sim::pool_in_use(&io, TAG.to_raw()), (0, 0));

    // Removed while the bus still has one: the device's target cancels it and waits, so the
    // callback runs (with STATUS_CANCELLED) before the device goes; the client's request,
    // waiting in the manual queue, was cancelled by the removal's purge.
    ANSWERS.lock().unwrap().clear();
    let pending = handle
        .device_io_control_async(IOCTL_ASK, &ask(IOCTL_BUS_UNTIL_CANCELLED, b"zz"), 4)
        .unwrap();
    assert!(ANSWERS.lock().unwrap().is_empty());
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(
        ANSWERS.lock().unwrap().pop(),
        Some((NtStatus::CANCELLED, Vec::new(), b"zz".to_vec()))
    );
    assert_eq!(
        pending.result().map(|r| r.status),
        Some(NtStatus::CANCELLED)
    );
    drop(pending);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    assert_eq!(kmdf_sim::pool_in_use(&io, TAG.to_raw()), (0, 0));
    // Every IRP the framework allocated for the driver's requests is freed.
    assert_eq!(io.live_irps(), 0);
}

/// A driver that makes a memory object in `EvtDevicePrepareHardware` and never gives it back.
struct Forgetter;

fn forget_memory(_: &Forgetter, device: Device<Forgetter, Ready>) -> NtResult {
    let memory = Memory::from_bytes(&device, PoolTag::new(*b"Forg"), b"lost")?;
    // Never dropped: the buffer stays until the driver unloads.
    std::mem::forget(memory);
    Ok(())
}

impl KmdfDriver for Forgetter {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(PnpPowerCallbacks::new().on_prepare_hardware(forget_memory));
        init.create().map_err(|(_, status)| status)?;
        Ok(())
    }
}

#[test]
fn a_memory_object_never_given_back_is_reported_at_unload_with_its_tag() {
    let io = IoManager::new();
    io.set_strict(false);
    let bus = io.load_driver("bus", bus()).unwrap();
    let driver = io
        .load_driver("forgetter", wdf_safe::entry_point::<Forgetter>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\ForgetterPdo");
    let tag = PoolTag::new(*b"Forg").to_raw();
    assert_eq!(kmdf_sim::pool_in_use(&io, tag), (1, 4));
    // The device goes; the memory, the driver's, stays charged to its tag.
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert_eq!(kmdf_sim::pool_in_use(&io, tag), (1, 4));
    io.unload_driver(driver).unwrap();
    let violations = io.take_violations();
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].message.contains("FX_POOL")
            && violations[0].message.contains("tagged 'Forg'")
            && violations[0].message.contains("WdfMemoryCreate"),
        "{violations:#?}"
    );
    assert_eq!(kmdf_sim::pool_in_use(&io, tag), (0, 0));
}

/// A control device has no device below: its send is refused, the memory back.
struct Alone;

/// What `Alone`'s send answered: the status and the memory's bytes.
static ALONE: Mutex<Option<(NtStatus, Vec<u8>)>> = Mutex::new(None);

fn never_called(_: &Alone, _device: Device<Alone, Ready>, _done: IoctlCompletion) {
    panic!("a send that was refused has no completion");
}

impl KmdfDriver for Alone {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = wdf_safe::ControlDeviceInit::allocate(
            driver,
            wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL,
        )
        .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(r"\Device\Alone")?;
        let device = init.create(driver).map_err(|(_, status)| status)?;
        let device = device.finish_initializing();
        let output = Memory::from_bytes(&device, TAG, b"mine")?;
        let refused = device
            .send_ioctl(
                IoControlCode::from_raw(IOCTL_BUS_DOUBLE),
                None,
                Some(output),
                never_called,
            )
            .unwrap_err();
        *ALONE.lock().unwrap() = Some((
            refused.status,
            refused.output.map(|m| m.to_vec()).unwrap_or_default(),
        ));
        Ok(Self)
    }
}

#[test]
fn a_control_device_has_no_target_and_gets_its_memory_back() {
    let io = IoManager::new();
    let driver = io
        .load_driver("alone", wdf_safe::entry_point::<Alone>())
        .unwrap();
    assert_eq!(
        *ALONE.lock().unwrap(),
        Some((NtStatus::INVALID_DEVICE_STATE, b"mine".to_vec()))
    );
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
