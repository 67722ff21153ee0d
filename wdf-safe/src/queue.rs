//! `WDFQUEUE` in types: the dispatch kind is a type parameter.
//!
//! * [`QueueConfig::sequential`] and [`QueueConfig::parallel`] take callbacks
//!   (`EvtIoRead`, `EvtIoWrite`, `EvtIoDeviceControl`, `EvtIoInternalDeviceControl`, and a
//!   create handler); [`QueueConfig::manual`] has no callback methods at all, so a manual queue
//!   with a callback does not compile (the framework would refuse it with
//!   `STATUS_INVALID_PARAMETER`).
//! * A presenting queue created with no callback is refused at run time with
//!   `STATUS_WDF_NO_CALLBACK`, as `WdfIoQueueCreate` does.
//! * Requests can be retrieved from manual and sequential queues only
//!   ([`Retrievable`](crate::kind::Retrievable)); parallel queues have no retrieval method.
//!
//! Callbacks are plain functions taking the driver and the request, so unimplemented ones stay
//! NULL in the queue's configuration and the framework's default applies to those request
//! types (`STATUS_INVALID_DEVICE_REQUEST`, or passed down on a filter).
//!
//! A configuration given as a value ([`Device::create_queue`](crate::Device::create_queue))
//! is kept in the queue's record, where each presented request's callback is looked up. A
//! [`StaticQueue`] names a constant configuration instead, and KMDF's `EvtIo*` then calls the
//! driver's function directly; the hot queues of a driver are best made that way.

use core::marker::PhantomData;

use crate::context::{ContextRef, ContextType};
use crate::io_stop::{IoResumeCallback, IoStopCallback, ResumedRequest, StopRequest};
use crate::kind::{
    Create, DeviceControl, InternalDeviceControl, Manual, Parallel, Presenting, QueueKind, Read,
    RequestType, Sequential, Write,
};
use crate::request::{AnyRequest, Request, RequestDone};
use crate::sys::{self, Given, QueueHandle, RequestHandle, RequestRef};
use wdm_compat::NtResult;

/// An I/O callback for requests of kind `K`, with the driver `D`.
pub type IoCallback<D, K> = for<'r> fn(&D, Request<'r, K>) -> RequestDone<'r>;

/// `EvtIoCanceledOnQueue`: a request of any kind the driver put back in the queue (forwarded
/// to it) was cancelled there, and is the driver's again to complete.
pub type CanceledOnQueueCallback<D> = for<'r> fn(&D, AnyRequest<'r>) -> RequestDone<'r>;

/// `WDF_IO_QUEUE_CONFIG`, for a queue of dispatch kind `K` in driver `D`.
pub struct QueueConfig<K: QueueKind, D> {
    pub(crate) callbacks: Callbacks<D>,
    pub(crate) allow_zero_length: bool,
    _kind: PhantomData<K>,
}

impl<K: QueueKind, D> QueueConfig<K, D> {
    const fn empty() -> Self {
        Self {
            callbacks: Callbacks::none(),
            allow_zero_length: false,
            _kind: PhantomData,
        }
    }

    /// The queue's `EvtCleanupCallback`: runs when the queue is deleted with its device,
    /// before the device's own cleanup (children before parents).
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_cleanup(mut self, callback: fn(&D)) -> Self {
        self.callbacks.cleanup = Some(callback);
        self
    }

    /// `EvtIoCanceledOnQueue`: a request the driver forwarded to this queue and that is
    /// cancelled while it waits there comes back to `callback` instead of being completed by
    /// the framework with `STATUS_CANCELLED` (requests that never reached the driver still are).
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_canceled_on_queue(mut self, callback: CanceledOnQueueCallback<D>) -> Self {
        self.callbacks.canceled_on_queue = Some(callback);
        self
    }

    /// `PowerManaged = WdfTrue`, with `EvtIoStop` and `EvtIoResume`: the queue presents only
    /// while the device is in D0, and requests the driver owns from it are handed to `on_stop`
    /// when the device leaves D0, to be acknowledged (see [`io_stop`](crate::io_stop)). Without
    /// this a queue is not power-managed: it presents whatever the device's power state.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn power_managed(
        mut self,
        on_stop: IoStopCallback<D>,
        on_resume: IoResumeCallback<D>,
    ) -> Self {
        self.callbacks.stop = Some(on_stop);
        self.callbacks.resume = Some(on_resume);
        self
    }

    /// `WDF_OBJECT_ATTRIBUTES.SynchronizationScope = WdfSynchronizationScopeQueue`: the
    /// framework runs the queue's `EvtIo*` callbacks (`EvtIoStop`, `EvtIoResume` and
    /// `EvtIoCanceledOnQueue` too) one at a time, with the cancel routines of its requests and
    /// the timers created for it with
    /// [`Device::create_serialized_timer`](crate::Device::create_serialized_timer)
    /// (`AutomaticSerialization`), under the queue's callback lock — so they may share state
    /// without a lock of their own, as the C echo sample's queue and timer do. They run at
    /// DISPATCH_LEVEL then (the lock is a spin lock): nothing that waits.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn synchronized(mut self) -> Self {
        self.callbacks.synchronized = true;
        self
    }

    /// `AllowZeroLengthRequests = TRUE`: zero-length reads and writes reach the driver instead
    /// of being completed by the framework with success.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn allow_zero_length_requests(mut self) -> Self {
        self.allow_zero_length = true;
        self
    }
}

impl<D> QueueConfig<Sequential, D> {
    /// `WDF_IO_QUEUE_CONFIG_INIT(WdfIoQueueDispatchSequential)`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn sequential() -> Self {
        Self::empty()
    }
}

impl<D> QueueConfig<Parallel, D> {
    /// `WDF_IO_QUEUE_CONFIG_INIT(WdfIoQueueDispatchParallel)` (no limit on presented requests).
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn parallel() -> Self {
        Self::empty()
    }
}

impl<D> QueueConfig<Manual, D> {
    /// `WDF_IO_QUEUE_CONFIG_INIT(WdfIoQueueDispatchManual)`: no callbacks.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn manual() -> Self {
        Self::empty()
    }
}

impl<K: Presenting, D> QueueConfig<K, D> {
    /// Create requests, for a queue dispatching `RequestType::Create`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_create(mut self, callback: IoCallback<D, Create>) -> Self {
        self.callbacks.create = Some(callback);
        self
    }

    /// `EvtIoRead`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_read(mut self, callback: IoCallback<D, Read>) -> Self {
        self.callbacks.read = Some(callback);
        self
    }

    /// `EvtIoWrite`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_write(mut self, callback: IoCallback<D, Write>) -> Self {
        self.callbacks.write = Some(callback);
        self
    }

    /// `EvtIoDeviceControl`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_device_control(mut self, callback: IoCallback<D, DeviceControl>) -> Self {
        self.callbacks.device_control = Some(callback);
        self
    }

    /// `EvtIoInternalDeviceControl`.
    ///
    /// IRQL: any: it only fills in the configuration.
    #[must_use]
    pub const fn on_internal_device_control(
        mut self,
        callback: IoCallback<D, InternalDeviceControl>,
    ) -> Self {
        self.callbacks.internal_device_control = Some(callback);
        self
    }
}

/// A queue whose configuration is a constant: its `WDF_IO_QUEUE_CONFIG` is known when the
/// driver is compiled, so KMDF's `EvtIo*` call goes straight to the driver's function (the
/// compiler inlines it, as a C driver's `EvtIo*` is its own function) instead of finding the
/// callbacks in the queue's record for every request. Create it with
/// [`Device::create_static_queue`](crate::Device::create_static_queue) or
/// [`Device::create_static_default_queue`](crate::Device::create_static_default_queue); the
/// configuration is built with the same [`QueueConfig`] methods, so the same rules hold (a
/// manual queue has no callbacks, and so on).
///
/// ```
/// use wdf_safe::kind::{DeviceControl, Parallel};
/// use wdf_safe::queue::StaticQueue;
/// use wdf_safe::{QueueConfig, Request, RequestDone};
///
/// struct Driver;
///
/// fn on_ioctl<'r>(_: &Driver, request: Request<'r, DeviceControl>) -> RequestDone<'r> {
///     request.complete_with(|request| {
///         let value: u32 = request.read_input()?;
///         request.write_output(&value)
///     })
/// }
///
/// /// The device's default queue.
/// struct EchoQueue;
///
/// impl StaticQueue<Driver> for EchoQueue {
///     type Kind = Parallel;
///     const CONFIG: QueueConfig<Parallel, Driver> = QueueConfig::parallel().on_device_control(on_ioctl);
/// }
/// ```
pub trait StaticQueue<D>: 'static {
    /// The dispatch kind.
    type Kind: QueueKind;
    /// The configuration.
    const CONFIG: QueueConfig<Self::Kind, D>;
}

/// The seam's presenter of a [`StaticQueue`]: its constant callbacks.
pub(crate) struct StaticPresenter<Q>(PhantomData<Q>);

impl<D: crate::KmdfDriver, Q: StaticQueue<D>> sys::Presenter<D> for StaticPresenter<Q> {
    const CALLBACKS: Option<&'static Callbacks<D>> = Some(&Q::CONFIG.callbacks);
}

/// A queue of dispatch kind `K` (`WDFQUEUE`).
pub struct Queue<K: QueueKind> {
    raw: QueueHandle,
    _kind: PhantomData<K>,
}

// A ticket to the queue's record: its slot and generation (see `Device`).
#[cfg(any(feature = "host", all(feature = "wdk", target_os = "windows")))]
static_assertions::assert_eq_size!(Queue<Manual>, [usize; 2]);
static_assertions::assert_impl_all!(Queue<Manual>: Clone, Copy);
#[cfg(feature = "host")]
static_assertions::assert_impl_all!(Queue<Manual>: Send, Sync);

impl<K: QueueKind> Clone for Queue<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: QueueKind> Copy for Queue<K> {}

impl<K: QueueKind> core::fmt::Debug for Queue<K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("Queue").field(&K::DISPATCH).finish()
    }
}

impl<K: QueueKind> Queue<K> {
    pub(crate) const fn new(raw: QueueHandle) -> Self {
        Self {
            raw,
            _kind: PhantomData,
        }
    }

    pub(crate) const fn raw(&self) -> QueueHandle {
        self.raw
    }

    /// Requests waiting in the queue (not yet presented or retrieved).
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    #[must_use]
    pub fn queued(&self) -> usize {
        self.raw.queued()
    }

    /// `WdfObjectAllocateContext` on the queue: attaches a context of type `T` (a queue
    /// context, as the C echo sample's `QUEUE_CONTEXT`), initialised in place by `init`, with an
    /// optional cleanup callback that runs when the queue is deleted. Its I/O callbacks reach it
    /// with [`Request::queue_context`].
    ///
    /// IRQL: ≤ DISPATCH_LEVEL.
    ///
    /// # Errors
    ///
    /// `STATUS_OBJECT_NAME_EXISTS` (an NT *success* code, as in KMDF) when the queue has a
    /// context of type `T` already; `init` is not called then.
    pub fn allocate_context<T: ContextType>(
        &self,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextRef<T>> {
        self.raw
            .allocate_context(T::type_info(), init, cleanup)
            .map(ContextRef::new)
    }

    /// `WdfObjectGetTypedContext` on the queue.
    ///
    /// IRQL: ≤ DISPATCH_LEVEL + 1.
    #[must_use]
    pub fn context<T: ContextType>(&self) -> Option<ContextRef<T>> {
        self.raw.context::<T>(T::type_info()).map(ContextRef::new)
    }
}

/// The callbacks of a queue (`EvtIo*` of `WDF_IO_QUEUE_CONFIG`; NULL when `None`).
pub(crate) struct Callbacks<D> {
    pub(crate) create: Option<IoCallback<D, Create>>,
    pub(crate) read: Option<IoCallback<D, Read>>,
    pub(crate) write: Option<IoCallback<D, Write>>,
    pub(crate) device_control: Option<IoCallback<D, DeviceControl>>,
    pub(crate) internal_device_control: Option<IoCallback<D, InternalDeviceControl>>,
    /// The queue's `EvtCleanupCallback`.
    pub(crate) cleanup: Option<fn(&D)>,
    /// `EvtIoCanceledOnQueue`.
    pub(crate) canceled_on_queue: Option<CanceledOnQueueCallback<D>>,
    /// `EvtIoStop`, set with `resume` on a power-managed queue.
    pub(crate) stop: Option<IoStopCallback<D>>,
    /// `EvtIoResume`.
    pub(crate) resume: Option<IoResumeCallback<D>>,
    /// `SynchronizationScope = WdfSynchronizationScopeQueue`.
    pub(crate) synchronized: bool,
}

impl<D> Callbacks<D> {
    pub(crate) const fn none() -> Self {
        Self {
            create: None,
            read: None,
            write: None,
            device_control: None,
            internal_device_control: None,
            cleanup: None,
            canceled_on_queue: None,
            stop: None,
            resume: None,
            synchronized: false,
        }
    }

    /// Whether the callback for `request_type` is set.
    #[cfg_attr(
        not(any(feature = "host", all(feature = "wdk", target_os = "windows"))),
        allow(dead_code, reason = "only a framework backend asks")
    )]
    const fn has(&self, request_type: RequestType) -> bool {
        match request_type {
            RequestType::Create => self.create.is_some(),
            RequestType::Read => self.read.is_some(),
            RequestType::Write => self.write.is_some(),
            RequestType::DeviceControl => self.device_control.is_some(),
            RequestType::InternalDeviceControl => self.internal_device_control.is_some(),
        }
    }
}

/// What the seam calls in a queue: the callback of the presented request's kind, with the
/// request typed by that kind.
impl<D: crate::KmdfDriver> sys::QueueCallbacks<D> for Callbacks<D> {
    fn handles(&self, request_type: RequestType) -> bool {
        self.has(request_type)
    }

    // Inlined into the seam's `EvtIo*` trampolines, where `request_type` is a constant: a
    // static queue's callback is then a direct call.
    #[inline(always)]
    fn present(&self, driver: &D, request_type: RequestType, request: RequestHandle, given: Given) {
        // The seam registers the `EvtIo*` of a kind only when its callback is set, so a
        // callback is found for every presented request; were it not, the request is
        // completed as KMDF does for a type without a callback.
        let _done: RequestDone<'_> = match request_type {
            RequestType::Create => match self.create {
                Some(f) => f(driver, Request::presented(request, given)),
                None => return request.complete(wdm_compat::NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::Read => match self.read {
                Some(f) => f(driver, Request::presented(request, given)),
                None => return request.complete(wdm_compat::NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::Write => match self.write {
                Some(f) => f(driver, Request::presented(request, given)),
                None => return request.complete(wdm_compat::NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::DeviceControl => match self.device_control {
                Some(f) => f(driver, Request::presented(request, given)),
                None => return request.complete(wdm_compat::NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
            RequestType::InternalDeviceControl => match self.internal_device_control {
                Some(f) => f(driver, Request::presented(request, given)),
                None => return request.complete(wdm_compat::NtStatus::INVALID_DEVICE_REQUEST, 0),
            },
        };
    }

    fn cleanup(&self, driver: &D) {
        if let Some(cleanup) = self.cleanup {
            cleanup(driver);
        }
    }

    fn handles_canceled_on_queue(&self) -> bool {
        self.canceled_on_queue.is_some()
    }

    fn power_managed(&self) -> bool {
        self.stop.is_some() && self.resume.is_some()
    }

    fn synchronized(&self) -> bool {
        self.synchronized
    }

    fn stop(&self, driver: &D, request: RequestRef, flags: u32) {
        let stopped = StopRequest::lent(request, flags);
        let _done = match self.stop {
            Some(f) => f(driver, stopped),
            // Registered only when set; were it not, what lets the power-down go on.
            None => stopped.acknowledge(),
        };
    }

    fn resume(&self, driver: &D, request: RequestRef) {
        if let Some(f) = self.resume {
            f(driver, ResumedRequest::lent(request));
        }
    }

    fn canceled_on_queue(&self, driver: &D, request: RequestHandle) {
        let request = AnyRequest::from_raw(request);
        let _done: RequestDone<'_> = match self.canceled_on_queue {
            Some(f) => f(driver, request),
            // Registered only when set; were it not, what the framework would do.
            None => request.complete_with_information(wdm_compat::NtStatus::CANCELLED, 0),
        };
    }
}
