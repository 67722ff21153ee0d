//! The default handlers of `WdmDriver` beyond read, write and IOCTLs: query and set
//! information (not supported unless the driver says otherwise) and PnP and power requests
//! (passed down a device stack, as a function or filter driver must).
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wdm_compat::driver::entry_point;
use wdm_compat::host::{
    DeviceNodeConfig, IoManager, IrpParameters, ScriptedDriver, flags, major, pnp_minor,
    power_minor,
};
use wdm_compat::{
    Device, DispatchStatus, DriverSetup, Irp, NamedDevice, NtResult, NtStatus, Parameters,
    PhysicalDevice, WdmDriver,
};

/// `FilePositionInformation`.
const FILE_POSITION_INFORMATION: u32 = 14;
/// `FileStandardInformation`.
const FILE_STANDARD_INFORMATION: u32 = 5;

/// A control device with nothing but the defaults.
struct Plain {
    _device: NamedDevice<()>,
}

impl WdmDriver for Plain {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = common::buffered_device(setup, r"\Device\Plain", r"\DosDevices\Plain", ())?;
        Ok(Self { _device: device })
    }
}

#[test]
fn query_and_set_information_are_not_supported_by_default() {
    let manager = IoManager::new();
    manager
        .load_driver("plain", entry_point::<Plain>())
        .unwrap();
    let handle = manager.open(r"\\.\Plain").unwrap();
    let query = handle.query_information(FILE_POSITION_INFORMATION, 8);
    assert_eq!(
        (query.status, query.information),
        (NtStatus::NOT_SUPPORTED, 0)
    );
    let set = handle.set_information(FILE_POSITION_INFORMATION, &7u64.to_le_bytes());
    assert_eq!(set.status, NtStatus::NOT_SUPPORTED);
}

/// A device with a file position (`FilePositionInformation`), set and read back.
struct Positioned {
    position: AtomicU64,
    _device: NamedDevice<()>,
}

impl WdmDriver for Positioned {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device =
            common::buffered_device(setup, r"\Device\Positioned", r"\DosDevices\Positioned", ())?;
        Ok(Self {
            position: AtomicU64::new(0),
            _device: device,
        })
    }

    fn on_query_information<'r>(&self, _: &Device<()>, irp: Irp<'r>) -> DispatchStatus<'r> {
        let Parameters::QueryInformation { class, .. } = irp.parameters() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        if class != FILE_POSITION_INFORMATION {
            return irp.complete(NtStatus::INVALID_PARAMETER);
        }
        let position = self.position.load(Ordering::Relaxed).to_le_bytes();
        irp.complete_with(|request| {
            let out = request.query_information_buffer()?;
            let out = out.get_mut(..8).ok_or(NtStatus::INFO_LENGTH_MISMATCH)?;
            out.copy_from_slice(&position);
            Ok(8)
        })
    }

    fn on_set_information<'r>(&self, _: &Device<()>, mut irp: Irp<'r>) -> DispatchStatus<'r> {
        let Parameters::SetInformation { class, .. } = irp.parameters() else {
            return irp.complete(NtStatus::INVALID_DEVICE_REQUEST);
        };
        if class != FILE_POSITION_INFORMATION {
            return irp.complete(NtStatus::INVALID_PARAMETER);
        }
        let outcome = irp.request().set_information_buffer().and_then(|data| {
            let bytes: [u8; 8] = data
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or(NtStatus::INFO_LENGTH_MISMATCH)?;
            Ok(u64::from_le_bytes(bytes))
        });
        match outcome {
            Ok(position) => {
                self.position.store(position, Ordering::Relaxed);
                irp.complete(NtStatus::SUCCESS)
            }
            Err(status) => irp.complete(status),
        }
    }
}

#[test]
fn a_driver_answers_query_and_set_information() {
    let manager = IoManager::new();
    manager
        .load_driver("positioned", entry_point::<Positioned>())
        .unwrap();
    let handle = manager.open(r"\\.\Positioned").unwrap();
    let set = handle.set_information(FILE_POSITION_INFORMATION, &0x1234u64.to_le_bytes());
    assert_eq!(set.status, NtStatus::SUCCESS);
    let query = handle.query_information(FILE_POSITION_INFORMATION, 8);
    assert_eq!((query.status, query.information), (NtStatus::SUCCESS, 8));
    assert_eq!(query.data, 0x1234u64.to_le_bytes());
    // A class the device does not know, and a buffer too small for the answer.
    assert_eq!(
        handle
            .query_information(FILE_STANDARD_INFORMATION, 24)
            .status,
        NtStatus::INVALID_PARAMETER
    );
    assert_eq!(
        handle
            .query_information(FILE_POSITION_INFORMATION, 4)
            .status,
        NtStatus::INFO_LENGTH_MISMATCH
    );
    assert_eq!(
        handle
            .set_information(FILE_POSITION_INFORMATION, &[1, 2])
            .status,
        NtStatus::INFO_LENGTH_MISMATCH
    );
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}

/// A PnP function driver that handles nothing itself: PnP and power requests go down.
struct Quiet;

impl WdmDriver for Quiet {
    type DeviceExtension = ();
    const PNP: bool = true;

    fn driver_entry(_setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        Ok(Self)
    }

    fn add_device(&self, _physical: &PhysicalDevice) -> NtResult<()> {
        Ok(())
    }
}

type Log = Arc<Mutex<Vec<String>>>;

/// A bus driver whose PDO logs the PnP and power requests that reach it and completes them.
fn bus(log: Log) -> ScriptedDriver {
    let power_log = log.clone();
    ScriptedDriver::new()
        .on(major::PNP, move |k, device, irp| {
            let minor = k.minor(irp);
            log.lock().unwrap().push(format!("pnp {minor:#x}"));
            if minor == pnp_minor::REMOVE_DEVICE {
                k.delete_device(device);
            }
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
        .on(major::POWER, move |k, _device, irp| {
            assert_eq!(k.minor(irp), power_minor::SET_POWER);
            // The status the power manager sent it with, untouched by the driver above.
            assert_eq!(k.status(irp), NtStatus::NOT_SUPPORTED);
            // The device set-power parameters, as the power manager filled them in.
            let IrpParameters::Power { kind: 1, state } = k.parameters(irp) else {
                panic!("a device set-power IRP: {:?}", k.parameters(irp));
            };
            power_log
                .lock()
                .unwrap()
                .push(format!("set power D{}", state - 1));
            k.complete(irp, NtStatus::SUCCESS, 0);
            NtStatus::SUCCESS
        })
}

#[test]
fn pnp_and_power_requests_go_down_the_stack_by_default() {
    let manager = IoManager::new();
    let log: Log = Arc::default();
    let bus = manager.load_driver("bus", bus(log.clone())).unwrap();
    let quiet = manager
        .load_driver("quiet", entry_point::<Quiet>())
        .unwrap();
    let node = manager
        .create_device_node(&DeviceNodeConfig {
            pdo_name: r"\Device\00000077",
            bus,
            device_type: 0x22,
            pdo_flags: flags::DO_BUFFERED_IO | flags::DO_POWER_PAGABLE,
            drivers: &[quiet],
            interface_link: None,
        })
        .unwrap();
    assert_eq!(node.start(), NtStatus::SUCCESS);
    assert_eq!(node.set_device_power(3), NtStatus::SUCCESS);
    assert_eq!(node.set_device_power(0), NtStatus::SUCCESS);
    assert_eq!(
        *log.lock().unwrap(),
        ["pnp 0x0", "set power D3", "set power D0"],
        "the function driver passed each request to the PDO"
    );
    assert!(
        manager.violations().is_empty(),
        "{:#?}",
        manager.violations()
    );
}
