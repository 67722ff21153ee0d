//! `WDFQUEUE`: queue creation, the `EvtIo*` trampolines that present requests to the driver,
//! and the queue's cleanup.

use core::any::Any;
use core::ptr;

use super::contexts::ObjectHead;
use super::driver::driver;
use super::live::Held;
use super::record::{ContextGuard, Entered, Ticket};
use super::request::{RequestHandle, RequestRef, refuse, request_type_of};
use super::wdk_sys::{
    self, WDF_IO_QUEUE_CONFIG, WDFDEVICE, WDFOBJECT, WDFQUEUE, WDFREQUEST,
    call_unsafe_wdf_function_binding,
};
use super::{
    RECORD, attributes, guarded, publish_record, record_of, register_queue, registered_queue,
    unregister_queue,
};
use crate::sys::{
    ContextTypeInfo, DispatchType, DriverCallbacks, Given, Presenter, QueueCallbacks, RequestType,
};
use wdm_compat::{NtResult, NtStatus};

/// The crate's record of a queue (in a slot until the queue is destroyed and no caller is
/// inside it): the queue until KMDF disposes it, the record's ticket and the queue's typed
/// contexts (its [`ObjectHead`], first: a request reaches the contexts of its queue without
/// knowing `D`), and the driver's callbacks.
#[repr(C)]
struct QueueRecord<D: DriverCallbacks> {
    head: ObjectHead<wdk_sys::WDFQUEUE__>,
    this: Ticket<Self>,
    /// How the queue dispatches (the kind its typed handle names).
    dispatch: DispatchType,
    callbacks: D::Queue,
    /// The device's request context type: presenting a request initialises its context.
    request_context: Option<super::request_context::RequestContextSpec>,
}

/// `WDFQUEUE`: a ticket to its record (erased: the handle does not name the driver type),
/// whose cell is cleared when KMDF disposes the queue and which finds nothing once the queue
/// is destroyed.
#[derive(Clone, Copy)]
pub(crate) struct QueueHandle(Ticket<()>);

/// A claimed synchronous stop or purge of a queue (see [`QueueHandle::begin_transition`]),
/// ended when dropped; it keeps the queue's record.
pub(super) struct QueueTransition(Entered<ObjectHead<wdk_sys::WDFQUEUE__>>);

impl Drop for QueueTransition {
    fn drop(&mut self) {
        self.0
            .transition
            .store(false, core::sync::atomic::Ordering::Release);
    }
}

impl QueueHandle {
    /// The queue's record head, kept while the guard lives.
    fn head(self) -> Option<Entered<ObjectHead<wdk_sys::WDFQUEUE__>>> {
        // SAFETY: queue tickets are erased from `Ticket<QueueRecord<D>>`, which is `repr(C)`
        // with its `ObjectHead` first.
        unsafe { self.0.enter_head() }
    }

    /// The queue, held by a reference for the call; `None` once KMDF disposed it.
    pub(super) fn hold(self) -> Option<Held<wdk_sys::WDFQUEUE__>> {
        self.head()?.cell.hold()
    }

    /// Claims the queue for a synchronous stop or purge; `None` while another runs (KMDF turns
    /// a second idle request into bug check WDF_QUEUE_FATAL_ERROR) or once the queue is gone.
    pub(super) fn begin_transition(self) -> Option<QueueTransition> {
        let head = self.head()?;
        head.transition
            .compare_exchange(
                false,
                true,
                core::sync::atomic::Ordering::AcqRel,
                core::sync::atomic::Ordering::Acquire,
            )
            .ok()?;
        Some(QueueTransition(head))
    }

    /// The queue's handle, for identity only (no call may be made with it).
    pub(super) fn peek(self) -> Option<WDFQUEUE> {
        self.head()?.cell.peek()
    }

    /// Attaches a context of type `T` to the queue, initialised in place.
    pub(crate) fn allocate_context<T: Any + Send + Sync>(
        self,
        info: &'static ContextTypeInfo,
        init: impl FnOnce() -> T,
        cleanup: Option<fn(&T)>,
    ) -> NtResult<ContextGuard<T>> {
        let head = self.head().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
        let value = head.contexts.allocate(info, init, cleanup)?;
        Ok(ContextGuard::new(head, value))
    }

    /// The queue's context whose type info is `info`.
    pub(crate) fn context<T: Any>(self, info: &'static ContextTypeInfo) -> Option<ContextGuard<T>> {
        let head = self.head()?;
        let value = head.contexts.find::<T>(info)?;
        Some(ContextGuard::new(head, value))
    }

    /// `WdfIoQueueGetState`'s `QueueRequests` (0 once the queue is gone).
    pub(crate) fn queued(self) -> usize {
        let Some(queue) = self.hold() else {
            return 0;
        };
        let queue = queue.raw();
        let mut queued: u32 = 0;
        let mut driver_owned: u32 = 0;
        // SAFETY: a live queue the crate created; the out-pointers are locals.
        let _state = unsafe {
            call_unsafe_wdf_function_binding!(
                WdfIoQueueGetState,
                queue,
                &mut queued,
                &mut driver_owned
            )
        };
        usize::try_from(queued).unwrap_or(usize::MAX)
    }
}

/// `WdfIoQueueCreate` on `device`, with a [`RECORD`] context pointing to the queue's record;
/// its `EvtIo*` trampolines find the driver's callbacks through `P`.
pub(super) fn create<D: DriverCallbacks, P: Presenter<D>>(
    device: WDFDEVICE,
    dispatch: DispatchType,
    callbacks: D::Queue,
    allow_zero_length: bool,
    default_queue: bool,
    request_context: Option<super::request_context::RequestContextSpec>,
) -> NtResult<QueueHandle> {
    use wdk_sys::_WDF_IO_QUEUE_DISPATCH_TYPE as Dt;
    let mut config = WDF_IO_QUEUE_CONFIG {
        Size: size_of::<WDF_IO_QUEUE_CONFIG>() as u32,
        // Power-managed only when the driver gave the queue an `EvtIoStop` (and `EvtIoResume`):
        // KMDF's default makes a function driver's queues power-managed (FxIoQueue::Initialize,
        // shared/irphandlers/io/fxioqueue.cpp), and leaving D0 then waits for every request the
        // driver owns from them; without an `EvtIoStop` that acknowledges it, a request the
        // driver keeps would hold the device in D0 until the power watchdog's bug check 0x9F.
        PowerManaged: if callbacks.power_managed() {
            wdk_sys::_WDF_TRI_STATE::WdfTrue
        } else {
            wdk_sys::_WDF_TRI_STATE::WdfFalse
        },
        EvtIoStop: callbacks.power_managed().then_some(evt_io_stop::<D> as _),
        EvtIoResume: callbacks.power_managed().then_some(evt_io_resume::<D> as _),
        DispatchType: match dispatch {
            DispatchType::Sequential => Dt::WdfIoQueueDispatchSequential,
            DispatchType::Parallel => Dt::WdfIoQueueDispatchParallel,
            DispatchType::Manual => Dt::WdfIoQueueDispatchManual,
        },
        AllowZeroLengthRequests: u8::from(allow_zero_length),
        DefaultQueue: u8::from(default_queue),
        EvtIoCanceledOnQueue: callbacks
            .handles_canceled_on_queue()
            .then_some(evt_io_canceled_on_queue::<D> as _),
        ..WDF_IO_QUEUE_CONFIG::default()
    };
    // The device's request context type was set before the device was created, so whether
    // presenting must initialise a request's context is known now, and is not asked per request.
    if request_context.is_some() {
        set_presenters::<D, P, true>(&mut config, &callbacks);
    } else {
        set_presenters::<D, P, false>(&mut config, &callbacks);
    }
    if dispatch == DispatchType::Parallel {
        // WDF_IO_QUEUE_CONFIG_INIT: no limit on the requests presented at once.
        config.Settings.Parallel.NumberOfPresentedRequests = u32::MAX;
    }
    let synchronized = callbacks.synchronized();
    // Made before the framework call, so nothing can fail after it (retired if it fails).
    let ticket = Ticket::new(|this: Ticket<QueueRecord<D>>| QueueRecord::<D> {
        head: ObjectHead::new(this.erase()),
        this,
        dispatch,
        callbacks,
        request_context,
    })?;
    let queue_record = ticket.enter().ok_or(NtStatus::INVALID_DEVICE_STATE)?;
    let mut attributes = attributes(
        &RECORD,
        Some(evt_queue_cleanup::<D>),
        Some(evt_queue_destroy::<D>),
    );
    if synchronized {
        attributes.SynchronizationScope =
            wdk_sys::_WDF_SYNCHRONIZATION_SCOPE::WdfSynchronizationScopeQueue;
    }
    let mut queue: WDFQUEUE = ptr::null_mut();
    // SAFETY: the device is live (the caller checked, and is one of its callbacks or
    // DriverEntry); configuration and attributes are read during the call.
    let status = unsafe {
        call_unsafe_wdf_function_binding!(
            WdfIoQueueCreate,
            device,
            &mut config,
            &mut attributes,
            &mut queue
        )
    };
    if let Err(status) = NtStatus::from_raw(status).ok() {
        drop(queue_record);
        ticket.retire();
        return Err(status);
    }
    queue_record.head.cell.set(queue);
    publish_record(queue.cast(), ptr::from_ref(&*queue_record));
    register_queue(queue.cast(), ptr::from_ref(&*queue_record).cast());
    Ok(QueueHandle(ticket.erase()))
}

/// Sets the `EvtIo*` of the request types the queue has callbacks for (the others stay NULL,
/// and KMDF's default applies to them): trampolines finding the callbacks through `P`, which
/// initialise each request's context first when `CONTEXTS`.
fn set_presenters<D: DriverCallbacks, P: Presenter<D>, const CONTEXTS: bool>(
    config: &mut WDF_IO_QUEUE_CONFIG,
    callbacks: &D::Queue,
) {
    config.EvtIoDefault = callbacks
        .handles(RequestType::Create)
        .then_some(evt_io_default::<D, P, CONTEXTS> as _);
    config.EvtIoRead = callbacks
        .handles(RequestType::Read)
        .then_some(evt_io_read::<D, P, CONTEXTS> as _);
    config.EvtIoWrite = callbacks
        .handles(RequestType::Write)
        .then_some(evt_io_write::<D, P, CONTEXTS> as _);
    config.EvtIoDeviceControl = callbacks
        .handles(RequestType::DeviceControl)
        .then_some(evt_io_device_control::<D, P, CONTEXTS> as _);
    config.EvtIoInternalDeviceControl = callbacks
        .handles(RequestType::InternalDeviceControl)
        .then_some(evt_io_internal_device_control::<D, P, CONTEXTS> as _);
}

/// Whether the crate's queue `queue` takes requests of `request_type` (a manual queue takes
/// any: it has no callbacks).
pub(super) fn accepts<D: DriverCallbacks>(queue: WDFQUEUE, request_type: RequestType) -> bool {
    // SAFETY: a queue the crate created points to its record until it is destroyed, and the
    // caller holds the queue.
    let record = unsafe { record_of::<QueueRecord<D>>(queue.cast()).as_ref() };
    record.is_some_and(|q| {
        q.callbacks.handles(request_type)
            || !(RequestType::ALL.iter().any(|t| q.callbacks.handles(*t)))
    })
}

/// Presents `request`, of `request_type`, to the queue's callbacks, or refuses it; with
/// `CONTEXTS` (the device has request contexts), the request's context is initialised first.
/// Inlined into each trampoline: with a presenter whose callbacks are constants, the driver's
/// function is called directly, and nothing is read per request but the driver's value (and,
/// with `CONTEXTS`, the queue's record, for the context's type).
#[inline(always)]
fn present<D: DriverCallbacks, P: Presenter<D>, const CONTEXTS: bool>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    request_type: RequestType,
    given: Given,
) {
    guarded(
        (),
        #[inline(always)]
        || {
            let (callbacks, driver) = match P::CALLBACKS {
                Some(callbacks) => {
                    let Some(driver) = driver::<D>() else {
                        return refuse(request, NtStatus::DEVICE_NOT_READY);
                    };
                    if CONTEXTS {
                        // The record only for the context's type (as the other path would
                        // refuse a queue without one, so does this).
                        let Some(record) = queue_record::<D>(queue) else {
                            return refuse(request, NtStatus::DEVICE_NOT_READY);
                        };
                        super::request_context::init_request_context(
                            request,
                            record.request_context,
                        );
                    }
                    (callbacks, driver)
                }
                None => {
                    let Some((record, driver)) = record_and_driver::<D>(queue) else {
                        return refuse(request, NtStatus::DEVICE_NOT_READY);
                    };
                    if CONTEXTS {
                        super::request_context::init_request_context(
                            request,
                            record.request_context,
                        );
                    }
                    (&record.callbacks, driver)
                }
            };
            let Some(handle) = RequestHandle::presented(request, request_type) else {
                return;
            };
            callbacks.present(driver, request_type, handle, given);
        },
    );
}

/// The queue's record (listed by handle, or past the list's slots in its context) and the
/// driver's value, for a callback of the queue (`'a`: the callback).
fn record_and_driver<'a, D: DriverCallbacks>(
    queue: WDFQUEUE,
) -> Option<(&'a QueueRecord<D>, &'static D)> {
    Some((queue_record::<D>(queue)?, driver::<D>()?))
}

/// The queue's record, for a callback of the queue (`'a`: the callback).
fn queue_record<'a, D: DriverCallbacks>(queue: WDFQUEUE) -> Option<&'a QueueRecord<D>> {
    let record = registered_queue(queue.cast()).map_or_else(
        || record_of::<QueueRecord<D>>(queue.cast()),
        <*const _>::cast,
    );
    // KMDF does not dispose, let alone destroy, a queue while one of its callbacks runs: every
    // queue callback is delivered from `FxIoQueue::DispatchEvents`, which counts its
    // dispatchers, and `FxIoQueue::Dispose` waits until the last has left
    // (`m_FinishDisposing`, shared/irphandlers/io/fxioqueue.cpp).
    // SAFETY: so the record, which lives until the queue's destroy callback, lives; every
    // queue of this image has a `QueueRecord<D>` with this `D`, the image's only driver type.
    unsafe { record.as_ref() }
}

/// `EvtIoCanceledOnQueue`: hands the cancelled request back to the driver's callback.
unsafe extern "C" fn evt_io_canceled_on_queue<D: DriverCallbacks>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
) {
    guarded((), || {
        let Some((record, driver)) = record_and_driver::<D>(queue) else {
            return refuse(request, NtStatus::CANCELLED);
        };
        // The request was the driver's before it went into the queue: one of the types the
        // crate presents.
        if let Some(handle) = RequestHandle::accept(request) {
            record.callbacks.canceled_on_queue(driver, handle);
        }
    });
}

/// `EvtIoStop`: lends the request to the driver's callback.
unsafe extern "C" fn evt_io_stop<D: DriverCallbacks>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    flags: u32,
) {
    guarded((), || {
        let Some(lent) = RequestRef::lent(request) else {
            return;
        };
        match record_and_driver::<D>(queue) {
            Some((record, driver)) => record.callbacks.stop(driver, lent, flags),
            // No driver to ask (it is being torn down): let the power-down go on.
            None => lent.stop_acknowledge(),
        }
    });
}

/// `EvtIoResume`: tells the driver's callback.
unsafe extern "C" fn evt_io_resume<D: DriverCallbacks>(queue: WDFQUEUE, request: WDFREQUEST) {
    guarded((), || {
        if let (Some(lent), Some((record, driver))) =
            (RequestRef::lent(request), record_and_driver::<D>(queue))
        {
            record.callbacks.resume(driver, lent);
        }
    });
}

/// `EvtIoDefault`: registered only for create requests.
unsafe extern "C" fn evt_io_default<D: DriverCallbacks, P: Presenter<D>, const CONTEXTS: bool>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
) {
    if request_type_of(request) == Some(RequestType::Create) {
        present::<D, P, CONTEXTS>(queue, request, RequestType::Create, Given::Unknown);
    } else {
        refuse(request, NtStatus::INVALID_DEVICE_REQUEST);
    }
}

/// `EvtIoRead`.
unsafe extern "C" fn evt_io_read<D: DriverCallbacks, P: Presenter<D>, const CONTEXTS: bool>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    length: usize,
) {
    present::<D, P, CONTEXTS>(queue, request, RequestType::Read, Given::length(length));
}

/// `EvtIoWrite`.
unsafe extern "C" fn evt_io_write<D: DriverCallbacks, P: Presenter<D>, const CONTEXTS: bool>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    length: usize,
) {
    present::<D, P, CONTEXTS>(queue, request, RequestType::Write, Given::length(length));
}

/// `EvtIoDeviceControl`.
unsafe extern "C" fn evt_io_device_control<
    D: DriverCallbacks,
    P: Presenter<D>,
    const CONTEXTS: bool,
>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_length: usize,
    input_length: usize,
    code: u32,
) {
    let given = Given::ioctl(code, input_length, output_length);
    present::<D, P, CONTEXTS>(queue, request, RequestType::DeviceControl, given);
}

/// `EvtIoInternalDeviceControl`.
unsafe extern "C" fn evt_io_internal_device_control<
    D: DriverCallbacks,
    P: Presenter<D>,
    const CONTEXTS: bool,
>(
    queue: WDFQUEUE,
    request: WDFREQUEST,
    output_length: usize,
    input_length: usize,
    code: u32,
) {
    let given = Given::ioctl(code, input_length, output_length);
    present::<D, P, CONTEXTS>(queue, request, RequestType::InternalDeviceControl, given);
}

/// The queue's `EvtCleanupCallback`.
unsafe extern "C" fn evt_queue_cleanup<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until the queue's destroy callback; this is its cleanup.
        let record = unsafe { record_of::<QueueRecord<D>>(object).as_ref() };
        if let Some(record) = record {
            // KMDF disposed the queue: from now on the crate's handles find no queue.
            record.head.cell.close();
        }
        if let (Some(record), Some(driver)) = (record, driver::<D>()) {
            record.callbacks.cleanup(driver);
        }
        if let Some(record) = record {
            record.head.contexts.cleanup();
        }
    });
}

/// The queue's `EvtDestroyCallback`: the object no longer points to its record (whose cell was
/// cleared at cleanup), and the record is retired: freed now, or by the last caller inside.
unsafe extern "C" fn evt_queue_destroy<D: DriverCallbacks>(object: WDFOBJECT) {
    guarded((), || {
        // SAFETY: the record lives until it is retired below; this is the queue's last
        // callback.
        let ticket = unsafe { record_of::<QueueRecord<D>>(object).as_ref() }.map(|record| {
            record.head.cell.close();
            record.this
        });
        unregister_queue(object);
        publish_record::<QueueRecord<D>>(object, ptr::null());
        if let Some(ticket) = ticket {
            ticket.retire();
        }
    });
}

/// `WdfDeviceGetDefaultQueue`: the default queue of `device` (live, held by the caller), if it
/// is `created`, the crate's default queue of the device, and dispatches as `dispatch`. The
/// queue is named by its ticket, which the device's record kept when it was created: KMDF
/// destroys a device's queues before the device is disposed, so the queue's record is not
/// read through the handle the framework returns, only compared with it.
pub(super) fn default_queue_of(
    device: WDFDEVICE,
    created: Option<(QueueHandle, DispatchType)>,
    dispatch: DispatchType,
) -> Option<QueueHandle> {
    // SAFETY: a live device of this driver's.
    let queue = unsafe { call_unsafe_wdf_function_binding!(WdfDeviceGetDefaultQueue, device) };
    let (handle, kind) = created?;
    (!queue.is_null() && kind == dispatch && handle.peek() == Some(queue)).then_some(handle)
}
