//! What the safe WDM layer promises, checked in the simulated I/O manager: DriverEntry unwinds
//! on failure, every transfer method hands out only safe views, forwarding returns what the
//! lower driver returned, and the defaults fill the whole major-function table.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use wdm_compat::host::{DeviceNodeConfig, IoManager, ScriptedDriver, flags, major};
use wdm_compat::{
    Device, DeviceConfig, DispatchStatus, DriverSetup, IoType, IoctlBuffers, Irp, NamedDevice,
    NtResult, NtStatus, PhysicalDevice, WdmDriver,
};

const fn ioctl(function: u32, method: u32) -> u32 {
    (0x22 << 16) | (function << 2) | method
}
const OUT_DIRECT: u32 = ioctl(0x810, 2);
const IN_DIRECT: u32 = ioctl(0x811, 1);
const NEITHER: u32 = ioctl(0x812, 3);

/// DriverEntry creates a named device and its link, then fails on a second device whose name
/// collides: everything before the failure must be undone.
struct Unwinding;

impl WdmDriver for Unwinding {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let first = setup.create_device(&DeviceConfig::named(r"\Device\Unwind"), ())?;
        let _named = first
            .create_symbolic_link(r"\DosDevices\Unwind")
            .map_err(|(_, s)| s)?;
        let _second = setup.create_device(&DeviceConfig::named(r"\Device\Unwind"), ())?;
        Ok(Self)
    }
}

#[test]
fn driver_entry_failure_undoes_every_earlier_step() {
    let io = IoManager::new();
    let result = io.load_driver("unwinding", wdm_compat::driver::entry_point::<Unwinding>());
    assert_eq!(result.err(), Some(NtStatus::OBJECT_NAME_COLLISION));
    assert_eq!(
        io.open(r"\\.\Unwind").err(),
        Some(NtStatus::OBJECT_NAME_NOT_FOUND)
    );
    let device = io.device_by_name(r"\Device\Unwind");
    assert!(
        device.is_none_or(|d| io.device(d).unwrap().deleted),
        "the device is gone"
    );
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// One device; IOCTLs of every transfer method; nothing else handled.
struct Methods {
    _device: NamedDevice<()>,
}

impl WdmDriver for Methods {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let config = DeviceConfig::named(r"\Device\Methods").io_type(IoType::Direct);
        let device = setup.create_device(&config, ())?;
        let device = device
            .create_symbolic_link(r"\DosDevices\Methods")
            .map_err(|(_, s)| s)?;
        Ok(Self { _device: device })
    }

    fn on_device_control(&self, _device: &Device<()>, irp: Irp) -> DispatchStatus {
        irp.complete_with(|request| match request.ioctl_buffers()? {
            // Direct: input and output are separate memory, both at once.
            IoctlBuffers::Direct(mut buffers) => {
                let (input, output) = buffers.split();
                let count = input.len().min(output.len());
                for (out, byte) in output.iter_mut().zip(input) {
                    *out = byte.wrapping_add(1);
                }
                Ok(count)
            }
            // Neither: only numbers; refusing is the safe answer.
            IoctlBuffers::Neither { input, output } => {
                assert_ne!(input.address, 0);
                assert_eq!(output.length, 4);
                Err(NtStatus::INVALID_DEVICE_REQUEST)
            }
            IoctlBuffers::Buffered(_) => Err(NtStatus::NOT_SUPPORTED),
        })
    }

    fn on_read(&self, _device: &Device<()>, irp: Irp) -> DispatchStatus {
        // A direct-I/O read: the caller's pages through the MDL.
        irp.complete_with(|request| {
            let out = request.read_buffer()?;
            out.fill(0x5A);
            Ok(out.len())
        })
    }
}

fn methods() -> (IoManager, wdm_compat::host::FileHandle) {
    let io = IoManager::new();
    io.load_driver("methods", wdm_compat::driver::entry_point::<Methods>())
        .unwrap();
    let handle = io.open(r"\\.\Methods").unwrap();
    (io, handle)
}

#[test]
fn direct_ioctls_read_input_and_write_the_callers_pages() {
    let (_io, handle) = methods();
    for code in [OUT_DIRECT, IN_DIRECT] {
        let result = handle.device_io_control(code, &[1, 2, 3], 3);
        assert_eq!(result.status, NtStatus::SUCCESS);
        assert_eq!(result.information, 3);
        assert_eq!(result.output, [2, 3, 4]);
    }
}

#[test]
fn neither_ioctls_never_expose_user_memory() {
    let (_io, handle) = methods();
    let result = handle.device_io_control(NEITHER, &[1, 2, 3, 4], 4);
    assert_eq!(result.status, NtStatus::INVALID_DEVICE_REQUEST);
    assert_eq!(
        result.output, [0; 4],
        "nothing was written to the caller's buffer"
    );
}

#[test]
fn direct_reads_fill_the_mdl_and_zero_length_reads_get_an_empty_buffer() {
    let (_io, handle) = methods();
    let read = handle.read(6);
    assert_eq!((read.status, read.information), (NtStatus::SUCCESS, 6));
    assert_eq!(read.output, [0x5A; 6]);
    let empty = handle.read(0);
    assert_eq!((empty.status, empty.information), (NtStatus::SUCCESS, 0));
}

#[test]
fn unhandled_major_functions_get_the_documented_defaults() {
    let (_io, handle) = methods();
    // Write: no method, so `on_other`: STATUS_NOT_SUPPORTED.
    assert_eq!(handle.write(b"x").status, NtStatus::NOT_SUPPORTED);
    assert_eq!(
        handle.internal_device_control(OUT_DIRECT, &[], 0).status,
        NtStatus::NOT_SUPPORTED
    );
    // Create, cleanup and close succeed by default.
    assert_eq!(handle.close(), NtStatus::SUCCESS);
}

/// Passes the IRP to the device below (a filter's answer to what it does not handle).
fn pass_down(device: &Device<()>, irp: Irp) -> DispatchStatus {
    match device.lower() {
        Some(lower) => irp.forward(lower),
        None => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// A bus driver whose PDO succeeds creates, cleanups, closes and PnP IRPs, and answers device
/// controls with `bytes` in the system buffer and `status`.
fn answering_bus(status: NtStatus, bytes: &'static [u8]) -> ScriptedDriver {
    let succeed = |k: &wdm_compat::host::KernelCalls, _d, irp| {
        k.complete(irp, NtStatus::SUCCESS, 0);
        NtStatus::SUCCESS
    };
    ScriptedDriver::new()
        .on(major::CREATE, succeed)
        .on(major::CLEANUP, succeed)
        .on(major::CLOSE, succeed)
        .on(major::PNP, succeed)
        .on(major::DEVICE_CONTROL, move |k, _d, irp| {
            k.write_system_buffer(irp, 0, bytes).unwrap();
            k.complete(irp, status, bytes.len());
            status
        })
}

/// A started device node `pdo_name` of `bus`, with `filter` over it.
fn filtered_node(
    io: &IoManager,
    pdo_name: &'static str,
    bus: wdm_compat::host::DriverId,
    filter: wdm_compat::host::DriverId,
) -> wdm_compat::host::DeviceNode {
    let node = io
        .create_device_node(&DeviceNodeConfig {
            pdo_name,
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO,
            drivers: &[filter],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    node
}

/// A PnP filter that forwards everything and answers nothing itself.
struct PassThrough;

impl WdmDriver for PassThrough {
    type DeviceExtension = ();

    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        Ok(Self)
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }

    fn on_other(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_create(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_close(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_cleanup(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }
}

#[test]
fn forwarding_returns_what_the_lower_driver_returned_and_its_outcome_reaches_the_sender() {
    let io = IoManager::new();
    let bus = io
        .load_driver("bus", answering_bus(NtStatus::BUFFER_OVERFLOW, &[7, 7]))
        .unwrap();
    let filter = io
        .load_driver("filter", wdm_compat::driver::entry_point::<PassThrough>())
        .unwrap();
    let node = filtered_node(&io, r"\Device\PassPdo", bus, filter);
    let handle = node.open().unwrap();
    let result = handle.device_io_control(ioctl(0x900, 0), &[], 2);
    // A warning status passes through with its data (BUFFER_OVERFLOW copies back).
    assert_eq!(
        (result.status, result.information),
        (NtStatus::BUFFER_OVERFLOW, 2)
    );
    assert_eq!(result.data, [7, 7]);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

/// A PnP filter that pends every device control first and passes it down from another thread
/// (`PendingIrp::forward`: copy the location, a routine that only propagates the pending flag).
struct PendThenForward;

impl WdmDriver for PendThenForward {
    type DeviceExtension = ();

    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        Ok(Self)
    }

    fn add_device(&self, _physical_device: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }

    fn on_device_control(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        let Some(lower) = device.lower().copied() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        let (status, pending) = irp.mark_pending();
        std::thread::spawn(move || pending.forward(&lower))
            .join()
            .unwrap_or(());
        status
    }

    fn on_other(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_create(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_close(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }

    fn on_cleanup(&self, device: &Device<()>, irp: Irp) -> DispatchStatus {
        pass_down(device, irp)
    }
}

#[test]
fn a_pended_irp_passed_down_later_completes_with_the_lower_drivers_answer() {
    let io = IoManager::new();
    let bus = io
        .load_driver("bus", answering_bus(NtStatus::SUCCESS, &[1, 2, 3]))
        .unwrap();
    let filter = io
        .load_driver(
            "filter",
            wdm_compat::driver::entry_point::<PendThenForward>(),
        )
        .unwrap();
    let node = filtered_node(&io, r"\Device\PendPdo", bus, filter);
    let handle = node.open().unwrap();
    let operation = handle
        .device_io_control_async(ioctl(0x901, 0), &[], 3)
        .unwrap();
    assert!(operation.returned_pending(), "the filter pended it");
    let result = operation.wait(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 3));
    assert_eq!(result.data, [1, 2, 3]);
    // The pending flag reached the originator through the filter's location.
    assert!(io.probe(operation.irp()).pending_returned());
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
