//! The seam: the only module of this crate allowed to contain `unsafe`, and the one place that
//! knows which framework the crate runs on.
//!
//! The public types ([`crate::Device`], [`crate::Queue`], [`crate::Request`], …) each hold one
//! handle of this module and add the typestate; the handles' methods are the framework calls,
//! shaped like the KMDF DDIs they stand for, so a backend implements each with one DDI call:
//!
//! | handle | KMDF object | calls |
//! |---|---|---|
//! | `DriverHandle` | `WDFDRIVER` in `DriverEntry` | `create_control_device` (`WdfDeviceCreate` on a control init) |
//! | `DeviceHandle<D>` | `WDFDEVICE` (and the FDO's `PWDFDEVICE_INIT` before create) | `fdo_init_set_filter`, `fdo_init_update` (`WdfDeviceInitSet*`), `fdo_create`, `init_settings`, `allocate_context`, `context`, `create_queue`, `configure_request_dispatching`, `on_cleanup`, `create_symbolic_link`, `create_device_interface`, `finish_initializing`, `retrieve_next_request`, `stop_queue`, `start_queue`, `purge_queue` |
//! | `QueueHandle` | `WDFQUEUE` | `queued` |
//! | `RequestHandle` | `WDFREQUEST` (unique) | `request_type`, `parameters`, `set_information`, `information`, `complete`, `forward_to_queue`, `default_io_target`, `send_and_forget`, `send_observed`, `is_canceled`, `read_buffer`, `write_buffer`, `ioctl_input`, `ioctl_output`, `mark_cancelable`, `unmark_cancelable`, `leave_to_cancel_routine`, `dropped` |
//! | `IoTargetHandle` | `WDFIOTARGET` | (passed to the sends) |
//!
//! plus `check_passive(ddi)` for the PASSIVE_LEVEL checks the KMDF verifier makes.
//!
//! | backend | selected by | implements the calls with |
//! |---|---|---|
//! | `host` | feature `host` | the simulated KMDF in [`crate::host`], over wdm-compat's simulated I/O manager |
//! | `wdk` | feature `wdk` on a Windows target (a KMDF driver package) | the real KMDF, through wdk-sys's `call_unsafe_wdf_function_binding!` (its module docs list every DDI with its IRQL) |
//! | `none` | anything else | nothing: the handles are uninhabited, so the typestate API builds (and is checked) for a bare `no_std` target such as `x86_64-unknown-none` |

#[cfg(feature = "host")]
mod irp_cell;
#[cfg(feature = "host")]
pub(crate) use irp_cell::{HasIrpCell, IrpCell, IrpSlot, claim};

#[cfg(feature = "host")]
pub(crate) use crate::host::{
    DeviceHandle, DriverHandle, IoTargetHandle, QueueHandle, RequestHandle, check_passive,
};

#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
pub(crate) mod wdk;
#[cfg(all(not(feature = "host"), feature = "wdk", target_os = "windows"))]
pub(crate) use wdk::{
    DeviceHandle, DriverHandle, IoTargetHandle, QueueHandle, RequestHandle, check_passive,
};

#[cfg(not(any(feature = "host", all(feature = "wdk", target_os = "windows"))))]
mod none;
#[cfg(not(any(feature = "host", all(feature = "wdk", target_os = "windows"))))]
pub(crate) use none::{
    DeviceHandle, DriverHandle, IoTargetHandle, QueueHandle, RequestHandle, check_passive,
};

pub(crate) mod wait_lock;
