//! File objects (`WDFFILEOBJECT`): one per open of a device, with the driver's per-open state.
//!
//! A device init takes a [`FileConfig<D, C>`](FileConfig)
//! ([`ControlDeviceInit::set_file_config`](crate::ControlDeviceInit::set_file_config),
//! [`FdoInit::set_file_config`](crate::FdoInit::set_file_config);
//! `WdfDeviceInitSetFileObjectConfig`): every open of the device then gets a file object whose
//! context is a `C`, made with `C::default()` when the open's `IRP_MJ_CREATE` arrives and
//! dropped when its `IRP_MJ_CLOSE` is done (or, for a refused open, once the create callback
//! has returned), and
//!
//! * `EvtDeviceFileCreate` gets the device, the [`FileObject`] and the create request (a
//!   request of no queue: it has no queue context, and its device is the callback's), which it must
//!   complete (it returns the request's [`RequestDone`]): success opens the handle, a failure
//!   refuses it (and the file object goes at once);
//! * `EvtFileCleanup` runs when the open's last handle is closed (its requests still waiting in
//!   the device's queues are cancelled after it), `EvtFileClose` when the open is gone;
//! * an I/O callback finds its request's open with
//!   [`Request::file_object`](crate::Request::file_object) (`WdfRequestGetFileObject`).
//!
//! A [`FileObject<'a, C>`](FileObject) and the context it gives are borrowed for `'a`: the
//! callback, or the request it was found through, so a context cannot be kept past its open
//! (the `'a` ends before the file object can go).
//!
//! The contexts are `Send + Sync` (several requests of one open can run at once): use atomics
//! or locks inside.
//!
//! IRQL: the file callbacks run at PASSIVE_LEVEL.
//!
//! ```
//! # #[cfg(feature = "host")] fn main() {
//! use core::sync::atomic::{AtomicU32, Ordering};
//! use wdf_safe::device::SDDL_DEVOBJ_SYS_ALL_ADM_ALL;
//! use wdf_safe::file::{FileConfig, FileObject};
//! use wdf_safe::kind::state::Ready;
//! use wdf_safe::kind::{Create, Read};
//! use wdf_safe::{
//!     ControlDeviceInit, Device, DriverContext, KmdfDriver, NtResult, NtStatus, QueueConfig,
//!     Request, RequestDone,
//! };
//!
//! /// Per open: how many reads it made.
//! #[derive(Default)]
//! struct Open {
//!     reads: AtomicU32,
//! }
//!
//! struct Counter;
//!
//! fn on_open<'r>(
//!     _: &Counter,
//!     _device: Device<Counter, Ready>,
//!     _file: FileObject<'r, Open>,
//!     create: Request<'r, Create>,
//! ) -> RequestDone<'r> {
//!     create.complete(NtStatus::SUCCESS)
//! }
//!
//! /// Each read returns how many reads this open made, as one byte.
//! fn on_read<'r>(_: &Counter, request: Request<'r, Read>) -> RequestDone<'r> {
//!     let Some(open) = request.file_object::<Open>() else {
//!         return request.complete(NtStatus::INVALID_DEVICE_STATE);
//!     };
//!     let count = open.context().reads.fetch_add(1, Ordering::SeqCst) + 1;
//!     request.complete_with(|request| {
//!         let out = request.output_buffer(1)?;
//!         out[0] = count as u8;
//!         Ok(1)
//!     })
//! }
//!
//! impl KmdfDriver for Counter {
//!     fn driver_entry(driver: &mut DriverContext<'_, '_, Self>) -> NtResult<Self> {
//!         let mut init = ControlDeviceInit::allocate(driver, SDDL_DEVOBJ_SYS_ALL_ADM_ALL)
//!             .ok_or(NtStatus::INSUFFICIENT_RESOURCES)?;
//!         init.assign_name(r"\Device\Counter")?;
//!         init.set_file_config(FileConfig::new(on_open))?;
//!         let device = init.create(driver).map_err(|(_, status)| status)?;
//!         device.create_symbolic_link(r"\DosDevices\Counter")?;
//!         device.create_default_queue(QueueConfig::parallel().on_read(on_read))?;
//!         let _ready = device.finish_initializing();
//!         Ok(Self)
//!     }
//! }
//!
//! let io = wdm_compat::host::IoManager::new();
//! io.load_driver("counter", wdf_safe::entry_point::<Counter>()).unwrap();
//! let (first, second) = (io.open(r"\\.\Counter").unwrap(), io.open(r"\\.\Counter").unwrap());
//! assert_eq!(first.read(1).data, [1]);
//! assert_eq!(first.read(1).data, [2]);
//! // Another open, another context.
//! assert_eq!(second.read(1).data, [1]);
//! # }
//! # #[cfg(not(feature = "host"))] fn main() {}
//! ```

use core::any::Any;
use core::marker::PhantomData;

use crate::KmdfDriver;
use crate::device::Device;
use crate::kind::state::Ready;
use crate::kind::{Create, RequestKind};
use crate::request::{Request, RequestDone};
use crate::sys::{self, DeviceHandle, FileContext, FileRef, RequestHandle};
use wdm_compat::{NtResult, NtStatus};

/// An open of a device (`WDFFILEOBJECT`) and its context, borrowed for `'a`.
pub struct FileObject<'a, C> {
    _raw: FileRef,
    context: &'a C,
    // A raw pointer inside (the handle): the borrow stays on its thread.
    _not_send: PhantomData<*const ()>,
}

impl<C> FileObject<'_, C> {
    /// The seam's handle, for a DDI that names the open.
    pub(crate) const fn raw(&self) -> FileRef {
        self._raw
    }
}

impl<C> Clone for FileObject<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C> Copy for FileObject<'_, C> {}

impl<'a, C> FileObject<'a, C> {
    /// The open's context (what `C::default()` made at create).
    ///
    /// IRQL: any.
    #[must_use]
    pub const fn context(&self) -> &'a C {
        self.context
    }
}

impl<'a, C: Any> FileObject<'a, C> {
    /// The file object `raw` (lent for `'a`) with its context, if that is a `C`.
    pub(crate) fn lent(raw: FileRef) -> Option<Self> {
        Some(Self {
            _raw: raw,
            context: raw.context::<C>()?,
            _not_send: PhantomData,
        })
    }
}

impl<C> core::fmt::Debug for FileObject<'_, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("FileObject")
    }
}

/// `EvtDeviceFileCreate(Device, Request, FileObject)`: the device, the new open and its create
/// request, which the callback completes.
pub type FileCreateCallback<D, C> =
    for<'r> fn(&D, Device<D, Ready>, FileObject<'r, C>, Request<'r, Create>) -> RequestDone<'r>;

/// `EvtFileCleanup` / `EvtFileClose`, with the open's device (`WdfFileObjectGetDevice`).
pub type FileCallback<D, C> = for<'f> fn(&D, Device<D, Ready>, FileObject<'f, C>);

/// `WDF_FILEOBJECT_CONFIG` with a per-open context of type `C`.
pub struct FileConfig<D: KmdfDriver, C> {
    create: FileCreateCallback<D, C>,
    cleanup: Option<FileCallback<D, C>>,
    close: Option<FileCallback<D, C>>,
}

impl<D: KmdfDriver, C: Default + Send + Sync + 'static> FileConfig<D, C> {
    /// File objects with `on_create` as `EvtDeviceFileCreate`.
    ///
    /// IRQL: any: builds the configuration.
    #[must_use]
    pub const fn new(on_create: FileCreateCallback<D, C>) -> Self {
        Self {
            create: on_create,
            cleanup: None,
            close: None,
        }
    }

    /// `EvtFileCleanup`: the open's last handle was closed.
    ///
    /// IRQL: any: builds the configuration.
    #[must_use]
    pub const fn on_cleanup(mut self, callback: FileCallback<D, C>) -> Self {
        self.cleanup = Some(callback);
        self
    }

    /// `EvtFileClose`: the open is gone (after [`KmdfDriver::on_file_close`]).
    ///
    /// IRQL: any: builds the configuration.
    #[must_use]
    pub const fn on_close(mut self, callback: FileCallback<D, C>) -> Self {
        self.close = Some(callback);
        self
    }

    /// The configuration as the seam keeps it for the device (its record owns it).
    pub(crate) fn keep(self) -> NtResult<sys::FileEventsBox<D>> {
        sys::keep_file_events(self)
    }
}

/// What the seam calls for a device's opens.
impl<D: KmdfDriver, C: Default + Send + Sync + 'static> sys::FileEvents<D> for FileConfig<D, C> {
    fn new_context(&self) -> NtResult<FileContext> {
        FileContext::new(C::default())
    }

    fn create(&self, driver: &D, device: DeviceHandle<D>, file: FileRef, request: RequestHandle) {
        let request = Request::<'_, Create>::from_raw(request);
        let _done = match FileObject::lent(file) {
            Some(file) => (self.create)(driver, Device::new(device), file, request),
            // The seam made the context with `new_context` just before: always a `C`.
            None => request.complete(NtStatus::INVALID_DEVICE_STATE),
        };
    }

    fn handles_cleanup(&self) -> bool {
        self.cleanup.is_some()
    }

    fn cleanup(&self, driver: &D, device: DeviceHandle<D>, file: FileRef) {
        if let (Some(callback), Some(file)) = (self.cleanup, FileObject::lent(file)) {
            callback(driver, Device::new(device), file);
        }
    }

    fn close(&self, driver: &D, device: DeviceHandle<D>, file: FileRef) {
        if let (Some(callback), Some(file)) = (self.close, FileObject::lent(file)) {
            callback(driver, Device::new(device), file);
        }
    }
}

impl<K: RequestKind> Request<'_, K> {
    /// `WdfRequestGetFileObject`: the open the request came through, with its context, if the
    /// device has file objects with a context of type `C` (see [`file`](mod@crate::file)). Borrowed
    /// from the request: the context cannot outlive it.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn file_object<C: Any>(&self) -> Option<FileObject<'_, C>> {
        FileObject::lent(self.raw_ref()?.file_object()?)
    }
}
