//! A simulated NT I/O manager (feature `host`).
//!
//! Drivers written with this crate run here unchanged, in ordinary `cargo test` on any OS: the
//! simulation hands them driver objects, device objects and IRPs through the same seam the
//! kernel backends use, and behaves like Windows with Driver Verifier switched on.
//!
//! What it simulates:
//!
//! * **Drivers** ([`IoManager::load_driver`], [`IoManager::unload_driver`]): `DriverEntry`
//!   with a fresh driver object, the major-function table (unset entries complete with
//!   `STATUS_INVALID_DEVICE_REQUEST`, like `IopInvalidDeviceRequest`), `DriverUnload`.
//! * **Device objects**: `IoCreateDevice` (names, collisions, `DO_DEVICE_INITIALIZING`, which
//!   the I/O manager clears for devices created inside `DriverEntry`), `IoDeleteDevice`,
//!   `IoAttachDeviceToDeviceStack` (to the current top; `StackSize` = lower + 1),
//!   `IoDetachDevice`, symbolic links (`\DosDevices\X`, `\??\X` and `\GLOBAL??\X` are one
//!   namespace, opened from user mode as `\\.\X`).
//! * **IRPs** with one stack location per device in the stack: `IoCallDriver`, skip / copy,
//!   completion routines run bottom-up on `IoCompleteRequest` with `PendingReturned`
//!   propagation, `STATUS_MORE_PROCESSING_REQUIRED` halting completion (a later completion
//!   resumes above), `IoMarkIrpPending`, cancel routines and `IoCancelIrp` with the cancel spin
//!   lock, `DriverContext[0]`.
//! * **A user-mode side** ([`IoManager::open`], [`FileHandle`]): create, read, write,
//!   `DeviceIoControl`, internal device control, cleanup and close, with the buffering of
//!   `DO_BUFFERED_IO` / `DO_DIRECT_IO` devices and the four IOCTL transfer methods, and
//!   asynchronous requests that can be cancelled ([`IoOperation`]).
//! * **PnP** enough for filter drivers ([`IoManager::create_device_node`], [`DeviceNode`]):
//!   a PDO owned by a bus driver, `AddDevice` of the function driver and upper filters, and
//!   `IRP_MN_START_DEVICE`, `IRP_MN_SURPRISE_REMOVAL`, `IRP_MN_REMOVE_DEVICE`.
//! * **IRQL** per thread: dispatch routines at the caller's IRQL (PASSIVE from user mode),
//!   cancel routines at DISPATCH_LEVEL, `KeRaiseIrql` / `KeLowerIrql`.
//! * **`DbgPrint`** capture ([`IoManager::trace`]); lines are echoed to stderr when the
//!   environment variable `WDF_SAFE_TRACE` is `1`.
//! * **A verifier**, on by default ([`Violation`]): the Driver Verifier I/O checks (bug check
//!   0xC9 subcodes, 0x44 for a double completion, …) and the run-time form of the SDV rules
//!   named in the facts file. In strict mode (the default) the next operation the test makes
//!   panics with the report; [`IoManager::set_strict`]`(false)` records instead.
//! * **Scripted drivers** ([`ScriptedDriver`], [`KernelCalls`]): drivers made of closures that
//!   use raw, C-like kernel calls, so a test can play a buggy C driver, a bus driver or the
//!   function driver under a filter, without `unsafe`.
//!
//! Driver and device objects are leaked on purpose (one per driver or device) so a stale pointer
//! to one is a state error the verifier reports, never undefined behaviour. IRPs *retire*: once
//! an IRP completed and neither its originator nor a [`probe`](IoManager::probe) holds it, the
//! simulation forgets it ([`IoManager::live_irps`] counts those it holds); completing it again
//! by its id is a double completion (0x44), passing it down a reported error, and other calls
//! on it read defaults. The memory behind an IRP pointer lives as long as any driver handle to
//! it. The `DbgPrint` trace keeps the newest lines only
//! ([`IoManager::set_trace_capacity`]). So a simulation stays flat under any number of
//! requests. Each [`IoManager`] is independent: tests running in parallel each build their own.
//!
//! Simplifications relative to Windows are listed on the items they concern; the main ones:
//!
//! * a file object per handle, but no `FsContext` and no file-system semantics (no byte
//!   offsets kept, no share access);
//! * security is the device's SDDL DACL against a caller who is an administrator, the system, or
//!   neither ([`OpenOptions`]); no tokens, privileges or auditing;
//! * power: the set-power requests a test sends ([`DeviceNode::set_device_power`],
//!   [`DeviceNode::set_system_power`]) and the device power requests a power policy owner
//!   asks for ([`KernelCalls::request_device_power`]), with no power manager deciding them, no
//!   query-power and no idle detection;
//! * no DPCs, timers or work items: code runs on the thread that sent the request, at the
//!   simulated IRQL;
//! * the cancel spin lock is a record of who holds it rather than a lock that makes other
//!   processors wait;
//! * one IoManager per test, fully independent; no kernel objects other than drivers, devices,
//!   file objects and IRPs.

mod irql;
mod manager;
mod pnp;
mod scripted;
mod security;
mod unit;
mod user;
mod verifier;

pub use manager::{DeviceInfo, DriverEntry, IoManager, IrpProbe, TrackedCompletion};
pub use pnp::{DeviceNode, DeviceNodeConfig};
pub use scripted::{IrpParameters, IrpView, KernelCalls, ScriptedDriver};
pub use security::{Access, Caller, OpenOptions};
pub use unit::{DispatchHarness, DispatchOutcome};
pub use user::{FileHandle, IoOperation, IoResult};
pub use verifier::{
    BugCheck, BugCheckRaised, Violation, ViolationSeverity, current_irql as simulated_irql,
    report_framework_violation, spin_lock_held,
};

pub(crate) use irql::{current_irql, lower_irql, raise_irql};
pub(crate) use manager::{DeviceObj, DriverObj, IrpObj};
pub(crate) use verifier::{
    allocation_refused_current, bug_check_current, dbg_print_current, paged_access_refused_current,
    paged_allocation_refused_current, pool_allocated_current, pool_freed_current,
    report_bug_check_current, report_driver_panic_current, report_rule_bug_check_current,
    rule_bug_check_current,
};

/// Identifies a driver loaded into an [`IoManager`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DriverId(pub(crate) usize);

/// Identifies a device object of an [`IoManager`] (also after it was deleted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId(pub(crate) usize);

/// A file object of an [`IoManager`]: one per handle the user-mode side opened
/// (`IrpSp->FileObject` of the IRPs sent through it), as a driver tells one open from another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileObject(pub(crate) usize);

/// Identifies an IRP of an [`IoManager`], also after it completed and retired: the slot it
/// occupies while alive and its serial number, which no other IRP of that manager shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IrpId {
    pub(crate) serial: usize,
    pub(crate) slot: usize,
}

impl DriverId {
    /// The driver's index in its manager (in load order, from 0).
    #[must_use]
    pub const fn index(self) -> usize {
        self.0
    }
}

impl DeviceId {
    /// The device's index in its manager (in creation order, from 0).
    #[must_use]
    pub const fn index(self) -> usize {
        self.0
    }
}

impl IrpId {
    /// The IRP's serial number in its manager (in allocation order, from 0); verifier messages
    /// call it `IRP #n` and bug check 0x44 reports it as P1.
    #[must_use]
    pub const fn index(self) -> usize {
        self.serial
    }

    /// As [`index`](Self::index), for the simulation's messages.
    pub(crate) const fn number(self) -> usize {
        self.serial
    }

    /// An id no IRP has (for a request that never reached a driver).
    pub(crate) const NONE: Self = Self {
        serial: usize::MAX,
        slot: usize::MAX,
    };
}

/// Major function codes (`IRP_MJ_*`) used by the simulation and handy for scripted drivers.
pub mod major {
    /// `IRP_MJ_CREATE`.
    pub const CREATE: u8 = 0x00;
    /// `IRP_MJ_CLOSE`.
    pub const CLOSE: u8 = 0x02;
    /// `IRP_MJ_READ`.
    pub const READ: u8 = 0x03;
    /// `IRP_MJ_WRITE`.
    pub const WRITE: u8 = 0x04;
    /// `IRP_MJ_QUERY_INFORMATION`.
    pub const QUERY_INFORMATION: u8 = 0x05;
    /// `IRP_MJ_SET_INFORMATION`.
    pub const SET_INFORMATION: u8 = 0x06;
    /// `IRP_MJ_DEVICE_CONTROL`.
    pub const DEVICE_CONTROL: u8 = 0x0e;
    /// `IRP_MJ_INTERNAL_DEVICE_CONTROL`.
    pub const INTERNAL_DEVICE_CONTROL: u8 = 0x0f;
    /// `IRP_MJ_CLEANUP`.
    pub const CLEANUP: u8 = 0x12;
    /// `IRP_MJ_POWER`.
    pub const POWER: u8 = 0x16;
    /// `IRP_MJ_PNP`.
    pub const PNP: u8 = 0x1b;

    /// The `IRP_MJ_*` name of `major`.
    #[must_use]
    pub const fn name(major: u8) -> &'static str {
        match major {
            0x00 => "IRP_MJ_CREATE",
            0x01 => "IRP_MJ_CREATE_NAMED_PIPE",
            0x02 => "IRP_MJ_CLOSE",
            0x03 => "IRP_MJ_READ",
            0x04 => "IRP_MJ_WRITE",
            0x05 => "IRP_MJ_QUERY_INFORMATION",
            0x06 => "IRP_MJ_SET_INFORMATION",
            0x09 => "IRP_MJ_FLUSH_BUFFERS",
            0x0e => "IRP_MJ_DEVICE_CONTROL",
            0x0f => "IRP_MJ_INTERNAL_DEVICE_CONTROL",
            0x10 => "IRP_MJ_SHUTDOWN",
            0x12 => "IRP_MJ_CLEANUP",
            0x16 => "IRP_MJ_POWER",
            0x17 => "IRP_MJ_SYSTEM_CONTROL",
            0x1b => "IRP_MJ_PNP",
            _ => "IRP_MJ_(other)",
        }
    }
}

/// PnP minor function codes (`IRP_MN_*`) the simulation sends.
pub mod pnp_minor {
    /// `IRP_MN_START_DEVICE`.
    pub const START_DEVICE: u8 = 0x00;
    /// `IRP_MN_REMOVE_DEVICE`.
    pub const REMOVE_DEVICE: u8 = 0x02;
    /// `IRP_MN_STOP_DEVICE`.
    pub const STOP_DEVICE: u8 = 0x04;
    /// `IRP_MN_QUERY_STOP_DEVICE`.
    pub const QUERY_STOP_DEVICE: u8 = 0x05;
    /// `IRP_MN_SURPRISE_REMOVAL`.
    pub const SURPRISE_REMOVAL: u8 = 0x17;
}

/// Power minor function codes (`IRP_MN_*` of `IRP_MJ_POWER`) the simulation sends.
pub mod power_minor {
    /// `IRP_MN_SET_POWER`.
    pub const SET_POWER: u8 = 0x02;
    /// `IRP_MN_QUERY_POWER`.
    pub const QUERY_POWER: u8 = 0x03;
}

/// Device object flags (`DO_*`) a test may set on devices it creates through [`KernelCalls`].
pub mod flags {
    /// `DO_BUFFERED_IO`.
    pub const DO_BUFFERED_IO: u32 = crate::sys::DO_BUFFERED_IO;
    /// `DO_DIRECT_IO`.
    pub const DO_DIRECT_IO: u32 = crate::sys::DO_DIRECT_IO;
    /// `DO_DEVICE_INITIALIZING`.
    pub const DO_DEVICE_INITIALIZING: u32 = crate::sys::DO_DEVICE_INITIALIZING;
    /// `DO_POWER_PAGABLE`.
    pub const DO_POWER_PAGABLE: u32 = crate::sys::DO_POWER_PAGABLE;
}

/// IRQL values.
pub mod irql_level {
    /// `PASSIVE_LEVEL`.
    pub const PASSIVE_LEVEL: u8 = 0;
    /// `APC_LEVEL`.
    pub const APC_LEVEL: u8 = 1;
    /// `DISPATCH_LEVEL`.
    pub const DISPATCH_LEVEL: u8 = 2;
}
