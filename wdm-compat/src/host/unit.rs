//! Unit tests of one dispatch routine: [`DispatchHarness`] hands a routine a real IRP, with the
//! completer the test picks, and reports what became of it.
//!
//! A driver's dispatch logic is written once, generic over `C: IrpCompleter`; the driver uses
//! [`SystemCompleter`](crate::SystemCompleter), a test `TrackingCompleter` (feature `tracking`:
//! to see what was completed) or [`NoopCompleter`](crate::NoopCompleter) (to look only at the status the routine
//! returns). The harness needs no `DriverEntry`, device or link from the test: it loads a
//! one-device driver of its own into a private simulation, whose dispatch routine runs the
//! routine under test on the IRP of each request the test sends.

use core::any::Any;
use core::cell::RefCell;
use core::marker::PhantomData;
use std::boxed::Box;
use std::vec::Vec;

use super::{IoManager, IoOperation, IoResult, IrpId, TrackedCompletion, Violation};
use crate::device::{Device, DeviceConfig, IoType, NamedDevice};
use crate::dispatch::DispatchStatus;
use crate::driver::{DriverSetup, WdmDriver, entry_point_with};
use crate::irp::{Irp, IrpCompleter};
use crate::status::{NtResult, NtStatus};

/// The routine under test, boxed for the harness driver to take.
type Routine<C> = Box<dyn for<'r> FnOnce(Irp<'r, C>) -> DispatchStatus<'r>>;

std::thread_local! {
    /// The routine for the next IRP the harness driver receives. The simulation calls a
    /// dispatch routine on the thread that sent the request, so a slot per thread is enough
    /// and tests running in parallel never share one.
    static NEXT_ROUTINE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

/// The harness's own driver: one buffered control device whose every read, write and IOCTL
/// runs the routine the test gave.
struct HarnessDriver<C> {
    _device: NamedDevice<()>,
    _completer: PhantomData<fn() -> C>,
}

const DEVICE_NAME: &str = r"\Device\WdmCompatDispatchHarness";
const LINK_NAME: &str = r"\DosDevices\WdmCompatDispatchHarness";
const USER_PATH: &str = r"\\.\WdmCompatDispatchHarness";

impl<C: IrpCompleter> HarnessDriver<C> {
    fn run<'r>(irp: Irp<'r, C>) -> DispatchStatus<'r> {
        let routine = NEXT_ROUTINE
            .with(|slot| slot.borrow_mut().take())
            .and_then(|routine| routine.downcast::<Routine<C>>().ok());
        match routine {
            Some(routine) => routine(irp),
            // A request the test did not send through the harness (none can be: the device is
            // the harness's own).
            None => irp.complete(NtStatus::INVALID_DEVICE_REQUEST),
        }
    }
}

impl<C: IrpCompleter> WdmDriver<C> for HarnessDriver<C> {
    type DeviceExtension = ();

    fn driver_entry(setup: &mut DriverSetup<'_, ()>) -> NtResult<Self> {
        let device = setup.create_device(
            &DeviceConfig::named(DEVICE_NAME).io_type(IoType::Buffered),
            (),
        )?;
        let device = device
            .create_symbolic_link(LINK_NAME)
            .map_err(|(_, status)| status)?;
        Ok(Self {
            _device: device,
            _completer: PhantomData,
        })
    }

    fn on_read<'r>(&self, _device: &Device<()>, irp: Irp<'r, C>) -> DispatchStatus<'r> {
        Self::run(irp)
    }

    fn on_write<'r>(&self, _device: &Device<()>, irp: Irp<'r, C>) -> DispatchStatus<'r> {
        Self::run(irp)
    }

    fn on_device_control<'r>(&self, _device: &Device<()>, irp: Irp<'r, C>) -> DispatchStatus<'r> {
        Self::run(irp)
    }
}

/// What became of one IRP a [`DispatchHarness`] handed to a routine, when the routine
/// returned. A routine that pended the IRP leaves it to later: [`cancel`](Self::cancel),
/// [`result_now`](Self::result_now) and [`tracked_now`](Self::tracked_now) look at it then.
#[derive(Debug, Clone)]
pub struct DispatchOutcome {
    /// The IRP; `None` when the request never reached the driver.
    pub irp: Option<IrpId>,
    /// What the routine returned (its [`DispatchStatus`]).
    pub returned: NtStatus,
    /// What the caller got, once the IRP completed (with `SystemCompleter` or
    /// `TrackingCompleter`); `None` while it is pending or when nothing completed it
    /// (`NoopCompleter`).
    pub result: Option<IoResult>,
    /// The completions `TrackingCompleter` recorded on the IRP, oldest first.
    pub tracked: Vec<TrackedCompletion>,
    /// What the verifier reported during the request (a `NoopCompleter` routine that returns
    /// success without completing is reported, as it would be in a driver).
    pub violations: Vec<Violation>,
    /// The request, kept so its IRP stays readable while the outcome lives.
    operation: Option<IoOperation>,
}

impl DispatchOutcome {
    /// `CancelIo` on the request: whether a cancel routine was called.
    pub fn cancel(&self) -> bool {
        self.operation.as_ref().is_some_and(IoOperation::cancel)
    }

    /// The request's result as it stands now (`None` while it is still pending).
    #[must_use]
    pub fn result_now(&self) -> Option<IoResult> {
        self.operation.as_ref().and_then(IoOperation::result)
    }

    /// What the verifier reported since the outcome was made (or the last call of this) in
    /// the harness's simulation: reports about a pended IRP, made when it was cancelled or
    /// completed later.
    #[must_use]
    pub fn violations_now(&self) -> Vec<Violation> {
        self.operation
            .as_ref()
            .map_or_else(Vec::new, |operation| operation.manager().take_violations())
    }

    /// The completions `TrackingCompleter` recorded on the IRP so far.
    #[must_use]
    pub fn tracked_now(&self) -> Vec<TrackedCompletion> {
        self.operation.as_ref().map_or_else(Vec::new, |operation| {
            operation
                .manager()
                .probe(operation.irp())
                .tracked_completions()
        })
    }
}

/// Runs dispatch routines on real IRPs with the completer `C`, without a driver of the test's
/// own.
///
/// The simulation runs non-strict: what the verifier reports comes back in each
/// [`DispatchOutcome`] instead of failing the next call.
///
/// ```
/// # #[cfg(feature = "tracking")] fn main() {
/// use wdm_compat::host::DispatchHarness;
/// use wdm_compat::{DispatchStatus, Irp, IrpCompleter, NtStatus, TrackingCompleter};
///
/// // The driver's logic, generic over the completer.
/// fn on_read<'r, C: IrpCompleter>(mut irp: Irp<'r, C>) -> DispatchStatus<'r> {
///     irp.complete_with(|request| {
///         let out = request.read_buffer()?;
///         out.fill(0x5A);
///         Ok(out.len())
///     })
/// }
///
/// let harness = DispatchHarness::<TrackingCompleter>::new();
/// let outcome = harness.read(4, on_read);
/// assert_eq!(outcome.returned, NtStatus::SUCCESS);
/// assert_eq!(outcome.tracked.len(), 1);
/// assert_eq!(outcome.tracked[0].information, 4);
/// assert_eq!(outcome.result.unwrap().data, [0x5A; 4]);
/// assert!(outcome.violations.is_empty());
/// # }
/// # #[cfg(not(feature = "tracking"))] fn main() {}
/// ```
pub struct DispatchHarness<C: IrpCompleter> {
    manager: IoManager,
    handle: super::FileHandle,
    _completer: PhantomData<fn() -> C>,
}

impl<C: IrpCompleter> DispatchHarness<C> {
    /// A private simulation with the harness driver loaded and its device opened.
    ///
    /// # Panics
    ///
    /// If the harness driver does not load (a bug in this crate): this is test code.
    #[must_use]
    #[allow(
        clippy::expect_used,
        reason = "test support; a failure here is this crate's bug"
    )]
    pub fn new() -> Self {
        let manager = IoManager::new();
        manager.set_strict(false);
        manager
            .load_driver(
                "dispatch-harness",
                entry_point_with::<HarnessDriver<C>, C>(),
            )
            .expect("the dispatch harness driver loads");
        let handle = manager
            .open(USER_PATH)
            .expect("the dispatch harness device opens");
        Self {
            manager,
            handle,
            _completer: PhantomData,
        }
    }

    /// The simulation behind the harness (its trace, IRP probes, IRQL…).
    #[must_use]
    pub const fn manager(&self) -> &IoManager {
        &self.manager
    }

    /// Sends a read of `length` bytes and hands its IRP to `routine`.
    pub fn read(
        &self,
        length: usize,
        routine: impl for<'r> FnOnce(Irp<'r, C>) -> DispatchStatus<'r> + 'static,
    ) -> DispatchOutcome {
        self.run(routine, |handle| handle.read_async(length))
    }

    /// Sends a write of `data` and hands its IRP to `routine`.
    pub fn write(
        &self,
        data: &[u8],
        routine: impl for<'r> FnOnce(Irp<'r, C>) -> DispatchStatus<'r> + 'static,
    ) -> DispatchOutcome {
        self.run(routine, |handle| handle.write_async(data))
    }

    /// Sends `DeviceIoControl(code)` with `input` and room for `output_length` bytes, and hands
    /// its IRP to `routine`.
    pub fn device_control(
        &self,
        code: u32,
        input: &[u8],
        output_length: usize,
        routine: impl for<'r> FnOnce(Irp<'r, C>) -> DispatchStatus<'r> + 'static,
    ) -> DispatchOutcome {
        self.run(routine, |handle| {
            handle.device_io_control_async(code, input, output_length)
        })
    }

    fn run(
        &self,
        routine: impl for<'r> FnOnce(Irp<'r, C>) -> DispatchStatus<'r> + 'static,
        send: impl FnOnce(&super::FileHandle) -> Result<super::IoOperation, NtStatus>,
    ) -> DispatchOutcome {
        /// Empties the slot when the request is over, even if sending it panicked, so a
        /// routine never waits there for another request.
        struct ClearSlot;
        impl Drop for ClearSlot {
            fn drop(&mut self) {
                let left = NEXT_ROUTINE.with(|slot| slot.replace(None));
                drop(left);
            }
        }
        let boxed: Routine<C> = Box::new(routine);
        let previous = NEXT_ROUTINE.with(|slot| slot.replace(Some(Box::new(boxed))));
        drop(previous);
        let clear = ClearSlot;
        let sent = send(&self.handle);
        drop(clear);
        match sent {
            Ok(operation) => {
                let probe = self.manager.probe(operation.irp());
                let result = operation
                    .is_complete()
                    .then(|| operation.result())
                    .flatten();
                DispatchOutcome {
                    irp: Some(operation.irp()),
                    returned: operation.returned(),
                    result,
                    tracked: probe.tracked_completions(),
                    violations: self.manager.take_violations(),
                    operation: Some(operation),
                }
            }
            Err(status) => DispatchOutcome {
                irp: None,
                returned: status,
                result: None,
                tracked: Vec::new(),
                violations: self.manager.take_violations(),
                operation: None,
            },
        }
    }
}

impl<C: IrpCompleter> Default for DispatchHarness<C> {
    fn default() -> Self {
        Self::new()
    }
}
