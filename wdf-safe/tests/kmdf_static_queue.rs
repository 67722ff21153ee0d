//! Queues whose configuration is a constant (`StaticQueue`), through the shipped seam and the
//! simulated KMDF: KMDF's `EvtIo*` calls the driver's function directly, with no record read
//! per request. The tests check that nothing else changes: each request type reaches its
//! callback and the others get the framework's default, buffers are checked, a device's
//! request contexts are made before the callback (and only on such a device) and dropped with
//! the request, and an IOCTL costs the three framework calls a C driver makes.
#![cfg(feature = "host")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::atomic::{AtomicU32, Ordering};

use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
use wdf_safe::kind::state::Ready;
use wdf_safe::kind::{DeviceControl, Manual, Parallel, Read};
use wdf_safe::queue::StaticQueue;
use wdf_safe::{
    AnyRequest, ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, Queue,
    QueueConfig, Request, RequestDone, SpinLock,
};
use wdm_compat::host::IoManager;

/// A request's context: how many callbacks saw it.
#[derive(Default)]
struct Hops {
    seen: AtomicU32,
}
wdf_safe::declare_context_type!(Hops);

static HOPS_DROPPED: AtomicU32 = AtomicU32::new(0);

impl Drop for Hops {
    fn drop(&mut self) {
        HOPS_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

/// `CTL_CODE(0x8000, 0x801, METHOD_BUFFERED, FILE_ANY_ACCESS)`: doubles a `u32`.
const IOCTL_DOUBLE: u32 = 0x8000_2004;
/// `CTL_CODE(0x8000, 0x802, METHOD_BUFFERED, FILE_ANY_ACCESS)`: completes the parked read.
const IOCTL_RELEASE: u32 = 0x8000_2008;

/// The device and the queue reads wait in.
type Parked<D> = (Device<D, Ready>, Queue<Manual>);

/// A control device whose queues are constants; with `CONTEXTS`, its requests carry [`Hops`].
struct Fixed<const CONTEXTS: bool> {
    device: SpinLock<Option<Parked<Self>>>,
}

impl<const CONTEXTS: bool> Fixed<CONTEXTS> {
    const NAME: &str = if CONTEXTS {
        r"\Device\FixedHops"
    } else {
        r"\Device\Fixed"
    };
    const LINK: &str = if CONTEXTS {
        r"\DosDevices\FixedHops"
    } else {
        r"\DosDevices\Fixed"
    };
    const PATH: &str = if CONTEXTS {
        r"\\.\FixedHops"
    } else {
        r"\\.\Fixed"
    };

    fn parked(&self) -> Option<Parked<Self>> {
        *self.device.lock()
    }
}

/// A read counts a hop in its context (when it has one) and waits in the manual queue, or, if
/// it asks for 5 bytes, is answered at once.
fn on_read<'r, const C: bool>(driver: &Fixed<C>, request: Request<'r, Read>) -> RequestDone<'r> {
    match request.context::<Hops>() {
        Some(hops) => assert_eq!(hops.seen.fetch_add(1, Ordering::SeqCst), 0),
        None => assert!(!C, "a request of a device with request contexts has one"),
    }
    if request.length() == 5 {
        return request.complete_with(|request| {
            request.output_buffer(5)?.copy_from_slice(b"fixed");
            Ok(5)
        });
    }
    let Some((_, parked)) = driver.parked() else {
        return request.complete(NtStatus::INVALID_DEVICE_STATE);
    };
    match request.forward_to_queue(&parked) {
        Ok(done) => done,
        Err((request, status)) => request.complete(status),
    }
}

/// `IOCTL_DOUBLE` answers twice its `u32`; `IOCTL_RELEASE` completes the parked read with its
/// hop count (plus this one).
fn on_ioctl<'r, const C: bool>(
    driver: &Fixed<C>,
    request: Request<'r, DeviceControl>,
) -> RequestDone<'r> {
    match request.ioctl_code().to_raw() {
        IOCTL_DOUBLE => request.complete_with(|request| {
            let value: u32 = request.read_input()?;
            request.write_output(&(value * 2))
        }),
        IOCTL_RELEASE => {
            let Some((device, parked)) = driver.parked() else {
                return request.complete(NtStatus::INVALID_DEVICE_STATE);
            };
            let Ok(AnyRequest::Read(read)) = device.retrieve_next_request(&parked) else {
                return request.complete(NtStatus::NOT_FOUND);
            };
            let hops = read
                .context::<Hops>()
                .map_or(0, |hops| hops.seen.fetch_add(1, Ordering::SeqCst) + 1);
            let _done = read.complete_with_information(NtStatus::SUCCESS, hops as usize);
            request.complete(NtStatus::SUCCESS)
        }
        _ => request.complete(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// The default queue: reads and IOCTLs; writes have no callback.
struct Presented;

impl<const C: bool> StaticQueue<Fixed<C>> for Presented {
    type Kind = Parallel;
    const CONFIG: QueueConfig<Parallel, Fixed<C>> = QueueConfig::parallel()
        .on_read(on_read::<C>)
        .on_device_control(on_ioctl::<C>);
}

/// Where reads wait.
struct Waiting;

impl<const C: bool> StaticQueue<Fixed<C>> for Waiting {
    type Kind = Manual;
    const CONFIG: QueueConfig<Manual, Fixed<C>> = QueueConfig::manual();
}

impl<const CONTEXTS: bool> KmdfDriver for Fixed<CONTEXTS> {
    fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
        let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
            .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
        init.assign_name(Self::NAME)?;
        if CONTEXTS {
            init.set_request_context::<Hops>();
        }
        let device = init.create(driver).map_err(|(_, status)| status)?;
        device.create_symbolic_link(Self::LINK)?;
        device.create_static_default_queue::<Presented>()?;
        let parked = device.create_static_queue::<Waiting>()?;
        let device = device.finish_initializing();
        Ok(Self {
            device: SpinLock::new(Some((device, parked))),
        })
    }
}

fn load<const CONTEXTS: bool>(io: &IoManager) {
    io.load_driver("fixed", wdf_safe::entry_point::<Fixed<CONTEXTS>>())
        .unwrap();
}

#[test]
fn each_request_type_reaches_its_constant_callback_and_the_others_get_the_framework_default() {
    let io = IoManager::new();
    load::<false>(&io);
    let handle = io.open(Fixed::<false>::PATH).unwrap();
    let read = handle.read(5);
    assert_eq!(
        (read.status, read.data.as_slice()),
        (NtStatus::SUCCESS, &b"fixed"[..])
    );
    let doubled = handle.device_io_control(IOCTL_DOUBLE, &21_u32.to_le_bytes(), 4);
    assert_eq!(doubled.status, NtStatus::SUCCESS);
    assert_eq!(
        (doubled.information, doubled.data),
        (4, 42_u32.to_le_bytes().to_vec())
    );
    // No write callback: KMDF completes writes itself.
    assert_eq!(
        handle.write(b"abc").status,
        NtStatus::INVALID_DEVICE_REQUEST
    );
    // Buffers one byte short, and absent, are refused before anything is read or written.
    for (input, output) in [(&[1_u8, 2, 3][..], 4), (&[][..], 4), (&[1, 0, 0, 0][..], 3)] {
        let refused = handle.device_io_control(IOCTL_DOUBLE, input, output);
        assert_eq!(
            (refused.status, refused.information),
            (NtStatus::BUFFER_TOO_SMALL, 0),
            "input {input:?}, output {output}"
        );
    }
    assert_eq!(
        handle.device_io_control(0x8000_200C, &[], 0).status,
        NtStatus::INVALID_DEVICE_REQUEST
    );
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn requests_on_constant_queues_carry_their_device_s_request_context_until_completed() {
    let io = IoManager::new();
    load::<true>(&io);
    let handle = io.open(Fixed::<true>::PATH).unwrap();
    let dropped = HOPS_DROPPED.load(Ordering::SeqCst);
    let read = handle.read_async(4).unwrap();
    assert!(!read.is_complete());
    assert_eq!(
        handle.device_io_control(IOCTL_RELEASE, &[], 0).status,
        NtStatus::SUCCESS
    );
    // Seen by the read callback, then by the IOCTL that retrieved it: one context throughout.
    let result = read.result().unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 2));
    // The read's and the IOCTL's contexts went with their requests.
    assert_eq!(HOPS_DROPPED.load(Ordering::SeqCst) - dropped, 2);
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn a_device_without_request_contexts_gives_its_requests_none() {
    let io = IoManager::new();
    load::<false>(&io);
    let handle = io.open(Fixed::<false>::PATH).unwrap();
    let read = handle.read_async(4).unwrap();
    assert_eq!(
        handle.device_io_control(IOCTL_RELEASE, &[], 0).status,
        NtStatus::SUCCESS
    );
    // `on_read` asserted the read had no context; the release found none to count.
    let result = read.result().unwrap();
    assert_eq!((result.status, result.information), (NtStatus::SUCCESS, 0));
    drop(read);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
    assert!(io.violations().is_empty(), "{:#?}", io.violations());
}

#[test]
fn an_ioctl_on_a_constant_queue_costs_the_three_framework_calls_of_a_c_driver() {
    let io = IoManager::new();
    load::<false>(&io);
    let handle = io.open(Fixed::<false>::PATH).unwrap();
    let before = kmdf_sim::framework_calls(&io);
    for value in 0..10_u32 {
        let answer = handle.device_io_control(IOCTL_DOUBLE, &value.to_le_bytes(), 4);
        assert_eq!(answer.data, (value * 2).to_le_bytes());
    }
    // WdfRequestRetrieveInputBuffer, WdfRequestRetrieveOutputBuffer,
    // WdfRequestCompleteWithInformation: no context lookup, no parameters asked again.
    assert_eq!(kmdf_sim::framework_calls(&io) - before, 30);
    assert_eq!(handle.close(), NtStatus::SUCCESS);
}
