//! Synchronous sends with memory descriptors (`WDF_MEMORY_DESCRIPTOR_INIT_HANDLE` with a
//! `WDFMEMORY_OFFSET`), through the shipped seam and the simulated KMDF: a function driver
//! asks its bus from parts of its own `WDFMEMORY` buffers in `EvtDevicePrepareHardware`. The
//! bus sees only the part sent, its answer lands in the output part and nowhere else, a
//! direct IOCTL's pages are the output part's, and a part that is empty or past the buffer's
//! end cannot be described.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

mod common;

use core::num::NonZeroU32;
use std::sync::Mutex;

use wdf_safe::io_target::SendTimeout;
use wdf_safe::kind::state::Ready;
use wdf_safe::memory::Memory;
use wdf_safe::pnp_power::PnpPowerCallbacks;
use wdf_safe::{Device, DriverContext, FdoInit, KmdfDriver, NtResult, NtStatus};
use wdm_compat::IoControlCode;
use wdm_compat::host::{IoManager, IrpParameters, ScriptedDriver, major};
use wdm_compat::pool::PoolTag;

/// The bus's buffered IOCTL: returns its 4-byte input's `u32` times two.
const IOCTL_BUS_DOUBLE: u32 = 0x0022_2000;
/// The bus's METHOD_OUT_DIRECT IOCTL: writes "DIRECT!!" into the output pages.
const IOCTL_BUS_DIRECT: u32 = 0x0022_2006;
/// The bus's internal IOCTL: returns its version, 7.
const IOCTL_INTERNAL_BUS_VERSION: u32 = 0x0022_2010;

const TAG: PoolTag = PoolTag::new(*b"Askm");

/// What the driver's sends returned, and the buffers afterwards.
#[derive(Debug, Default, PartialEq, Eq)]
struct Seen {
    doubled: Option<NtResult<usize>>,
    doubled_buffer: Vec<u8>,
    version: Option<NtResult<usize>>,
    version_buffer: Vec<u8>,
    direct: Option<NtResult<usize>>,
    direct_buffer: Vec<u8>,
    /// Whether an empty part, and parts past the end, could be made.
    refused_ranges: bool,
}

static SEEN: Mutex<Option<Seen>> = Mutex::new(None);

fn timeout() -> SendTimeout {
    SendTimeout::milliseconds(NonZeroU32::new(1000).unwrap())
}

struct Asker;

fn prepare(_: &Asker, device: Device<Asker, Ready>) -> NtResult {
    let target = device
        .default_io_target()
        .ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let mut seen = Seen::default();

    // The question sits at bytes 4..8 of a buffer whose other bytes would be a different
    // question (0x55555555): the bus must get the part only.
    let mut question = Memory::from_bytes(&device, TAG, &[0x55; 12])?;
    question[4..8].copy_from_slice(&21u32.to_le_bytes());
    let mut answer = Memory::from_bytes(&device, TAG, &[0xAA; 12])?;
    seen.doubled = Some(target.send_ioctl_synchronously_with_memory(
        IoControlCode::from_raw(IOCTL_BUS_DOUBLE),
        Some(question.range(4..8)?),
        Some(answer.range(6..10)?),
        timeout(),
    ));
    seen.doubled_buffer = answer.to_vec();

    // The whole buffer, with no input at all.
    let mut version = Memory::from_bytes(&device, TAG, &[0xAA; 6])?;
    seen.version = Some(target.send_internal_ioctl_synchronously_with_memory(
        IoControlCode::from_raw(IOCTL_INTERNAL_BUS_VERSION),
        None,
        Some(version.whole()),
        timeout(),
    ));
    seen.version_buffer = version.to_vec();

    // Direct I/O: the bus writes the output part's pages.
    let mut pages = Memory::from_bytes(&device, TAG, &[b'-'; 12])?;
    seen.direct = Some(target.send_ioctl_synchronously_with_memory(
        IoControlCode::from_raw(IOCTL_BUS_DIRECT),
        None,
        Some(pages.range(2..10)?),
        timeout(),
    ));
    seen.direct_buffer = pages.to_vec();

    seen.refused_ranges = pages.range(5..5).err() == Some(NtStatus::INVALID_PARAMETER)
        && pages.range(8..13).err() == Some(NtStatus::INTEGER_OVERFLOW)
        && pages.range(12..13).err() == Some(NtStatus::INTEGER_OVERFLOW)
        && pages.range(0..12).is_ok_and(|whole| whole.len() == 12);
    *SEEN.lock().unwrap() = Some(seen);
    Ok(())
}

impl KmdfDriver for Asker {
    const PNP: bool = true;

    fn driver_entry(_driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        Ok(Self)
    }

    fn device_add(&self, mut init: FdoInit<'_, Self>) -> NtResult<()> {
        init.set_pnp_power_callbacks(PnpPowerCallbacks::new().on_prepare_hardware(prepare));
        init.create().map_err(|(_, status)| status)?;
        Ok(())
    }
}

/// A bus that checks the lengths it is given and answers.
fn bus() -> ScriptedDriver {
    common::pnp_bus()
        .on(major::DEVICE_CONTROL, |k, _device, irp| {
            let IrpParameters::DeviceControl {
                code,
                input_length,
                output_length,
            } = k.parameters(irp)
            else {
                panic!("a device control");
            };
            match code {
                IOCTL_BUS_DOUBLE => {
                    assert_eq!((input_length, output_length), (4, 4));
                    let input = k.system_buffer(irp);
                    let value = u32::from_le_bytes(input[..4].try_into().unwrap());
                    k.write_system_buffer(irp, 0, &(value * 2).to_le_bytes())
                        .unwrap();
                    k.complete(irp, NtStatus::SUCCESS, 4);
                    NtStatus::SUCCESS
                }
                IOCTL_BUS_DIRECT => {
                    assert_eq!((input_length, output_length), (0, 8));
                    k.write_mdl_buffer(irp, 0, b"DIRECT!!").unwrap();
                    k.complete(irp, NtStatus::SUCCESS, 8);
                    NtStatus::SUCCESS
                }
                _ => panic!("unexpected IOCTL {code:#x}"),
            }
        })
        .on(major::INTERNAL_DEVICE_CONTROL, |k, _device, irp| {
            let IrpParameters::DeviceControl {
                code,
                input_length,
                output_length,
            } = k.parameters(irp)
            else {
                panic!("an internal device control");
            };
            assert_eq!(code, IOCTL_INTERNAL_BUS_VERSION);
            assert_eq!((input_length, output_length), (0, 6));
            k.write_system_buffer(irp, 0, &7u32.to_le_bytes()).unwrap();
            k.complete(irp, NtStatus::SUCCESS, 4);
            NtStatus::SUCCESS
        })
}

#[test]
fn a_driver_sends_parts_of_its_memory_objects_and_gets_the_answers_in_place() {
    let io = IoManager::new();
    let bus = io.load_driver("bus", bus()).unwrap();
    let driver = io
        .load_driver("askm", wdf_safe::entry_point::<Asker>())
        .unwrap();
    let node = common::started_node(&io, bus, driver, r"\Device\AskmPdo");
    let seen = SEEN.lock().unwrap().take().expect("prepare hardware ran");
    let mut doubled = vec![0xAA; 12];
    doubled[6..10].copy_from_slice(&42u32.to_le_bytes());
    let mut version = vec![0xAA; 6];
    version[..4].copy_from_slice(&7u32.to_le_bytes());
    assert_eq!(
        seen,
        Seen {
            doubled: Some(Ok(4)),
            doubled_buffer: doubled,
            version: Some(Ok(4)),
            version_buffer: version,
            direct: Some(Ok(8)),
            direct_buffer: b"--DIRECT!!--".to_vec(),
            refused_ranges: true,
        }
    );
    assert_eq!(node.remove(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
    io.unload_driver(driver).unwrap();
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}
